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

# The simulator's smoke run (100 nodes, a 32 MiB image, 10 % of nodes leaving; about a second), so it cannot rot.
# Its figures are not judged: it fails only when the simulation's invariants break (a node never completes, bytes
# do not add up, the scheduler throws). It counts as one test in the closing line.
sim_failed=0
echo "PeerAgent.Simulator --smoke:"
timeout 300 dotnet bench/PeerAgent.Simulator/bin/Release/net10.0/PeerAgent.Simulator.dll --smoke || sim_failed=1
if [ "$sim_failed" = 1 ]; then
  echo "PeerAgent.Simulator --smoke: FAILED" >&2
  status=1
fi
set -e

# One closing line over every test project and the smoke run, so a run that executed nothing cannot pass unnoticed.
passed=$({ grep -E '^[[:space:]]+Passed: [0-9]+$' "$log" || true; } | awk '{s += $2} END {print s + 0}')
failed=$({ grep -E '^[[:space:]]+Failed: [0-9]+$' "$log" || true; } | awk '{s += $2} END {print s + 0}')
echo "tests: $((passed + 1 - sim_failed)) passed, $((failed + sim_failed)) failed"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit "$status"
