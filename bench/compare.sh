#!/usr/bin/env bash
# Before and after in one run: the same benchmark from a checkout of BASE (a commit, tag or branch) and from this
# tree, back to back, so the figures share the machine's state. Each benchmark builds its own tree.
#
#   sudo bash bench/compare.sh 22db86e bench/swarm-get.sh
#   BENCH_ROUNDS=5 sudo -E bash bench/compare.sh main~3 bench/single-node-pull.sh
#   sudo bash bench/compare.sh HEAD~1 scripts/demo.sh
#
# Environment variables (BENCH_*, LP_TLS, DEMO_*) reach both runs. The base checkout is a temporary git worktree,
# removed on exit. Each run is limited to 30 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: bench/compare.sh BASE SCRIPT   (e.g. bench/compare.sh HEAD~1 bench/swarm-get.sh)" >&2; exit 2; }
base=$1 script=$2
[ -f "$script" ] || { echo "compare.sh: no script $script in this tree" >&2; exit 2; }
rev=$(git rev-parse --verify --quiet "$base^{commit}") || { echo "compare.sh: '$base' is not a commit here" >&2; exit 2; }
head=$(git rev-parse --short HEAD)
dir=$(mktemp -d /tmp/peeragent-compare.XXXXXX)
cleanup() { git worktree remove --force "$dir" >/dev/null 2>&1 || rm -rf "$dir"; git worktree prune; }
trap cleanup EXIT
git worktree add --detach --quiet "$dir" "$rev"
[ -f "$dir/$script" ] || { echo "compare.sh: $script does not exist at $base" >&2; exit 2; }

status=0
echo "===== before: $base (${rev:0:7}) :: $script"
(cd "$dir" && timeout 1800 bash "$script") || status=$?
echo "===== after: this tree ($head$(git diff --quiet HEAD || echo ', with uncommitted changes')) :: $script"
(timeout 1800 bash "$script") || status=$?
exit "$status"
