#!/usr/bin/env bash
# One command for issue 10's figures (bench/README.md, "regenerate.sh"): builds Release, runs bench/cluster's default
# scenario, the simulator's seeds' scenarios, its calibration run (bench/cluster's scenario) and one large run with
# every node's completion time, and the micro-benchmarks; collects their JSON lines and tables into bench/results/
# and draws the plots into docs/img/ (both checked in).
#
#   sudo bash bench/regenerate.sh                 # everything (tens of minutes on 2 busy cores)
#   sudo bash bench/regenerate.sh --skip micro    # everything but the micro-benchmarks (repeatable: cluster, sim, micro)
#   bash bench/regenerate.sh --plots-only         # redraw docs/img/ from bench/results/ as checked in; no root
#   bash bench/regenerate.sh --plots-only --results DIR --out DIR    # from other results, into another directory
#
# A part replaces its files in bench/results/ only when it succeeded, so a failed or skipped part leaves the last
# good ones. Bounded: each part has a time limit, and Ctrl-C or kill stops the running part (bench/cluster cleans up
# its namespaces and processes itself) and removes the scratch directory.
set -euo pipefail
cd "$(dirname "$0")/.."

results=bench/results out=docs/img plots_only=0
declare -A skip=()
while [ $# -gt 0 ]; do
  case $1 in
    --plots-only) plots_only=1 ;;
    --results) results=${2:?--results needs a directory} && shift ;;
    --out) out=${2:?--out needs a directory} && shift ;;
    --skip)
      case ${2:-} in cluster | sim | micro) skip[$2]=1 ;; *) echo "regenerate: --skip takes cluster, sim or micro" >&2 && exit 2 ;; esac
      shift
      ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' && exit 0 ;;
    *) echo "regenerate: unknown argument '$1' (see --help)" >&2 && exit 2 ;;
  esac
  shift
done

if [ "$plots_only" = 1 ]; then
  exec bash bench/plots/plot.sh "$results" "$out"
fi

die() { echo "regenerate: $*" >&2 && exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (bench/cluster builds network namespaces); --plots-only does not"
for tool in dotnet jq gnuplot timeout; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh)"
done

# Every part's command is checked before anything runs, so a missing one fails in seconds, not after the cluster run.
sim_project=bench/PeerAgent.Simulator
sim_dll=$sim_project/bin/Release/net10.0/PeerAgent.Simulator.dll
micro_script=bench/micro.sh
[ -n "${skip[cluster]:-}" ] || [ -f bench/cluster/run.sh ] || die "bench/cluster/run.sh is missing"
[ -n "${skip[sim]:-}" ] || [ -d "$sim_project" ] || die "$sim_project is missing (issue 10 §2 not merged yet); --skip sim runs the rest"
[ -n "${skip[micro]:-}" ] || [ -f "$micro_script" ] || die "$micro_script is missing (issue 10 §3 not merged yet); --skip micro runs the rest"

scratch=$(mktemp -d /tmp/peeragent-regenerate.XXXXXX)
running=''
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  # timeout(1) passes the signal on to the part, which cleans up after itself
  [ -z "$running" ] || { kill -TERM "$running" 2>/dev/null || true; wait "$running" 2>/dev/null || true; }
  rm -rf "$scratch"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

part() { # seconds, log name, command... -> runs it bounded, its stdout into $scratch/<log>.out, stderr shown
  local seconds=$1 log=$2 rc=0
  shift 2
  echo "regenerate: $* (at most $seconds s)" >&2
  timeout -s TERM -k 30 "$seconds" "$@" >"$scratch/$log.out" &
  running=$!
  wait "$running" || rc=$?
  running=''
  [ "$rc" = 0 ] || { tail -40 "$scratch/$log.out" >&2; die "$* failed (exit $rc$([ "$rc" != 124 ] || echo ": over $seconds s"))"; }
}
last_json() { # file -> its last line that is a JSON object (the result line every part prints last)
  grep -E '^\{' "$1" | tail -1 | jq -ce . || die "no JSON result line in $1"
}

mkdir -p "$results"
part 900 build dotnet build PeerAgent.sln -c Release
if [ -z "${skip[sim]:-}" ]; then
  [ -f "$sim_dll" ] || die "$sim_dll was not built (is $sim_project in PeerAgent.sln?)"
  # The CDF needs every node's completion time; checked before the runs, not after them.
  dotnet "$sim_dll" --help | grep -q -- '--times-out' || die "the simulator has no --times-out FILE (one completion time per line), which the CDF needs"
fi

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
  echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$scratch/machine.txt"

if [ -z "${skip[cluster]:-}" ]; then
  part 1000 cluster bash bench/cluster/run.sh --no-build --times-out "$scratch/cluster-times.txt"
  last_json "$scratch/cluster.out" >"$scratch/cluster.jsonl"
  [ -s "$scratch/cluster-times.txt" ] || die "bench/cluster wrote no completion times with --times-out"
  mv "$scratch/cluster.jsonl" "$scratch/cluster-times.txt" "$results/"
fi

if [ -z "${skip[sim]:-}" ]; then
  # the seeds' scenarios print one {"preset":...,"runs":[...]} line; results keep one run a line
  part 1800 sim-seeds dotnet "$sim_dll" --seeds
  last_json "$scratch/sim-seeds.out" | jq -c '.runs[]' >"$scratch/sim-seeds.jsonl"
  part 300 sim-calibration dotnet "$sim_dll" --cluster-default
  last_json "$scratch/sim-calibration.out" | jq -c '.runs[]' >"$scratch/sim-calibration.jsonl"
  # The CDF's large run: the seeds' largest scenario on 10 Gbit/s links (the same run as in --seeds).
  part 1200 sim-large dotnet "$sim_dll" --nodes 10000 --image-mib 512 --layers 4 --node-mbit 10000 --origin-mbit 10000 \
    --zones 3 --times-out "$scratch/sim-large-times.txt"
  last_json "$scratch/sim-large.out" >"$scratch/sim-large.jsonl"
  [ -s "$scratch/sim-large-times.txt" ] || die "the simulator wrote no completion times with --times-out"
  mv "$scratch/sim-seeds.jsonl" "$scratch/sim-calibration.jsonl" "$scratch/sim-large.jsonl" "$scratch/sim-large-times.txt" "$results/"
fi

if [ -z "${skip[micro]:-}" ]; then
  # BenchmarkDotNet's own markdown tables (one per class) are the results; its CSV and HTML stay in scratch
  BENCH_ARTIFACTS="$scratch/micro" part 2400 micro bash "$micro_script" --job short
  ls "$scratch"/micro/results/*-report-github.md >/dev/null 2>&1 || die "the micro-benchmarks wrote no *-report-github.md"
  rm -rf "$results/micro" && mkdir -p "$results/micro"
  for f in "$scratch"/micro/results/*-report-github.md; do
    cp "$f" "$results/micro/$(basename "$f" | sed 's/^PeerAgent\.Bench\.Micro\.//; s/-report-github//')"
  done
fi

mv "$scratch/machine.txt" "$results/"
bash bench/plots/plot.sh "$results" "$out"
echo "regenerate: results in $results/, plots in $out/; docs/benchmarks.md quotes the figures (update its tables by hand)"
