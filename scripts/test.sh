#!/usr/bin/env bash
# The one test command: installs the real tools, builds Release, runs every test project.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

# Functional tests run containerd (and mount for unpacking), so they need root.
if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: functional tests need root (containerd); run as root or with sudo" >&2
  exit 1
fi

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

dotnet build PeerAgent.sln -c Release
# Hang guard: a test stuck for 5 minutes is killed and reported instead of eating the CI budget.
log=$(mktemp /tmp/peeragent-test.XXXXXX.log)
trap 'rm -f "$log"' EXIT
set +e
dotnet test PeerAgent.sln -c Release --no-build \
  --logger "console;verbosity=normal" \
  --blame-hang --blame-hang-timeout 5m --blame-hang-dump-type none 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# The shaped-link cluster benchmark's smoke run (3 hosts in network namespaces, a 2 MiB image through the agents and
# straight from the origin), so bench/cluster cannot rot. Its figures are not judged; a failed host or a wrong byte
# fails it, and it counts as one test in the closing line.
smoke_failed=0
echo "bench/cluster --smoke:"
timeout 300 bash bench/cluster/run.sh --smoke --no-build || smoke_failed=1
if [ "$smoke_failed" = 1 ]; then
  echo "bench/cluster --smoke: FAILED" >&2
  status=1
fi
set -e

# One closing line over every test project and the smoke run, so a run that executed nothing cannot pass unnoticed.
dotnet_passed=$({ grep -E '^[[:space:]]+Passed: [0-9]+$' "$log" || true; } | awk '{s += $2} END {print s + 0}')
dotnet_failed=$({ grep -E '^[[:space:]]+Failed: [0-9]+$' "$log" || true; } | awk '{s += $2} END {print s + 0}')
echo "tests: $((dotnet_passed + 1 - smoke_failed)) passed, $((dotnet_failed + smoke_failed)) failed"
if [ "$status" -eq 0 ] && [ "$dotnet_passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit "$status"
