# shellcheck shell=bash
# Shared pieces for scripts that pull images on one machine: a local origin registry (Debian's
# docker-registry) with an access log, generated images built with umoci and pushed with skopeo, the agent
# as a mirror, fresh containerd instances timing `ctr images pull`, origin egress from the access log, and
# the agent's metrics and CPU time.
#
# Source it from a script running under `set -euo pipefail`, then call lp_init first:
#   source "$(dirname "$0")/../scripts/lib/local-pull.sh"
#   lp_init my-script            # work dir, traps; everything started afterwards is stopped on exit
#
# Globals (read them; lp_* functions set them):
#   LP_ROOT         repository root (set when sourced)
#   LP_NAME         script name used in error messages (lp_init)
#   LP_WORK         temporary work dir; removed on exit unless LP_KEEP_WORK=1 (lp_init)
#   LP_KEEP_WORK    set to 1 before exiting to keep LP_WORK for inspection (processes are still stopped)
#   LP_ORIGIN       host:port of the origin registry (lp_start_origin)
#   LP_MIRROR_PORT, LP_METRICS_PORT, LP_AGENT_PID   the agent (lp_start_agent)
#   LP_REPO_PREFIX  repository prefix for lp_build_image (default "demo": images are <prefix>/<name>:v1)
#
# Every process started through this file is recorded with its start time in $LP_WORK/pids (so that
# processes started inside $(...) subshells are recorded too) and killed by the exit trap; only a process
# whose pid and start time both match is signalled. Every wait is bounded in count and time, and everything
# listens on 127.0.0.1 only.

LP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LP_NAME=${LP_NAME:-local-pull}
LP_KEEP_WORK=${LP_KEEP_WORK:-0}
LP_REPO_PREFIX=${LP_REPO_PREFIX:-demo}
LP_AGENT_DLL="$LP_ROOT/src/PeerAgent.Agent/bin/Release/net10.0/PeerAgent.Agent.dll"

lp_die() { # message...
  echo "$LP_NAME: $*" >&2
  exit 1
}

lp_init() { # script name [work dir prefix] -> sets LP_NAME, LP_WORK and the cleanup traps
  LP_NAME=$1
  LP_WORK=$(mktemp -d "/tmp/${2:-peeragent-$1}.XXXXXX")
  : >"$LP_WORK/pids"
  trap lp_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
}

lp_start_time() { # pid -> the process's start time in ticks since boot (field 22 of /proc/<pid>/stat)
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) } # the command name may contain spaces; the fields after it do not
  echo "$stat" | awk '{print $20}'
}

lp_track() { # pid -> recorded for the exit trap
  echo "$1 $(lp_start_time "$1" || echo gone)" >>"$LP_WORK/pids"
}

lp_is_ours() { # pid start-time -> true while that very process is alive (a zombie is not)
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  echo "$stat" | awk -v s="$2" '{exit !($1 != "Z" && $20 == s)}'
}

