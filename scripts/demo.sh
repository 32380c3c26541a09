#!/usr/bin/env bash
# The main job, end to end on one machine: a local origin registry (Debian's docker-registry), a generated
# multi-layer image pushed to it, the agent as containerd's mirror, and three pulls with real containerd,
# each into a fresh containerd root:
#   1. straight from the origin (the baseline),
#   2. through the agent with an empty cache (cold),
#   3. through the agent again (warm).
# It prints the time of each pull and where the blob bytes came from (origin access log, agent metrics).
#
# Environment: DEMO_LAYER_MIB="8 32 64" sets the layer sizes (random, so incompressible).
# Needs root (containerd). Everything it starts listens on 127.0.0.1 and is stopped on exit.
# The shared pieces (origin, images, agent, pulls, cleanup) are in scripts/lib/local-pull.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/local-pull.sh
source scripts/lib/local-pull.sh

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: containerd needs root; run as root or with sudo" >&2
  exit 1
fi

layer_mib=${DEMO_LAYER_MIB:-"8 32 64"}

bash scripts/install-deps.sh >/dev/null
echo "== building the agent"
LP_NAME=demo.sh
lp_build_agent

lp_init demo.sh peeragent-demo

# --- origin registry -------------------------------------------------------------------------------
lp_start_origin
origin=$LP_ORIGIN
echo "== origin registry at $origin"

# --- generated multi-layer images ------------------------------------------------------------------
image="$origin/demo/app:v1"
lp_build_image app "$layer_mib"
lp_build_image warmup "1 2"
blob_bytes=$(lp_image_blob_bytes "$image")
echo "== pushed $image: layers of $layer_mib MiB, $blob_bytes blob bytes (config + layers)"

# --- the agent -------------------------------------------------------------------------------------
lp_start_agent
echo "== agent mirror at http://127.0.0.1:$LP_MIRROR_PORT, metrics at http://127.0.0.1:$LP_METRICS_PORT/metrics"

# --- pulls -----------------------------------------------------------------------------------------
# A just-started agent compiles its code paths on first use (JIT); a node's agent is long-lived, so warm it
# up on a small separate image through both the miss and the hit path before measuring.
lp_pull warmup-cold yes "$origin/demo/warmup:v1" >/dev/null
lp_pull warmup-warm yes "$origin/demo/warmup:v1" >/dev/null
warmup_upstream=$(lp_metric peeragent_upstream_received_bytes_total 'kind="blob"')
warmup_cache=$(lp_metric peeragent_mirror_served_bytes_total 'kind="blob",source="cache"')

sleep 0.5
before=$(lp_origin_blob_bytes)
t_direct=$(lp_pull direct no "$image")
sleep 0.5
direct_origin=$(( $(lp_origin_blob_bytes) - before ))

before=$(lp_origin_blob_bytes)
t_cold=$(lp_pull cold yes "$image")
sleep 0.5
cold_origin=$(( $(lp_origin_blob_bytes) - before ))
cold_upstream=$(( $(lp_metric peeragent_upstream_received_bytes_total 'kind="blob"') - warmup_upstream ))
cold_served=$(( $(lp_metric peeragent_mirror_served_bytes_total 'kind="blob",source="upstream"') - warmup_upstream ))

before=$(lp_origin_blob_bytes)
t_warm=$(lp_pull warm yes "$image")
sleep 0.5
warm_origin=$(( $(lp_origin_blob_bytes) - before ))
warm_cache=$(( $(lp_metric peeragent_mirror_served_bytes_total 'kind="blob",source="cache"') - warmup_cache ))

ratio() { echo "scale=2; $1 / $2" | bc; }
echo
printf '%-34s %8s %16s %16s\n' "pull (fresh containerd root)" "seconds" "origin blob B" "agent served B"
printf '%-34s %8.2f %16s %16s\n' "direct from origin" "$t_direct" "$direct_origin" "-"
printf '%-34s %8.2f %16s %16s\n' "through agent, cold cache" "$t_cold" "$cold_origin" "$cold_served"
printf '%-34s %8.2f %16s %16s\n' "through agent, warm cache" "$t_warm" "$warm_origin" "$warm_cache (cache)"
echo
echo "cold/direct time ratio: $(ratio "$t_cold" "$t_direct")   direct/warm time ratio: $(ratio "$t_direct" "$t_warm")"
echo "agent fetched $cold_upstream blob bytes from the origin for $blob_bytes bytes of image blobs"
if [ "$warm_origin" -ne 0 ] || [ "$cold_upstream" -ne "$blob_bytes" ]; then
  echo "demo.sh: bytes did not flow as expected (see $LP_WORK)" >&2
  LP_KEEP_WORK=1 # the processes are stopped; the work dir stays for inspection
  exit 1
fi
echo "{\"blob_bytes\":$blob_bytes,\"direct_s\":$t_direct,\"cold_s\":$t_cold,\"warm_s\":$t_warm,\"cold_origin_bytes\":$cold_origin,\"warm_origin_bytes\":$warm_origin}"
