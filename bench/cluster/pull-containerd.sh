#!/usr/bin/env bash
# One host's pull with real containerd (bench/cluster/run.sh --containerd), run inside the host's network namespace:
# waits for the go file, then `ctr images pull` (fetch, verify, unpack with the native snapshotter) against the
# host's own containerd, whose hosts dir names the agent's mirror first (P2P) or the origin alone (direct); then
# checks that the image's digest is the one pushed. Writes one line to OUT, as fetch.sh does:
#   ok <start> <end> 0 | fail <start> <end> <reason>
#
#   pull-containerd.sh OUT GO_FILE SOCKET HOSTS_DIR REFERENCE MANIFEST_DIGEST MAX_SECONDS
set -uo pipefail
out=$1 go=$2 sock=$3 hosts=$4 ref=$5 manifest_digest=$6 max=$7

# shellcheck source=start-gate.sh
source "$(dirname "$0")/start-gate.sh"
timeout "$max" ctr --address "$sock" images pull --plain-http --snapshotter native --hosts-dir "$hosts" "$ref" \
  >"$out.log" 2>&1 || finish fail "ctr pull: $(tail -c 300 "$out.log" | tr '\n' ' ')"
end=$EPOCHREALTIME # the pull is done; the check below is not timed
got=$(timeout 30 ctr --address "$sock" images ls "name==$ref" 2>/dev/null | awk 'NR == 2 {print $3}')
[ "$got" = "$manifest_digest" ] || finish fail "image digest '$got', expected $manifest_digest"
finish ok 0
