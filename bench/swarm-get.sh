#!/usr/bin/env bash
# N agents and the scheduler on loopback; every agent GETs the same fresh blob at once (curl, no containerd), for
# a few rounds. Prints, per round, the wall time of the slowest GET, the blob bytes the origin sent, the piece
# bytes between agents, and the agents' CPU per GB delivered to clients. It measures the swarm's own cost
# without containerd's unpacking on the same cores. The agents and the scheduler talk mutual TLS, as they do by
# default (LP_TLS=0 for plaintext h2c, an A/B of the transport's cost).
#
#   sudo bash bench/swarm-get.sh                         # 4 agents, 3 rounds of a 200 MB blob
#   BENCH_NODES=6 BENCH_BLOB_MB=100 BENCH_ROUNDS=5 bash bench/swarm-get.sh
#   BENCH_AGENT_ENV="DOTNET_TieredCompilation=1" bash bench/swarm-get.sh   # an A/B of a runtime setting
#   LP_TLS=0 bash bench/swarm-get.sh                     # the same without TLS
#
# Everything listens on 127.0.0.1 and is stopped on exit. Bounded: rounds 1-10, nodes 2-8, blob 1-1000 MB, and
# each GET has a 300 s limit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../scripts/lib/local-pull.sh
source scripts/lib/local-pull.sh

nodes=${BENCH_NODES:-4}
rounds=${BENCH_ROUNDS:-3}
blob_mb=${BENCH_BLOB_MB:-200}
agent_env=${BENCH_AGENT_ENV:-}
[[ $nodes =~ ^[0-9]+$ && $nodes -ge 2 && $nodes -le 8 ]] || { echo "BENCH_NODES must be 2-8" >&2; exit 2; }
[[ $rounds =~ ^[0-9]+$ && $rounds -ge 1 && $rounds -le 10 ]] || { echo "BENCH_ROUNDS must be 1-10" >&2; exit 2; }
[[ $blob_mb =~ ^[0-9]+$ && $blob_mb -ge 1 && $blob_mb -le 1000 ]] || { echo "BENCH_BLOB_MB must be 1-1000" >&2; exit 2; }

bash scripts/install-deps.sh >/dev/null
LP_NAME=swarm-get.sh
lp_build_agent
lp_build_scheduler
lp_init swarm-get.sh peeragent-swarm-get
lp_start_origin
lp_start_scheduler
for n in $(seq 1 "$nodes"); do
  if [ -n "$agent_env" ]; then
    # shellcheck disable=SC2086 # the setting is a list of NAME=VALUE words
    export $agent_env
  fi
  lp_start_node_agent "$n"
done
for n in $(seq 1 "$nodes"); do lp_wait_node_agent "$n"; done
echo "== origin $LP_ORIGIN, scheduler $LP_SCHEDULER_ADDRESS, $nodes agents${agent_env:+ with $agent_env}," \
  "$([ "$LP_TLS" = 0 ] && echo "plaintext h2c" || echo "mutual TLS")"

get_all() { # digest -> GETs it through every agent at once; fails if any GET fails
  local pids=() n
  for n in $(seq 1 "$nodes"); do
    curl -fsS --max-time 300 -o /dev/null "http://127.0.0.1:${LP_NODE_MIRROR_PORT[n]}/v2/bench/blob/blobs/$1?ns=$LP_ORIGIN" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || lp_die "a GET through an agent failed"; done
}
sum_metric() { # name -> sum over all agents
  local n total=0
  for n in $(seq 1 "$nodes"); do total=$((total + $(lp_metric_at "${LP_NODE_METRICS_PORT[n]}" "$1"))); done
  echo "$total"
}
cpu_all() {
  local n
  for n in $(seq 1 "$nodes"); do echo "$(lp_cpu_seconds "${LP_NODE_PID[n]}")"; done | awk '{s+=$1} END {printf "%.2f", s}'
}
sys_all() {
  local n
  for n in $(seq 1 "$nodes"); do echo "$(lp_sys_cpu_seconds "${LP_NODE_PID[n]}")"; done | awk '{s+=$1} END {printf "%.2f", s}'
}

# Warm-up: a small blob through every agent, so the first round does not pay start-up work alone.
head -c $((20 * 1000 * 1000)) /dev/urandom >"$LP_WORK/warmup.bin"
get_all "$(lp_push_blob bench/blob "$LP_WORK/warmup.bin")"

printf '%-6s %8s %14s %14s %12s %10s %10s\n' round wall_s origin_bytes peer_bytes agents_cpu_s cpu_s/GB sys_s/GB
for r in $(seq 1 "$rounds"); do
  head -c $((blob_mb * 1000 * 1000)) /dev/urandom >"$LP_WORK/blob.bin"
  digest=$(lp_push_blob bench/blob "$LP_WORK/blob.bin")
  origin0=$(lp_origin_blob_bytes)
  peer0=$(sum_metric peeragent_peer_downloaded_bytes_total)
  cpu0=$(cpu_all)
  sys0=$(sys_all)
  t0=$(lp_now)
  get_all "$digest"
  t1=$(lp_now)
  cpu1=$(cpu_all)
  sys1=$(sys_all)
  sleep 0.5 # the origin logs a request when it ends
  origin=$(($(lp_origin_blob_bytes) - origin0))
  peer=$(($(sum_metric peeragent_peer_downloaded_bytes_total) - peer0))
  awk -v r="$r" -v t0="$t0" -v t1="$t1" -v o="$origin" -v p="$peer" -v c0="$cpu0" -v c1="$cpu1" -v s0="$sys0" -v s1="$sys1" -v n="$nodes" -v mb="$blob_mb" \
    'BEGIN {printf "%-6s %8.2f %14d %14d %12.2f %10.2f %10.2f\n", r, t1 - t0, o, p, c1 - c0, (c1 - c0) / (n * mb / 1000), (s1 - s0) / (n * mb / 1000)}'
done
