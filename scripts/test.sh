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

# The benchmark plots (bench/plots), drawn from the small sample results in bench/plots/sample, so the gnuplot scripts
# cannot rot: each of the three files must be a PNG (its 8-byte signature). A few seconds; one test in the closing line.
plots_failed=0
echo "bench/plots:"
plots_dir=$(mktemp -d /tmp/peeragent-plots-test.XXXXXX)
if timeout 60 bash bench/regenerate.sh --plots-only --results bench/plots/sample --out "$plots_dir"; then
  for png in distribution-time completion-cdf origin-bytes; do
    if [ "$(head -c 8 "$plots_dir/$png.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" != 89504e470d0a1a0a ]; then
      echo "bench/plots: $png.png missing or not a PNG" >&2
      plots_failed=1
    fi
  done
else
  plots_failed=1
fi
rm -rf "$plots_dir"
if [ "$plots_failed" = 1 ]; then
  echo "bench/plots: FAILED" >&2
  status=1
fi

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
dotnet_passed=$({ grep -E '^[[:space:]]+Passed: [0-9]+$' "$log" || true; } | awk '{s += $2} END {print s + 0}')
dotnet_failed=$({ grep -E '^[[:space:]]+Failed: [0-9]+$' "$log" || true; } | awk '{s += $2} END {print s + 0}')
echo "tests: $((dotnet_passed + 3 - smoke_failed - plots_failed - sim_failed)) passed, $((dotnet_failed + smoke_failed + plots_failed + sim_failed)) failed"
if [ "$status" -eq 0 ] && [ "$dotnet_passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit "$status"
