# shellcheck shell=bash
# Shared pieces for scripts that pull images on one machine: a local origin registry (Debian's
# docker-registry) with an access log, generated images built with umoci and pushed with skopeo, the agent
# as a mirror (or a local cluster: the scheduler and N agents, each with its own ports, data dir and node
# name), fresh containerd instances timing `ctr images pull`, origin egress from the access log, and the
# agents' metrics and CPU time.
#
# Source it from a script running under `set -euo pipefail`, then call lp_init first:
#   source "$(dirname "$0")/../scripts/lib/local-pull.sh"
#   lp_init my-script            # work dir, traps; everything started afterwards is stopped on exit
#
# Globals (read them; lp_* functions set them):
#   LP_ROOT         repository root (set when sourced)
#   LP_NAME         script name used in error messages (lp_init)
#   LP_WORK         temporary work dir; removed on exit unless LP_KEEP_WORK=1 (lp_init)
#   LP_KEEP_WORK    set to 1 before exiting to keep LP_WORK for inspection (processes are still stopped);
#                   lp_keep_work does the same from a subshell
#   LP_ORIGIN       host:port of the origin registry (lp_start_origin)
#   LP_MIRROR_PORT, LP_METRICS_PORT, LP_AGENT_PID   the agent (lp_start_agent)
#   LP_SCHEDULER_ADDRESS, LP_SCHEDULER_METRICS_PORT, LP_SCHEDULER_PID   the scheduler (lp_start_scheduler)
#   LP_NODE_MIRROR_PORT[n], LP_NODE_METRICS_PORT[n], LP_NODE_PEER_PORT[n], LP_NODE_PID[n]   agent n of a
#                   cluster (lp_start_node_agent n); its data dir is $LP_WORK/node-<n>, its log $LP_WORK/node-<n>.log
#   LP_REPO_PREFIX  repository prefix for lp_build_image (default "demo": images are <prefix>/<name>:v1)
#   LP_TLS          1 (default): the scheduler and agents talk mutual TLS, with a CA and a certificate per process
#                   made by the agent's `certs` command under $LP_WORK/certs (lp_certs); 0: Tls:AllowInsecure=true
#                   (plaintext h2c), for an A/B of the transport's cost
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
LP_SCHEDULER_DLL="$LP_ROOT/src/PeerAgent.Scheduler/bin/Release/net10.0/PeerAgent.Scheduler.dll"
LP_SCHEDULER_ADDRESS=${LP_SCHEDULER_ADDRESS:-}
LP_TLS=${LP_TLS:-1}
declare -a LP_NODE_MIRROR_PORT LP_NODE_METRICS_PORT LP_NODE_PEER_PORT LP_NODE_PID

lp_die() { # message...
  echo "$LP_NAME: $*" >&2
  exit 1
}

