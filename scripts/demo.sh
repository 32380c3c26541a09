#!/usr/bin/env bash
# The main job, end to end on one machine: a local cluster on loopback. A local origin registry (Debian's
# docker-registry) with a generated multi-layer image, the scheduler, and N agents (node-1..node-N), each with
# its own ports, data dir and its own containerd using it as its mirror. The scheduler and the agents talk mutual
# TLS, as they do by default: a cluster CA and a certificate per process are made with `PeerAgent.Agent certs`.
# Then:
#   1. baselines, for reference: one containerd pulls the image straight from the origin (no agent), then N
#      containerds do so at the same moment (what N nodes cost the origin, and this machine, without agents);
#   2. warm-up: every node pulls a small image through its agent at once (JIT of the agents' code paths);
#   3. the demo: every node pulls the image through its agent at the same moment, each pull timed.
# It prints per node the pull time and where its agent got the blob bytes (origin or peers, from the agents'
# metrics), and what the origin really sent (its access log). The last line is one JSON object:
#   {"nodes":4,"blob_bytes":...,"origin_bytes":...,"peer_bytes":...,"p50_s":...,"max_s":...}
# origin_bytes: blob bytes the origin sent during the concurrent pulls; peer_bytes: piece bytes the agents
# received from each other (peeragent_peer_downloaded_bytes_total); p50_s, max_s: over the nodes' pull times.
#
# Environment: DEMO_NODES=4 (1-16) nodes; DEMO_LAYER_MIB="8 32 64" layer sizes (random, so incompressible);
# LP_TLS=0 runs the peer and scheduler ports as plaintext h2c (Tls:AllowInsecure=true) instead.
# Needs root (containerd). Everything it starts listens on 127.0.0.1 and is stopped on exit.
# Exit status 1 when bytes did not flow as expected (a pull bypassed its agent, or the origin sent more than
# 1.5 copies of the image); the figures and the JSON line are printed first.
# The shared pieces (origin, images, scheduler, agents, pulls, cleanup) are in scripts/lib/local-pull.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/local-pull.sh
source scripts/lib/local-pull.sh

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: containerd needs root; run as root or with sudo" >&2
  exit 1
fi

nodes=${DEMO_NODES:-4}
layer_mib=${DEMO_LAYER_MIB:-"8 32 64"}
[[ $nodes =~ ^[0-9]+$ ]] && [ "$nodes" -ge 1 ] && [ "$nodes" -le 16 ] || { echo "demo.sh: DEMO_NODES must be 1-16" >&2; exit 1; }
for mib in $layer_mib; do
  [[ $mib =~ ^[0-9]+$ ]] && [ "$mib" -ge 1 ] && [ "$mib" -le 2048 ] || { echo "demo.sh: DEMO_LAYER_MIB: sizes are 1-2048 MiB" >&2; exit 1; }
done

bash scripts/install-deps.sh >/dev/null
echo "== building the agent and the scheduler"
LP_NAME=demo.sh
lp_build_agent
lp_build_scheduler

lp_init demo.sh peeragent-demo

# --- origin registry and images --------------------------------------------------------------------
lp_start_origin
origin=$LP_ORIGIN
echo "== origin registry at $origin"
image="$origin/demo/app:v1"
lp_build_image app "$layer_mib"
lp_build_image warmup "1 2"
blob_bytes=$(lp_image_blob_bytes "$image")
echo "== pushed $image: layers of $layer_mib MiB, $blob_bytes blob bytes (config + layers)"

