#!/usr/bin/env bash
# Micro-benchmarks of the hot paths with BenchmarkDotNet, allocations reported (bench/README.md, "micro.sh"):
# piece store write and read, sha256, one piece over gRPC against a raw socket, scheduler decisions with
# 10,000 peers. Every argument goes to BenchmarkDotNet:
#   bash bench/micro.sh                          # everything, BenchmarkDotNet's default job
#   bash bench/micro.sh --job short              # 3 warm-ups, 3 measured iterations: the published figures
#   bash bench/micro.sh --job dry                # smoke: each benchmark once, figures mean nothing
#   bash bench/micro.sh --filter '*Scheduler*'   # one class (--list flat shows the names)
# Summary tables on stdout; reports (GitHub markdown, CSV, HTML) and logs under BENCH_ARTIFACTS.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
artifacts="${BENCH_ARTIFACTS:-$root/artifacts/micro}"
cd "$root"
exec dotnet run -c Release --project bench/PeerAgent.Bench.Micro -- --artifacts "$artifacts" "$@"
