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
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: containerd needs root; run as root or with sudo" >&2
  exit 1
fi

layer_mib=${DEMO_LAYER_MIB:-"8 32 64"}

bash scripts/install-deps.sh >/dev/null
echo "== building the agent"
dotnet build src/PeerAgent.Agent -c Release -v quiet -nologo >/dev/null

work=$(mktemp -d /tmp/peeragent-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # a pull interrupted mid-unpack can leave mounts under the containerd roots
  grep -o " $work[^ ]*" /proc/self/mounts 2>/dev/null | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo "demo.sh: no free port found" >&2
  exit 1
}

wait_for() { # url, what
  for _ in $(seq 1 300); do
    if curl -fs -o /dev/null "$1" || [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 401 ]; then return; fi
    sleep 0.1
  done
  echo "demo.sh: $2 did not come up at $1" >&2
  exit 1
}

now() { date +%s.%N; }

# --- origin registry -------------------------------------------------------------------------------
origin_port=$(free_port)
origin="127.0.0.1:$origin_port"
mkdir -p "$work/registry"
cat >"$work/registry.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $work/registry
  delete:
    enabled: true
http:
  addr: $origin
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.access.log" 2>"$work/registry.log" &
pids+=($!)
wait_for "http://$origin/v2/" "docker-registry"
echo "== origin registry at $origin"

# --- generated multi-layer images ------------------------------------------------------------------
build_image() { # name, layer sizes in MiB -> pushes $origin/demo/<name>:v1
  local layout="$work/oci-$1" i=0
  umoci init --layout "$layout" >/dev/null
  umoci new --image "$layout:img" >/dev/null
  for mib in $2; do
    umoci unpack --image "$layout:img" "$work/bundle" >/dev/null
    head -c $((mib * 1024 * 1024)) /dev/urandom >"$work/bundle/rootfs/layer$i.bin"
    umoci repack --image "$layout:img" "$work/bundle" >/dev/null
    rm -rf "$work/bundle"
    i=$((i + 1))
  done
  skopeo copy --quiet --insecure-policy --dest-tls-verify=false "oci:$layout:img" "docker://$origin/demo/$1:v1"
}
image="$origin/demo/app:v1"
build_image app "$layer_mib"
build_image warmup "1 2"
blob_bytes=$(skopeo inspect --raw --tls-verify=false "docker://$image" \
  | grep -o '"size": *[0-9]*' | grep -o '[0-9]*$' | paste -sd+ | bc)
echo "== pushed $image: layers of $layer_mib MiB, $blob_bytes blob bytes (config + layers)"

# --- the agent -------------------------------------------------------------------------------------
mirror_port=$(free_port)
metrics_port=$(free_port)
dotnet src/PeerAgent.Agent/bin/Release/net10.0/PeerAgent.Agent.dll \
  --Mirror:ListenUrl="http://127.0.0.1:$mirror_port" \
  --Metrics:ListenUrl="http://127.0.0.1:$metrics_port" \
  --Store:DataDir="$work/agent" \
  --Registries:0:Host="$origin" \
  --Registries:0:PlainHttp=true \
  >"$work/agent.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$metrics_port/readyz" "the agent"
echo "== agent mirror at http://127.0.0.1:$mirror_port, metrics at http://127.0.0.1:$metrics_port/metrics"

# --- pulls -----------------------------------------------------------------------------------------
origin_blob_bytes() { # bytes of successful blob GETs in the origin's access log
  grep -hE '"GET /v2/[^ ]+/blobs/[^ ]+ HTTP/[0-9.]+" 20[06] ' "$work"/registry*.log \
    | sed -E 's/.*" 20[06] ([0-9]+) .*/\1/' | paste -sd+ | bc 2>/dev/null || echo 0
}
metric() { # name and label filter; sums matching series
  curl -fs "http://127.0.0.1:$metrics_port/metrics" | grep -E "^$1\{[^}]*$2" | awk '{s+=$2} END {printf "%.0f", s+0}'
}

hosts_for() { # dir, with mirror (yes/no)
  mkdir -p "$1/$origin"
  {
    echo "server = \"http://$origin\""
    if [ "$2" = yes ]; then
      echo
      echo "[host.\"http://127.0.0.1:$mirror_port\"]"
      echo "  capabilities = [\"pull\", \"resolve\"]"
    fi
  } >"$1/$origin/hosts.toml"
}

pull() { # name, with mirror (yes/no), image -> prints seconds
  local dir="$work/ctd-$1"
  mkdir -p "$dir"
  cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$dir/c.sock"
[ttrpc]
  address = "$dir/c.ttrpc.sock"
[debug]
  address = "$dir/debug.sock"
[metrics]
  address = ""
TOML
  containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
  local ctd=$!
  pids+=($ctd)
  for _ in $(seq 1 100); do ctr --address "$dir/c.sock" version >/dev/null 2>&1 && break; sleep 0.1; done
  hosts_for "$dir/hosts" "$2"
  local start end
  start=$(now)
  ctr --address "$dir/c.sock" images pull --plain-http --snapshotter native --hosts-dir "$dir/hosts" "${3:-$image}" >"$dir/pull.log" 2>&1 \
    || { cat "$dir/pull.log" >&2; exit 1; }
  end=$(now)
  kill "$ctd" 2>/dev/null || true
  echo "$end - $start" | bc
}

# A just-started agent compiles its code paths on first use (JIT); a node's agent is long-lived, so warm it
# up on a small separate image through both the miss and the hit path before measuring.
pull warmup-cold yes "$origin/demo/warmup:v1" >/dev/null
pull warmup-warm yes "$origin/demo/warmup:v1" >/dev/null
warmup_upstream=$(metric peeragent_upstream_received_bytes_total 'kind="blob"')
warmup_cache=$(metric peeragent_mirror_served_bytes_total 'kind="blob",source="cache"')

sleep 0.5
before=$(origin_blob_bytes)
t_direct=$(pull direct no)
sleep 0.5
direct_origin=$(( $(origin_blob_bytes) - before ))

before=$(origin_blob_bytes)
t_cold=$(pull cold yes)
sleep 0.5
cold_origin=$(( $(origin_blob_bytes) - before ))
cold_upstream=$(( $(metric peeragent_upstream_received_bytes_total 'kind="blob"') - warmup_upstream ))
cold_served=$(( $(metric peeragent_mirror_served_bytes_total 'kind="blob",source="upstream"') - warmup_upstream ))

before=$(origin_blob_bytes)
t_warm=$(pull warm yes)
sleep 0.5
warm_origin=$(( $(origin_blob_bytes) - before ))
warm_cache=$(( $(metric peeragent_mirror_served_bytes_total 'kind="blob",source="cache"') - warmup_cache ))

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
  echo "demo.sh: bytes did not flow as expected (see $work)" >&2
  trap - EXIT
  exit 1
fi
echo "{\"blob_bytes\":$blob_bytes,\"direct_s\":$t_direct,\"cold_s\":$t_cold,\"warm_s\":$t_warm,\"cold_origin_bytes\":$cold_origin,\"warm_origin_bytes\":$warm_origin}"