lp_keep_work() { # -> LP_WORK is kept on exit, also when called in a subshell such as $(...)
  : >"$LP_WORK/keep"
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
    if [ "$LP_KEEP_WORK" != 1 ] && [ ! -e "$LP_WORK/keep" ]; then rm -rf "$LP_WORK"; fi
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

lp_build() { # project dir, what -> builds it in Release (quietly; errors are shown)
  local out
  if ! out=$(cd "$LP_ROOT" && timeout 600 dotnet build "$1" -c Release -v quiet -nologo 2>&1); then
    echo "$out" >&2
    lp_die "$2 did not build"
  fi
}

lp_build_agent() { lp_build src/PeerAgent.Agent "the agent"; }

lp_build_scheduler() { lp_build src/PeerAgent.Scheduler "the scheduler"; }

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

lp_origin_containerd_blob_gets() { # -> blob GETs in the origin's access log sent by containerd itself (a
  #                                   containerd that fell back from its mirror to the origin); the agents send no
  #                                   User-Agent
  { grep -hE '"GET /v2/[^ ]+/blobs/[^ ]+ HTTP/[0-9.]+" [0-9]+ [0-9]+ "[^"]*" "containerd/' "$LP_WORK"/registry*.log || true; } \
    | wc -l
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

# --- the agent and the scheduler -------------------------------------------------------------------
lp_scheme() { # -> the scheme of peer and scheduler URLs: https, or http with LP_TLS=0
  if [ "$LP_TLS" = 0 ]; then echo http; else echo https; fi
}

lp_certs() { # name -> prints the Tls:* arguments for process <name>, one per line: a certificate issued (once) into
  #            $LP_WORK/certs/<name> by the CA in $LP_WORK/certs/ca, which is made on first use; both with the
  #            agent's `certs` command (its output goes to $LP_WORK/certs.log). With LP_TLS=0: --Tls:AllowInsecure=true.
  local dir="$LP_WORK/certs"
  if [ "$LP_TLS" = 0 ]; then
    echo "--Tls:AllowInsecure=true"
    return
  fi
  if [ ! -f "$dir/ca/ca.key" ]; then
    timeout 60 dotnet "$LP_AGENT_DLL" certs ca --out "$dir/ca" >>"$LP_WORK/certs.log" 2>&1 \
      || lp_die "certs ca failed (log: $LP_WORK/certs.log)"
  fi
  if [ ! -f "$dir/$1/tls.key" ]; then
    timeout 60 dotnet "$LP_AGENT_DLL" certs issue --ca "$dir/ca" --name "$1" --ip 127.0.0.1 --out "$dir/$1" \
      >>"$LP_WORK/certs.log" 2>&1 || lp_die "certs issue $1 failed (log: $LP_WORK/certs.log)"
  fi
  printf '%s\n' "--Tls:CaFile=$dir/$1/ca.crt" "--Tls:CertFile=$dir/$1/tls.crt" "--Tls:KeyFile=$dir/$1/tls.key"
}

lp_run_agent() { # name (data dir and log), mirror port, metrics port, peer port, [extra args...] -> prints the pid
  #                Peer:ListenUrl is always on 127.0.0.1, so no agent started here binds the default 0.0.0.0:65002.
  local name=$1 mirror=$2 metrics=$3 peer=$4 scheme tls
  local -a tls_args
  shift 4
  scheme=$(lp_scheme)
  tls=$(lp_certs "$name")
  mapfile -t tls_args <<<"$tls"
  dotnet "$LP_AGENT_DLL" \
    --Mirror:ListenUrl="http://127.0.0.1:$mirror" \
    --Metrics:ListenUrl="http://127.0.0.1:$metrics" \
    --Peer:ListenUrl="$scheme://127.0.0.1:$peer" \
    --Peer:AdvertiseUrl="$scheme://127.0.0.1:$peer" \
    "${tls_args[@]}" \
    --Store:DataDir="$LP_WORK/$name" \
    --Registries:0:Host="$LP_ORIGIN" \
    --Registries:0:PlainHttp=true \
    "$@" \
    >"$LP_WORK/$name.log" 2>&1 &
  lp_track $!
  echo $!
}

lp_start_agent() { # [extra --Key=Value args...] -> starts the built agent mirroring LP_ORIGIN (scheduler
  #                  in-process unless LP_SCHEDULER_ADDRESS is set); sets LP_MIRROR_PORT, LP_METRICS_PORT,
  #                  LP_AGENT_PID; its log is $LP_WORK/agent.log
  local scheduler=()
  [ -z "$LP_SCHEDULER_ADDRESS" ] || scheduler=(--Scheduler:Address="$LP_SCHEDULER_ADDRESS")
  LP_MIRROR_PORT=$(lp_free_port)
  LP_METRICS_PORT=$(lp_free_port)
  LP_AGENT_PID=$(lp_run_agent agent "$LP_MIRROR_PORT" "$LP_METRICS_PORT" "$(lp_free_port)" "${scheduler[@]}" "$@")
  lp_wait_for "http://127.0.0.1:$LP_METRICS_PORT/readyz" "the agent"
}

lp_start_scheduler() { # [extra --Key=Value args...] -> starts the built scheduler on free loopback ports; sets
  #                      LP_SCHEDULER_ADDRESS (what agents get as Scheduler:Address), LP_SCHEDULER_METRICS_PORT,
  #                      LP_SCHEDULER_PID; its log is $LP_WORK/scheduler.log
  local port tls
  local -a tls_args
  port=$(lp_free_port)
  LP_SCHEDULER_ADDRESS="$(lp_scheme)://127.0.0.1:$port"
  LP_SCHEDULER_METRICS_PORT=$(lp_free_port)
  tls=$(lp_certs scheduler)
  mapfile -t tls_args <<<"$tls"
  dotnet "$LP_SCHEDULER_DLL" \
    --Scheduler:ListenUrl="$LP_SCHEDULER_ADDRESS" \
    --Metrics:ListenUrl="http://127.0.0.1:$LP_SCHEDULER_METRICS_PORT" \
    "${tls_args[@]}" \
    "$@" \
    >"$LP_WORK/scheduler.log" 2>&1 &
  LP_SCHEDULER_PID=$!
  lp_track "$LP_SCHEDULER_PID"
  lp_wait_for "http://127.0.0.1:$LP_SCHEDULER_METRICS_PORT/readyz" "the scheduler"
}

lp_start_node_agent() { # n, [extra args...] -> starts agent n of a cluster without waiting for it (see
  #                       lp_wait_node_agent): node name node-<n>, its own ports and data dir, the scheduler at
  #                       LP_SCHEDULER_ADDRESS (in-process when empty); sets LP_NODE_*[n]
  local n=$1 scheduler=()
  shift
  [ -z "$LP_SCHEDULER_ADDRESS" ] || scheduler=(--Scheduler:Address="$LP_SCHEDULER_ADDRESS")
  LP_NODE_MIRROR_PORT[n]=$(lp_free_port)
  LP_NODE_METRICS_PORT[n]=$(lp_free_port)
  LP_NODE_PEER_PORT[n]=$(lp_free_port)
  LP_NODE_PID[n]=$(lp_run_agent "node-$n" "${LP_NODE_MIRROR_PORT[n]}" "${LP_NODE_METRICS_PORT[n]}" \
    "${LP_NODE_PEER_PORT[n]}" --Node:Name="node-$n" "${scheduler[@]}" "$@")
}

lp_wait_node_agent() { # n -> returns once agent n is ready
  lp_wait_for "http://127.0.0.1:${LP_NODE_METRICS_PORT[$1]}/readyz" "agent node-$1 (log: $LP_WORK/node-$1.log)"
}

lp_metric_at() { # metrics port, name, [label filter] -> the sum of the matching series there (integer); with no
  #              filter every series of the metric, labelled or not. 0 when none matches.
  local pattern="^$2(\\{[^}]*\\})? "
  [ -z "${3:-}" ] || pattern="^$2\\{[^}]*$3"
  curl -fs --max-time 10 "http://127.0.0.1:$1/metrics" | { grep -E "$pattern" || true; } \
    | awk '{s+=$NF} END {printf "%.0f", s+0}'
}

lp_metric() { # name, label filter -> the sum of the agent's matching series (integer)
  lp_metric_at "$LP_METRICS_PORT" "$1" "$2"
}

lp_cpu_seconds() { # pid -> utime + stime of the process (all threads) in seconds
  local stat ticks
  stat=$(cat "/proc/$1/stat") || lp_die "process $1 is gone"
  stat=${stat##*) }
  ticks=$(getconf CLK_TCK)
  echo "$stat" | awk -v t="$ticks" '{printf "%.2f", ($12 + $13) / t}'
}

lp_sys_cpu_seconds() { # pid -> stime alone (kernel time: page cache, sockets, context switches) in seconds
  local stat ticks
  stat=$(cat "/proc/$1/stat") || lp_die "process $1 is gone"
  stat=${stat##*) }
  ticks=$(getconf CLK_TCK)
  echo "$stat" | awk -v t="$ticks" '{printf "%.2f", $13 / t}'
}

# --- pulls -----------------------------------------------------------------------------------------
lp_hosts_for() { # dir, mirror -> a containerd hosts dir for LP_ORIGIN; mirror: "no" (straight to the origin),
  #                "yes" (the agent at LP_MIRROR_PORT) or the mirror port of another agent
  local port=$2
  [ "$port" != yes ] || port=$LP_MIRROR_PORT
  mkdir -p "$1/$LP_ORIGIN"
  {
    echo "server = \"http://$LP_ORIGIN\""
    if [ "$port" != no ]; then
      echo
      echo "[host.\"http://127.0.0.1:$port\"]"
      echo "  capabilities = [\"pull\", \"resolve\"]"
    fi
  } >"$1/$LP_ORIGIN/hosts.toml"
}

lp_containerd_config() { # dir -> writes $dir/config.toml: root, state and sockets in dir, no CRI, no metrics
  local dir="$1"
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
}

lp_containerd_start() { # name -> starts a fresh containerd with its root, state and sockets in $LP_WORK/ctd-<name>
  local dir="$LP_WORK/ctd-$1" ctd
  mkdir -p "$dir"
  lp_containerd_config "$dir"
  containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
  ctd=$!
  lp_track "$ctd"
  echo "$ctd" >"$dir/pid"
  for _ in $(seq 1 100); do
    if timeout 5 ctr --address "$dir/c.sock" version >/dev/null 2>&1; then return; fi
    sleep 0.1
  done
  lp_die "containerd $1 did not come up (log: $dir/containerd.log)"
}

lp_containerd_pull() { # name, mirror (as lp_hosts_for), image reference -> prints the seconds `ctr images pull`
  #                      took on the started containerd <name>; on failure shows its output and fails
  local dir="$LP_WORK/ctd-$1" start end
  lp_hosts_for "$dir/hosts" "$2"
  start=$(lp_now)
  if ! timeout 300 ctr --address "$dir/c.sock" images pull --plain-http --snapshotter native \
    --hosts-dir "$dir/hosts" "$3" >"$dir/pull.log" 2>&1; then
    cat "$dir/pull.log" >&2
    lp_die "pull $1 of $3 failed"
  fi
  end=$(lp_now)
  echo "$end - $start" | bc
}

lp_containerd_stop() { # name -> stops containerd <name>; LP_PULL_KEEP_ROOT=0 deletes its dir afterwards
  local dir="$LP_WORK/ctd-$1"
  lp_stop "$(cat "$dir/pid")"
  if [ "${LP_PULL_KEEP_ROOT:-1}" = 0 ]; then
    grep -o " $dir[^ ]*" /proc/self/mounts 2>/dev/null | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$dir"
  fi
}

lp_pull() { # name, mirror (as lp_hosts_for), image reference -> prints the seconds `ctr images pull` took
  #           into a fresh containerd root at $LP_WORK/ctd-<name>; LP_PULL_KEEP_ROOT=0 deletes it afterwards
  local seconds
  lp_containerd_start "$1"
  if ! seconds=$(lp_containerd_pull "$@"); then
    lp_containerd_stop "$1"
    lp_die "pull $1 of $3 failed"
  fi
  lp_containerd_stop "$1"
  echo "$seconds"
}

lp_get() { # url -> "seconds bytes" of one curl GET to /dev/null; fails unless it answered 200
  local out
  out=$(curl -s --max-time 300 -o /dev/null -w '%{http_code} %{time_total} %{size_download}' "$1") \
    || lp_die "GET $1 failed"
  [ "${out%% *}" = 200 ] || lp_die "GET $1 answered ${out%% *}"
  echo "${out#* }"
}