lp_stop() { # pid -> TERM, up to 10 s, then KILL; only if it is a process recorded by lp_track
  local pid=$1 start
  start=$(awk -v p="$pid" '$1 == p {s = $2} END {print s}' "$LP_WORK/pids")
  [ -n "$start" ] || return 0
  lp_is_ours "$pid" "$start" || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    lp_is_ours "$pid" "$start" || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

lp_cleanup() { # the exit trap: stop every recorded process, unmount leftovers, remove the work dir
  local rc=$? pid start alive
  trap - EXIT INT TERM HUP
  if [ -n "${LP_WORK:-}" ] && [ -f "$LP_WORK/pids" ]; then
    while read -r pid start; do
      lp_is_ours "$pid" "$start" && kill "$pid" 2>/dev/null || true
    done <"$LP_WORK/pids"
    for _ in $(seq 1 100); do # up to 10 s for a clean exit, then KILL
      alive=0
      while read -r pid start; do
        if lp_is_ours "$pid" "$start"; then alive=1; fi
      done <"$LP_WORK/pids"
      [ "$alive" = 1 ] || break
      sleep 0.1
    done
    while read -r pid start; do
      lp_is_ours "$pid" "$start" && kill -9 "$pid" 2>/dev/null || true
    done <"$LP_WORK/pids"
    wait 2>/dev/null || true # reaps only; everything above has exited or been killed
    # a pull interrupted mid-unpack can leave mounts under the containerd roots
    grep -o " $LP_WORK[^ ]*" /proc/self/mounts 2>/dev/null | xargs -r -n1 umount -l 2>/dev/null || true
    if [ "$LP_KEEP_WORK" != 1 ]; then rm -rf "$LP_WORK"; fi
  fi
  exit "$rc"
}

lp_free_port() { # -> a free TCP port on 127.0.0.1
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  lp_die "no free port found"
}

lp_wait_for() { # url, what -> returns once the url answers 2xx or 401 (up to ~30 s)
  for _ in $(seq 1 300); do
    if curl -fs --max-time 2 -o /dev/null "$1" \
      || [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "$1")" = 401 ]; then return; fi
    sleep 0.1
  done
  lp_die "$2 did not come up at $1"
}

lp_now() { date +%s.%N; }

lp_build_agent() { # -> builds src/PeerAgent.Agent in Release (quietly; errors are shown)
  local out
  if ! out=$(cd "$LP_ROOT" && timeout 600 dotnet build src/PeerAgent.Agent -c Release -v quiet -nologo 2>&1); then
    echo "$out" >&2
    lp_die "the agent did not build"
  fi
}

# --- origin registry -------------------------------------------------------------------------------
lp_start_origin() { # -> starts docker-registry on a free port; sets LP_ORIGIN
  local port
  port=$(lp_free_port)
  LP_ORIGIN="127.0.0.1:$port"
  mkdir -p "$LP_WORK/registry"
  cat >"$LP_WORK/registry.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $LP_WORK/registry
  delete:
    enabled: true
http:
  addr: $LP_ORIGIN
YAML
  docker-registry serve "$LP_WORK/registry.yml" >"$LP_WORK/registry.access.log" 2>"$LP_WORK/registry.log" &
  lp_track $!
  lp_wait_for "http://$LP_ORIGIN/v2/" "docker-registry"
}

lp_origin_blob_bytes() { # -> bytes of successful blob GETs in the origin's access log so far
  grep -hE '"GET /v2/[^ ]+/blobs/[^ ]+ HTTP/[0-9.]+" 20[06] ' "$LP_WORK"/registry*.log \
    | sed -E 's/.*" 20[06] ([0-9]+) .*/\1/' | paste -sd+ | bc 2>/dev/null || echo 0
}

# --- generated images and blobs --------------------------------------------------------------------
lp_build_image() { # name, layer sizes in MiB -> pushes $LP_ORIGIN/$LP_REPO_PREFIX/<name>:v1 (random layers)
  local layout="$LP_WORK/oci-$1" bundle="$LP_WORK/bundle-$1" i=0
  umoci init --layout "$layout" >/dev/null
  umoci new --image "$layout:img" >/dev/null
  for mib in $2; do
    umoci unpack --image "$layout:img" "$bundle" >/dev/null
    head -c $((mib * 1024 * 1024)) /dev/urandom >"$bundle/rootfs/layer$i.bin"
    umoci repack --image "$layout:img" "$bundle" >/dev/null
    rm -rf "$bundle"
    i=$((i + 1))
  done
  timeout 300 skopeo copy --quiet --insecure-policy --dest-tls-verify=false \
    "oci:$layout:img" "docker://$LP_ORIGIN/$LP_REPO_PREFIX/$1:v1"
  rm -rf "$layout"
}

lp_manifest() { # image reference -> its manifest, as stored
  timeout 60 skopeo inspect --raw --tls-verify=false "docker://$1"
}

lp_image_blob_bytes() { # image reference -> bytes of its config and layers
  lp_manifest "$1" | grep -o '"size": *[0-9]*' | grep -o '[0-9]*$' | paste -sd+ | bc
}

lp_push_blob() { # repository, file -> uploads the file as a blob to the origin; prints its digest
  local digest location
  digest="sha256:$(sha256sum "$2" | cut -d' ' -f1)"
  location=$(curl -fsS --max-time 30 -X POST -o /dev/null -D - "http://$LP_ORIGIN/v2/$1/blobs/uploads/" \
    | tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
  [ -n "$location" ] || lp_die "no upload location for $1"
  case $location in /*) location="http://$LP_ORIGIN$location" ;; esac
  case $location in *\?*) location="$location&digest=$digest" ;; *) location="$location?digest=$digest" ;; esac
  curl -fsS --max-time 300 -X PUT -H 'Content-Type: application/octet-stream' -T "$2" -o /dev/null "$location" \
    || lp_die "blob upload to $1 failed"
  echo "$digest"
}

# --- the agent -------------------------------------------------------------------------------------
lp_start_agent() { # [extra --Key=Value args...] -> starts the built agent mirroring LP_ORIGIN; sets
  #                  LP_MIRROR_PORT, LP_METRICS_PORT, LP_AGENT_PID; its log is $LP_WORK/agent.log
  LP_MIRROR_PORT=$(lp_free_port)
  LP_METRICS_PORT=$(lp_free_port)
  dotnet "$LP_AGENT_DLL" \
    --Mirror:ListenUrl="http://127.0.0.1:$LP_MIRROR_PORT" \
    --Metrics:ListenUrl="http://127.0.0.1:$LP_METRICS_PORT" \
    --Store:DataDir="$LP_WORK/agent" \
    --Registries:0:Host="$LP_ORIGIN" \
    --Registries:0:PlainHttp=true \
    "$@" \
    >"$LP_WORK/agent.log" 2>&1 &
  LP_AGENT_PID=$!
  lp_track "$LP_AGENT_PID"
  lp_wait_for "http://127.0.0.1:$LP_METRICS_PORT/readyz" "the agent"
}

lp_metric() { # name, label filter -> the sum of the agent's matching series (integer)
  curl -fs --max-time 10 "http://127.0.0.1:$LP_METRICS_PORT/metrics" | grep -E "^$1\{[^}]*$2" \
    | awk '{s+=$2} END {printf "%.0f", s+0}'
}

lp_cpu_seconds() { # pid -> utime + stime of the process (all threads) in seconds
  local stat ticks
  stat=$(cat "/proc/$1/stat") || lp_die "process $1 is gone"
  stat=${stat##*) }
  ticks=$(getconf CLK_TCK)
  echo "$stat" | awk -v t="$ticks" '{printf "%.2f", ($12 + $13) / t}'
}

# --- pulls -----------------------------------------------------------------------------------------
lp_hosts_for() { # dir, with mirror (yes/no) -> a containerd hosts dir for LP_ORIGIN, optionally via the agent
  mkdir -p "$1/$LP_ORIGIN"
  {
    echo "server = \"http://$LP_ORIGIN\""
    if [ "$2" = yes ]; then
      echo
      echo "[host.\"http://127.0.0.1:$LP_MIRROR_PORT\"]"
      echo "  capabilities = [\"pull\", \"resolve\"]"
    fi
  } >"$1/$LP_ORIGIN/hosts.toml"
}

lp_pull() { # name, with mirror (yes/no), image reference -> prints the seconds `ctr images pull` took
  #           into a fresh containerd root at $LP_WORK/ctd-<name>; LP_PULL_KEEP_ROOT=0 deletes it afterwards
  local dir="$LP_WORK/ctd-$1" ctd start end
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
  ctd=$!
  lp_track "$ctd"
  for _ in $(seq 1 100); do timeout 5 ctr --address "$dir/c.sock" version >/dev/null 2>&1 && break; sleep 0.1; done
  lp_hosts_for "$dir/hosts" "$2"
  start=$(lp_now)
  if ! timeout 300 ctr --address "$dir/c.sock" images pull --plain-http --snapshotter native \
    --hosts-dir "$dir/hosts" "$3" >"$dir/pull.log" 2>&1; then
    cat "$dir/pull.log" >&2
    lp_stop "$ctd"
    lp_die "pull $1 of $3 failed"
  fi
  end=$(lp_now)
  lp_stop "$ctd"
  if [ "${LP_PULL_KEEP_ROOT:-1}" = 0 ]; then
    grep -o " $dir[^ ]*" /proc/self/mounts 2>/dev/null | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$dir"
  fi
  echo "$end - $start" | bc
}

lp_get() { # url -> "seconds bytes" of one curl GET to /dev/null; fails unless it answered 200
  local out
  out=$(curl -s --max-time 300 -o /dev/null -w '%{http_code} %{time_total} %{size_download}' "$1") \
    || lp_die "GET $1 failed"
  [ "${out%% *}" = 200 ] || lp_die "GET $1 answered ${out%% *}"
  echo "${out#* }"
}