median() { # seconds... -> the median, 2 decimals
  printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {if (NR % 2) printf "%.2f", a[(NR + 1) / 2];
    else printf "%.2f", (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
maximum() { printf '%s\n' "$@" | sort -g | tail -n 1 | awk '{printf "%.2f", $1}'; }
times_of() { # containerd name prefix -> the nodes' pull seconds, one per line
  for n in $(seq 1 "$nodes"); do cat "$LP_WORK/$1-$n.seconds"; done
}

pull_all_at_once() { # containerd name prefix, image, [direct] -> each node's containerd <prefix>-<n> pulls
  #                    through its agent (or straight from the origin with "direct"), all started together;
  #                    seconds in $LP_WORK/<prefix>-<n>.seconds
  local prefix=$1 ref=$2 n mirror pids=() failed=()
  for n in $(seq 1 "$nodes"); do lp_containerd_start "$prefix-$n"; done
  for n in $(seq 1 "$nodes"); do
    mirror=no
    [ "${3:-}" = direct ] || mirror=${LP_NODE_MIRROR_PORT[n]}
    lp_containerd_pull "$prefix-$n" "$mirror" "$ref" >"$LP_WORK/$prefix-$n.seconds" &
    pids[n]=$!
  done
  for n in $(seq 1 "$nodes"); do
    if ! wait "${pids[n]}"; then failed+=("node-$n"); fi
  done
  for n in $(seq 1 "$nodes"); do lp_containerd_stop "$prefix-$n"; done
  if [ "${#failed[@]}" -gt 0 ]; then
    lp_keep_work
    lp_die "pulls of $ref failed on: ${failed[*]} (logs in $LP_WORK)"
  fi
}

# --- baselines: straight from the origin, one node alone, then every node at once --------------------
sleep 0.5
before=$(lp_origin_blob_bytes)
t_direct=$(lp_pull direct no "$image")
sleep 0.5
direct_origin=$(($(lp_origin_blob_bytes) - before))
t_direct=$(printf '%.2f' "$t_direct")
echo "== baseline: one containerd pulled straight from the origin in $t_direct s ($direct_origin blob bytes)"
before=$(lp_origin_blob_bytes)
pull_all_at_once direct "$image" direct
sleep 0.5
mapfile -t direct_times < <(times_of direct)
direct_all_origin=$(($(lp_origin_blob_bytes) - before))
direct_p50=$(median "${direct_times[@]}") direct_max=$(maximum "${direct_times[@]}")
echo "== baseline: $nodes containerds pulled straight from the origin at once: p50 $direct_p50 s, slowest $direct_max s" \
  "($direct_all_origin blob bytes)"

# --- the cluster -----------------------------------------------------------------------------------
lp_start_scheduler
echo "== scheduler at $LP_SCHEDULER_ADDRESS, metrics at http://127.0.0.1:$LP_SCHEDULER_METRICS_PORT/metrics" \
  "($([ "$LP_TLS" = 0 ] && echo "plaintext h2c" || echo "mutual TLS, certificates in $LP_WORK/certs"))"
for n in $(seq 1 "$nodes"); do lp_start_node_agent "$n"; done
for n in $(seq 1 "$nodes"); do
  lp_wait_node_agent "$n"
  echo "== node-$n: agent mirror http://127.0.0.1:${LP_NODE_MIRROR_PORT[n]}, peer $(lp_scheme)://127.0.0.1:${LP_NODE_PEER_PORT[n]}," \
    "metrics http://127.0.0.1:${LP_NODE_METRICS_PORT[n]}/metrics, data $LP_WORK/node-$n"
done

# A just-started agent compiles its code paths on first use (JIT); a node's agent is long-lived, so warm every
# agent up on a small separate image, through the scheduler and the peer path, before measuring.
pull_all_at_once warmup "$origin/demo/warmup:v1"
echo "== warmed up: every node pulled a small image through its agent"

metric() { # node, name, [label filter]
  if ! lp_metric_at "${LP_NODE_METRICS_PORT[$1]}" "$2" "${3:-}"; then
    tail -n 30 "$LP_WORK/node-$1.log" >&2
    lp_keep_work
    lp_die "node-$1's agent does not answer on its metrics port; its log (tail above): $LP_WORK/node-$1.log"
  fi
}
declare -a up0 down0 sent0 served0 cpu0
for n in $(seq 1 "$nodes"); do
  cpu0[n]=$(lp_cpu_seconds "${LP_NODE_PID[n]}")
  up0[n]=$(metric "$n" peeragent_upstream_received_bytes_total 'kind="blob"')
  down0[n]=$(metric "$n" peeragent_peer_downloaded_bytes_total)
  sent0[n]=$(metric "$n" peeragent_peer_uploaded_bytes_total)
  served0[n]=$(metric "$n" peeragent_mirror_served_bytes_total 'kind="blob"')
done

# --- the demo: every node pulls at once ------------------------------------------------------------
sleep 0.5
origin0=$(lp_origin_blob_bytes)
fallback0=$(lp_origin_containerd_blob_gets)
echo "== $nodes nodes pull $image at once"
pull_all_at_once pull "$image"
sleep 0.5 # the registry writes its access log line after the response
origin_bytes=$(($(lp_origin_blob_bytes) - origin0))
fallbacks=$(($(lp_origin_containerd_blob_gets) - fallback0))

problems=()
declare -a times
up_sum=0 peer_bytes=0
echo
printf '%-8s %8s %18s %16s %16s %18s %10s\n' "node" "seconds" "agent from origin" "agent from peers" "agent to peers" \
  "served containerd" "agent CPU s"
for n in $(seq 1 "$nodes"); do
  t=$(cat "$LP_WORK/pull-$n.seconds")
  times+=("$t")
  up=$(metric "$n" peeragent_upstream_received_bytes_total 'kind="blob"')
  down=$(metric "$n" peeragent_peer_downloaded_bytes_total)
  sent=$(metric "$n" peeragent_peer_uploaded_bytes_total)
  served=$(metric "$n" peeragent_mirror_served_bytes_total 'kind="blob"')
  up=$((up - up0[n])) down=$((down - down0[n])) sent=$((sent - sent0[n])) served=$((served - served0[n]))
  cpu=$(echo "$(lp_cpu_seconds "${LP_NODE_PID[n]}") - ${cpu0[n]}" | bc)
  up_sum=$((up_sum + up))
  peer_bytes=$((peer_bytes + down))
  printf '%-8s %8.2f %18s %16s %16s %18s %10.2f\n' "node-$n" "$t" "$up" "$down" "$sent" "$served" "$cpu"
  if [ "$served" -lt "$blob_bytes" ]; then
    problems+=("node-$n: its agent served containerd $served blob bytes, less than the image's $blob_bytes")
  fi
done
if [ "$fallbacks" -ne 0 ]; then
  problems+=("$fallbacks blob GETs at the origin came from containerd itself: a mirror failed and it fell back")
fi
if [ "$((origin_bytes * 2))" -gt "$((blob_bytes * 3))" ]; then
  problems+=("the origin sent $origin_bytes blob bytes, more than 1.5 copies of the image ($blob_bytes)")
fi

p50=$(median "${times[@]}") max=$(maximum "${times[@]}")
copies() { echo "scale=2; $1 / $2" | bc; }
echo
echo "image: $blob_bytes blob bytes; pulled by $nodes nodes at once: p50 $p50 s, slowest $max s"
echo "       (baselines straight from the origin: one node alone $t_direct s; $nodes nodes at once p50 $direct_p50 s," \
  "slowest $direct_max s, $direct_all_origin blob bytes)"
echo "origin sent $origin_bytes blob bytes ($(copies "$origin_bytes" "$blob_bytes") copies of the image, access log);" \
  "the agents fetched $up_sum from it (their metrics)"
echo "the agents exchanged $peer_bytes piece bytes with each other"
if [ "${#problems[@]}" -gt 0 ]; then
  echo
  echo "bytes did not flow as expected (work dir kept: $LP_WORK):"
  printf '  %s\n' "${problems[@]}"
  LP_KEEP_WORK=1 # the processes are stopped; the work dir stays for inspection
fi
echo "{\"nodes\":$nodes,\"blob_bytes\":$blob_bytes,\"origin_bytes\":$origin_bytes,\"peer_bytes\":$peer_bytes,\"p50_s\":$p50,\"max_s\":$max}"
[ "${#problems[@]}" -eq 0 ] || exit 1
