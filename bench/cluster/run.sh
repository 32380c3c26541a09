#!/usr/bin/env bash
# A cluster of N hosts on this machine, each in its own network namespace behind a shaped link (bench/cluster/net.sh):
# a real origin (Debian's docker-registry), the scheduler, and one agent per host with mutual TLS and zones on. Every
# host pulls one image (manifest and every blob, sha256 checked) with curl through its own agent (or, with --containerd,
# with its own containerd), then straight from the origin over the same links, all at once and/or in waves. Prints a
# table and one JSON line (bench/README.md).
#
#   sudo bash bench/cluster/run.sh                       # defaults: 16 hosts, 3 zones, 64 MiB in 4 layers
#   sudo bash bench/cluster/run.sh --mode both           # all at once, then in waves of 25 %
#   sudo bash bench/cluster/run.sh --smoke               # 3 hosts, 2 MiB in 2 layers; fails on any wrong byte
#   sudo bash bench/cluster/run.sh --cleanup             # removes what a killed run left behind
#
# Traffic stays inside namespaces made here, on 198.18.0.0/15 with no default route; the agents' mirrors and metrics
# listen on each namespace's own loopback. Everything is removed on exit, failure, Ctrl-C and kill (TERM). Bounded:
# sizes and counts are range-checked, every wait has a deadline, and the whole run stops after --timeout seconds.
set -euo pipefail
caller_dir=$PWD # --times-out FILE is relative to where the run was started
cd "$(dirname "$0")/../.."
here=bench/cluster
# shellcheck source=../../scripts/lib/local-pull.sh
source scripts/lib/local-pull.sh
# shellcheck source=net.sh
source "$here/net.sh"
LP_NAME=bench/cluster

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'TEXT'
Options (defaults in brackets; --smoke changes those marked *):
  --nodes N                 hosts, 2-64 [16; *3]
  --zones Z                 zones, hosts spread round-robin, 1-8 [3; *2]
  --node-mbit B             each host's upload and download rate, Mbit/s, 1-10000 [50]
  --origin-mbit Bo          the origin's rate, Mbit/s, 1-10000 [4 x node]
  --latency-ms L            round trip inside a zone (and to origin and scheduler), 0-500; needs sch_netem [0]
  --cross-zone-latency-ms X extra round trip between zones, 0-500; needs sch_netem [0]
  --image-mib M             image size, random bytes, 1-1024 [64; *2]
  --layers K                layers, 1-16 [4; *2]
  --mode all|waves|both     all hosts at once, waves (a rolling update), or both [all]
  --wave-percent P          hosts per wave, percent, 1-100 [25]
  --timeout S               stop (and clean up) after S seconds, 30-3600 [900; *180]
  --agent-arg --Key=Value   extra agent configuration (repeatable), e.g. --agent-arg --Peer:PieceTimeout=00:00:30
  --scheduler-arg --Key=V   extra scheduler configuration (repeatable)
  --containerd              hosts pull with real containerd (ctr pull, unpacked) instead of curl; up to 8 hosts
  --smoke                   the CI run: small defaults; non-zero exit on any failure (as always)
  --no-build                use the built Release binaries as they are
  --keep                    keep the work dir (logs) after the run
  --times-out FILE          also write every host's completion time, one line each: <run> <p2p|direct> <seconds>
  --cleanup                 remove namespaces and work dirs of runs that are no longer alive, then exit
TEXT
}

# --- options ---------------------------------------------------------------------------------------------
nodes='' zones='' node_mbit='' origin_mbit='' latency='' cross='' image_mib='' layers='' mode=all wave_pct=25
timeout_s='' smoke=0 build=1 keep=0 cleanup_only=0 containerd=0 times_out=''
agent_extra=() scheduler_extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --nodes) nodes=${2:-} && shift ;;
    --zones) zones=${2:-} && shift ;;
    --node-mbit) node_mbit=${2:-} && shift ;;
    --origin-mbit) origin_mbit=${2:-} && shift ;;
    --latency-ms) latency=${2:-} && shift ;;
    --cross-zone-latency-ms) cross=${2:-} && shift ;;
    --image-mib) image_mib=${2:-} && shift ;;
    --layers) layers=${2:-} && shift ;;
    --mode) mode=${2:-} && shift ;;
    --wave-percent) wave_pct=${2:-} && shift ;;
    --timeout) timeout_s=${2:-} && shift ;;
    --agent-arg) agent_extra+=("${2:-}") && shift ;;
    --scheduler-arg) scheduler_extra+=("${2:-}") && shift ;;
    --smoke) smoke=1 ;;
    --containerd) containerd=1 ;;
    --no-build) build=0 ;;
    --keep) keep=1 ;;
    --times-out) times_out=${2:-} && shift ;;
    --cleanup) cleanup_only=1 ;;
    -h | --help) usage && exit 0 ;;
    *) echo "bench/cluster: unknown argument '$1' (see --help)" >&2 && exit 2 ;;
  esac
  shift
done
if [ "$smoke" = 1 ]; then
  : "${nodes:=3}" "${zones:=2}" "${image_mib:=2}" "${layers:=2}" "${timeout_s:=180}"
fi
: "${nodes:=16}" "${zones:=3}" "${node_mbit:=50}" "${image_mib:=64}" "${layers:=4}" "${timeout_s:=900}"
: "${origin_mbit:=$((4 * node_mbit))}" "${latency:=0}" "${cross:=0}"
check_range() { # name value min max
  [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] \
    || { echo "bench/cluster: $1 must be a whole number from $3 to $4 (got '$2')" >&2 && exit 2; }
}
check_range --nodes "$nodes" 2 64
check_range --zones "$zones" 1 8
check_range --node-mbit "$node_mbit" 1 10000
check_range --origin-mbit "$origin_mbit" 1 10000
check_range --latency-ms "$latency" 0 500
check_range --cross-zone-latency-ms "$cross" 0 500
check_range --image-mib "$image_mib" 1 1024
check_range --layers "$layers" 1 16
check_range --wave-percent "$wave_pct" 1 100
check_range --timeout "$timeout_s" 30 3600
case $mode in all | waves | both) ;; *) echo "bench/cluster: --mode must be all, waves or both" >&2 && exit 2 ;; esac
[ "$containerd" = 0 ] || [ "$nodes" -le 8 ] || { echo "bench/cluster: --containerd takes at most 8 hosts" >&2 && exit 2; }
if [ -n "$times_out" ]; then
  case $times_out in /*) ;; *) times_out="$caller_dir/$times_out" ;; esac
  # checked (and emptied) before minutes of building and pulling, not after
  : >"$times_out" 2>/dev/null || { echo "bench/cluster: --times-out: cannot write '$times_out'" >&2 && exit 2; }
fi
[ "$(id -u)" = 0 ] || { echo "bench/cluster: needs root (network namespaces, tc)" >&2 && exit 2; }

# --- leftovers of runs that died without cleaning up ------------------------------------------------------
# A run owns the namespaces pcl-<its pid>-* and the dir /tmp/peeragent-cluster.*/ holding its pid in "owner"; both are
# removed once that pid no longer runs this script, never while it does (another developer's run).
run_alive() { # pid -> true while that process is a run of this script
  tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -q 'bench/cluster/run.sh'
}
remove_leftovers() {
  local ns pid dir
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^pcl-[0-9]+-' || true); do
    pid=${ns#pcl-}
    pid=${pid%%-*}
    if [ "$pid" != $$ ] && ! run_alive "$pid"; then
      echo "bench/cluster: removing leftover namespace $ns"
      net_kill_ns "$ns"
    fi
  done
  for dir in /tmp/peeragent-cluster.*; do
    [ -d "$dir" ] || continue
    # a dir without an owner yet may be a run that is just starting (only --cleanup takes it)
    [ "$cleanup_only" = 1 ] || [ -e "$dir/owner" ] || continue
    pid=$(cat "$dir/owner" 2>/dev/null || echo 0)
    [ "$cleanup_only" = 1 ] || [ ! -e "$dir/kept" ] || continue # --keep: until --cleanup
    if [ "$pid" != $$ ] && ! run_alive "$pid"; then
      echo "bench/cluster: removing leftover dir $dir"
      rm -rf "$dir"
    fi
  done
}
remove_leftovers
[ "$cleanup_only" = 0 ] || exit 0

tools=(ip tc curl docker-registry dotnet sha256sum tar awk)
[ "$containerd" = 0 ] || tools+=(containerd ctr)
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null || { echo "bench/cluster: $tool not found (scripts/install-deps.sh)" >&2 && exit 2; }
done

# --- work dir, traps, watchdog ---------------------------------------------------------------------------
NET_PREFIX="pcl-$$"
WORK=$(mktemp -d /tmp/peeragent-cluster.XXXXXX)
echo $$ >"$WORK/owner"
LP_WORK=$WORK
watchdog=''
cleanup() {
  local rc=$? child
  trap - EXIT INT TERM HUP
  if [ -n "$watchdog" ]; then
    for child in $(cat "/proc/$watchdog/task/$watchdog/children" 2>/dev/null || true); do kill "$child" 2>/dev/null || true; done
    kill "$watchdog" 2>/dev/null || true
  fi
  net_teardown "$NET_PREFIX"
  wait 2>/dev/null || true
  if [ "$keep" = 1 ]; then : >"$WORK/kept" && echo "bench/cluster: kept $WORK (removed by --cleanup)" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
(
  sleep "$timeout_s"
  echo "bench/cluster: stopped after --timeout $timeout_s s" >&2
  kill -TERM $$
) &
watchdog=$!

die() { echo "bench/cluster: $*" >&2 && exit 1; }

# --- build, certificates ---------------------------------------------------------------------------------
if [ "$build" = 1 ]; then
  lp_build_agent
  lp_build_scheduler
fi
[ -f "$LP_AGENT_DLL" ] && [ -f "$LP_SCHEDULER_DLL" ] || die "agent or scheduler not built (run without --no-build)"

if [ "$latency" != 0 ] || [ "$cross" != 0 ]; then
  net_has_netem || die "--latency-ms/--cross-zone-latency-ms need the kernel's sch_netem, which this kernel lacks"
fi

certs() { # name ip -> prints the Tls:* arguments for it (CA made once, by the agent's certs command)
  local dir="$WORK/certs"
  if [ ! -f "$dir/ca/ca.key" ]; then
    timeout 60 dotnet "$LP_AGENT_DLL" certs ca --out "$dir/ca" >>"$WORK/certs.log" 2>&1 || die "certs ca failed ($WORK/certs.log)"
  fi
  timeout 60 dotnet "$LP_AGENT_DLL" certs issue --ca "$dir/ca" --name "$1" --ip "$2" --out "$dir/$1" >>"$WORK/certs.log" 2>&1 \
    || die "certs issue $1 failed ($WORK/certs.log)"
}
tls_args() { # name -> the Tls:* arguments for its certificate
  echo "--Tls:CaFile=$WORK/certs/$1/ca.crt --Tls:CertFile=$WORK/certs/$1/tls.crt --Tls:KeyFile=$WORK/certs/$1/tls.key"
}

# --- the network -----------------------------------------------------------------------------------------
one_way_near=$(awk -v l="$latency" 'BEGIN {print l / 2}') # netem takes fractions of a millisecond
one_way_far=$(awk -v l="$latency" -v x="$cross" 'BEGIN {print (l + x) / 2}')
zone_prefix() { echo "198.18.$(($1 + 1)).0/24"; } # zone (0-based) -> its hosts' /24
far_prefixes() { # zone -> the /24s of every other zone
  local z
  for z in $(seq 0 $((zones - 1))); do [ "$z" = "$1" ] || zone_prefix "$z"; done
}
net_switch
net_attach origin "$NET_ORIGIN_IP" "$origin_mbit" "$origin_mbit" "$one_way_near" "$one_way_near"
net_attach sched "$NET_SCHEDULER_IP" 0 0 "$one_way_near" "$one_way_near"
declare -a HOST_IP HOST_ZONE AGENT_PID
for n in $(seq 1 "$nodes"); do
  HOST_ZONE[n]=$(((n - 1) % zones))
  HOST_IP[n]=$(net_host_ip "$n" "$zones")
  # shellcheck disable=SC2046 # the prefixes are words
  net_attach "h$n" "${HOST_IP[n]}" "$node_mbit" "$node_mbit" "$one_way_near" "$one_way_far" $(far_prefixes "${HOST_ZONE[n]}")
done
in_ns() { local name=$1 && shift && ip netns exec "$(net_ns "$name")" "$@"; }

# --- origin, scheduler, agents ---------------------------------------------------------------------------
origin="$NET_ORIGIN_IP:5000"
mkdir -p "$WORK/registry"
cat >"$WORK/registry.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $WORK/registry
http:
  addr: $origin
YAML
ip netns exec "$(net_ns origin)" docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
registry_pid=$!

wait_http() { # namespace name, url, what -> returns once the url answers 2xx (up to 120 s)
  for _ in $(seq 1 600); do
    in_ns "$1" curl -fs --max-time 2 -o /dev/null "$2" && return
    sleep 0.2
  done
  die "$3 did not come up at $2"
}
wait_http origin "http://$origin/v2/" "the origin"

certs scheduler "$NET_SCHEDULER_IP"
for n in $(seq 1 "$nodes"); do certs "h$n" "${HOST_IP[n]}"; done

scheduler_url="https://$NET_SCHEDULER_IP:65004"
# shellcheck disable=SC2046 # tls_args prints words
ip netns exec "$(net_ns sched)" dotnet "$LP_SCHEDULER_DLL" --Scheduler:ListenUrl="$scheduler_url" --Metrics:ListenUrl=http://127.0.0.1:65005 \
  --Kubernetes:Mode=disabled $(tls_args scheduler) "${scheduler_extra[@]}" >"$WORK/scheduler.log" 2>&1 &
scheduler_pid=$!
wait_http sched http://127.0.0.1:65005/readyz "the scheduler"

for n in $(seq 1 "$nodes"); do
  mkdir -p "$WORK/h$n"
  # shellcheck disable=SC2046
  ip netns exec "$(net_ns "h$n")" dotnet "$LP_AGENT_DLL" \
    --Mirror:ListenUrl=http://127.0.0.1:65001 --Metrics:ListenUrl=http://127.0.0.1:65003 \
    --Peer:ListenUrl="https://${HOST_IP[n]}:65002" --Peer:AdvertiseUrl="https://${HOST_IP[n]}:65002" \
    --Scheduler:Address="$scheduler_url" $(tls_args "h$n") \
    --Node:Name="h$n" --Node:Zone="zone-${HOST_ZONE[n]}" --Node:Region=bench \
    --Store:DataDir="$WORK/h$n/store" \
    --Registries:0:Host="$origin" --Registries:0:PlainHttp=true "${agent_extra[@]}" \
    >"$WORK/h$n/agent.log" 2>&1 &
  AGENT_PID[n]=$!
done
for n in $(seq 1 "$nodes"); do wait_http "h$n" http://127.0.0.1:65003/readyz "agent h$n (log $WORK/h$n/agent.log)"; done

# --- images ----------------------------------------------------------------------------------------------
repo=bench/cluster
push_blob() { # file -> uploads it to the origin (from inside the origin's namespace, so unshaped); prints its digest
  local digest location
  digest="sha256:$(sha256sum "$1" | cut -c1-64)"
  location=$(in_ns origin curl -fsS --max-time 30 -X POST -o /dev/null -D - "http://$origin/v2/$repo/blobs/uploads/" \
    | tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
  [ -n "$location" ] || die "no upload location from the origin"
  case $location in /*) location="http://$origin$location" ;; esac
  case $location in *\?*) location="$location&digest=$digest" ;; *) location="$location?digest=$digest" ;; esac
  in_ns origin curl -fsS --max-time 300 -X PUT -H 'Content-Type: application/octet-stream' -T "$1" -o /dev/null "$location" \
    || die "blob upload failed"
  echo "$digest"
}
make_image() { # tag, MiB, layers -> pushes $repo:<tag>: each layer an uncompressed tar of one file of random bytes
  #                                   (a real, unpackable image); sets IMAGE_DIGEST and IMAGE_BYTES (config + layers)
  local tag=$1 bytes=$(($2 * 1048576 / $3)) dir="$WORK/image-$1" i digest size layers_json='' diff_ids=''
  mkdir -p "$dir/rootfs"
  IMAGE_BYTES=0
  for i in $(seq 1 "$3"); do
    head -c "$bytes" /dev/urandom >"$dir/rootfs/layer$i.bin"
    tar -C "$dir/rootfs" -cf "$dir/layer$i.tar" "layer$i.bin"
    rm "$dir/rootfs/layer$i.bin"
    digest=$(push_blob "$dir/layer$i.tar")
    size=$(stat -c %s "$dir/layer$i.tar")
    IMAGE_BYTES=$((IMAGE_BYTES + size))
    layers_json+="${layers_json:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"$digest\",\"size\":$size}"
    diff_ids+="${diff_ids:+,}\"$digest\""
    rm "$dir/layer$i.tar"
  done
  printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' "$diff_ids" >"$dir/config.json"
  digest=$(push_blob "$dir/config.json")
  size=$(stat -c %s "$dir/config.json")
  IMAGE_BYTES=$((IMAGE_BYTES + size))
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
    "$digest" "$size" "$layers_json" >"$dir/manifest.json"
  IMAGE_DIGEST="sha256:$(sha256sum "$dir/manifest.json" | cut -c1-64)"
  in_ns origin curl -fsS --max-time 30 -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$dir/manifest.json" -o /dev/null "http://$origin/v2/$repo/manifests/$tag" || die "manifest upload failed"
  rm -rf "$dir"
}

# --- measuring -------------------------------------------------------------------------------------------
ticks=$(getconf CLK_TCK)
proc_ticks() { # pid -> utime + stime in ticks (all threads)
  local stat
  stat=$(cat "/proc/$1/stat") || die "process $1 is gone (see the logs in $WORK with --keep)"
  stat=${stat##*) }
  echo "$stat" | awk '{print $12 + $13}'
}
origin_log_bytes() { # -> body bytes of successful blob GETs in the origin's access log so far
  { grep -E '"GET /v2/[^ ]+/blobs/[^ ]+ HTTP/[0-9.]+" 20[06] ' "$WORK/registry.log" || true; } \
    | sed -E 's/.*" 20[06] ([0-9]+) .*/\1/' | awk '{s += $1} END {printf "%.0f", s + 0}'
}
snapshot() { # label -> $WORK/snap-<label>: key value lines (counters summed over the agents, CPU, origin bytes)
  local f="$WORK/snap-$1" n
  {
    for n in $(seq 1 "$nodes"); do
      in_ns "h$n" curl -fs --max-time 10 http://127.0.0.1:65003/metrics \
        | awk -v n="$n" '
            /^peeragent_peer_received_bytes_total\{/ {match($0, /locality="[a-z]*"/); print "recv_" substr($0, RSTART + 10, RLENGTH - 11), $NF}
            /^peeragent_peer_uploaded_bytes_total/ {print "uploaded", $NF; print "up_h" n, $NF}
            /^peeragent_upstream_received_bytes_total\{.*kind="blob"/ {print "upstream", $NF}' \
        || die "metrics of agent h$n unreadable"
      echo "cpu_h$n $(proc_ticks "${AGENT_PID[n]}")"
    done
    echo "cpu_origin $(proc_ticks "$registry_pid")"
    echo "cpu_sched $(proc_ticks "$scheduler_pid")"
    echo "origin_log $(origin_log_bytes)"
    echo "origin_ctd_gets $({ grep -E '"GET /v2/[^ ]+/blobs/[^ ]+ HTTP/[0-9.]+" [0-9]+ [0-9]+ "[^"]*" "containerd/' "$WORK/registry.log" || true; } | wc -l)"
    echo "origin_wire $(net_tx_bytes origin)"
    awk '/^cpu / {print "machine_total", $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; print "machine_idle", $5 + $6}' /proc/stat
    echo "time $EPOCHREALTIME"
  } | awk '{s[$1] += $2} END {for (k in s) printf "%s %.6f\n", k, s[k]}' >"$f"
}
delta() { # key, before label, after label -> after - before
  awk -v k="$1" 'FNR == 1 {f++} $1 == k {v[f] = $2} END {printf "%.6f", v[2] - v[1]}' "$WORK/snap-$2" "$WORK/snap-$3"
}
settle_origin_log() { # -> returns once the origin's access log has stopped growing (it logs a request when it ends)
  local before after
  for _ in $(seq 1 25); do
    before=$(origin_log_bytes)
    sleep 0.2
    after=$(origin_log_bytes)
    [ "$before" != "$after" ] || return 0
  done
}

max_get_s=$((60 + 4 * nodes * image_mib * 8 * 1048576 / (node_mbit < origin_mbit ? node_mbit : origin_mbit) / 1000000))
# --containerd: one containerd per host and pass (a fresh root, so the direct pass finds nothing cached), in the
# host's namespace; `ctr images pull` runs there too, since the client process does the fetching.
declare -a CTD_PID
ctd_start_all() { # label -> containerd for every host, each in $WORK/h<n>/ctd-<label>, ready
  local n dir
  for n in $(seq 1 "$nodes"); do
    dir="$WORK/h$n/ctd-$1"
    mkdir -p "$dir/hosts/$origin"
    lp_containerd_config "$dir"
    ip netns exec "$(net_ns "h$n")" containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
    CTD_PID[n]=$!
  done
  for n in $(seq 1 "$nodes"); do
    dir="$WORK/h$n/ctd-$1"
    for _ in $(seq 1 300); do
      timeout 5 ctr --address "$dir/c.sock" version >/dev/null 2>&1 && continue 2
      sleep 0.1
    done
    die "containerd of h$n did not come up ($dir/containerd.log)"
  done
}
ctd_hosts() { # label, kind -> the hosts dir for that pass: the agent's mirror first (p2p), or the origin alone
  local n dir
  for n in $(seq 1 "$nodes"); do
    dir="$WORK/h$n/ctd-$1/hosts-$2"
    mkdir -p "$dir/$origin"
    {
      echo "server = \"http://$origin\""
      [ "$2" = direct ] || printf '\n[host."http://127.0.0.1:65001"]\n  capabilities = ["pull", "resolve"]\n'
    } >"$dir/$origin/hosts.toml"
  done
}
ctd_stop_all() { # label -> stops every containerd of that pass and removes its root
  local n dir
  for n in $(seq 1 "$nodes"); do kill "${CTD_PID[n]}" 2>/dev/null || true; done
  for n in $(seq 1 "$nodes"); do
    for _ in $(seq 1 100); do
      kill -0 "${CTD_PID[n]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "${CTD_PID[n]}" 2>/dev/null || true
    wait "${CTD_PID[n]}" 2>/dev/null || true
    dir="$WORK/h$n/ctd-$1"
    grep -o " $dir[^ ]*" /proc/self/mounts 2>/dev/null | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$dir/root" "$dir/state"
  done
}

pull() { # label, kind (p2p|direct), wave size, tag, manifest digest -> every host pulls; results in $WORK/res-<label>-h<n>
  local label=$1 kind=$2 wave=$3 tag=$4 digest=$5 first n go pids base query
  for first in $(seq 1 "$wave" "$nodes"); do
    go="$WORK/go-$label-$first"
    pids=()
    for n in $(seq "$first" $((first + wave - 1 < nodes ? first + wave - 1 : nodes))); do
      if [ "$containerd" = 1 ] && [ "$label" != warmup ]; then
        ip netns exec "$(net_ns "h$n")" bash "$here/pull-containerd.sh" "$WORK/res-$label-h$n" "$go" \
          "$WORK/h$n/ctd-$label/c.sock" "$WORK/h$n/ctd-$label/hosts-$kind" "$origin/$repo:$tag" "$digest" "$max_get_s" &
      else
        if [ "$kind" = p2p ]; then base=http://127.0.0.1:65001 query="?ns=$origin"; else base="http://$origin" query=''; fi
        ip netns exec "$(net_ns "h$n")" bash "$here/fetch.sh" "$WORK/res-$label-h$n" "$go" "$base" "$query" "$repo" "$tag" "$digest" "$max_get_s" &
      fi
      pids+=($!)
    done
    : >"$go"
    for n in "${pids[@]}"; do wait "$n" || true; done
  done
}
summarize() { # label -> key value lines: completion percentiles, rollout, failures (nearest-rank percentiles)
  local n
  for n in $(seq 1 "$nodes"); do
    cat "$WORK/res-$1-h$n" 2>/dev/null || echo "fail 0 0 no result"
  done | awk '
    $1 == "ok" {t[++k] = $3 - $2; if (!s0 || $2 < s0) s0 = $2; if ($3 > e1) e1 = $3; next}
    {fails++; print "failure " $0 > "/dev/stderr"}
    END {
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (t[j] < t[i]) {x = t[i]; t[i] = t[j]; t[j] = x}
      r50 = int(0.5 * k); if (r50 < 0.5 * k) r50++; r99 = int(0.99 * k); if (r99 < 0.99 * k) r99++
      printf "p50 %.3f\np99 %.3f\nmax %.3f\nrollout %.3f\nfailures %d\n", t[r50], t[r99], t[k], e1 - s0, fails + 0
    }'
}

# --- the runs --------------------------------------------------------------------------------------------
echo "== bench/cluster: $nodes hosts in $zones zones, hosts $node_mbit Mbit/s, origin $origin_mbit Mbit/s," \
  "RTT ${latency} ms (+${cross} ms across zones), mutual TLS, $([ "$containerd" = 1 ] && echo "containerd pulls" || echo "curl pulls"), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$latency" != 0 ] || [ "$cross" != 0 ] || echo "   no latency modelled (link RTT is the veth's, tens of microseconds)"

# Warm-up: a small image through every agent, so that start-up and first-use work is not timed.
make_image warmup 1 1
pull warmup p2p "$nodes" warmup "$IMAGE_DIGEST"
warm_fail=$(summarize warmup 2>&1 >/dev/null | head -3 || true)
[ -z "$warm_fail" ] || die "warm-up failed: $warm_fail"

failures=0
declare -A R
measure() { # run (all|waves) -> R[<run>_<kind>_<key>] for p2p and direct, one fresh image for both
  local run=$1 wave kind key value
  wave=$nodes
  [ "$run" = all ] || wave=$(((nodes * wave_pct + 99) / 100))
  R[${run}_wave]=$wave
  make_image "$run" "$image_mib" "$layers"
  R[image_bytes]=$IMAGE_BYTES
  for kind in p2p direct; do
    if [ "$containerd" = 1 ]; then
      ctd_start_all "$run-$kind"
      ctd_hosts "$run-$kind" "$kind"
    fi
    snapshot "$run-$kind-0"
    pull "$run-$kind" "$kind" "$wave" "$run" "$IMAGE_DIGEST"
    settle_origin_log
    snapshot "$run-$kind-1"
    [ "$containerd" = 0 ] || ctd_stop_all "$run-$kind"
    while read -r key value; do R[${run}_${kind}_$key]=$value; done < <(summarize "$run-$kind")
    failures=$((failures + R[${run}_${kind}_failures]))
    for key in origin_log origin_ctd_gets origin_wire uploaded upstream recv_zone recv_region recv_remote recv_unknown cpu_origin cpu_sched \
      machine_total machine_idle time; do
      R[${run}_${kind}_$key]=$(delta "$key" "$run-$kind-0" "$run-$kind-1")
    done
    R[${run}_${kind}_cpu_hosts]=$(for n in $(seq 1 "$nodes"); do delta "cpu_h$n" "$run-$kind-0" "$run-$kind-1"; echo; done \
      | awk -v t="$ticks" '{s += $1; if ($1 > m) m = $1} END {printf "%.3f %.3f", s / NR / t, m / t}')
    R[${run}_${kind}_up_max]=$(for n in $(seq 1 "$nodes"); do delta "up_h$n" "$run-$kind-0" "$run-$kind-1"; echo; done \
      | awk '$1 > m {m = $1} END {printf "%.0f", m}')
    R[${run}_${kind}_cpu_ours]=$(awk -v h="${R[${run}_${kind}_cpu_hosts]}" -v o="${R[${run}_${kind}_cpu_origin]}" \
      -v s="${R[${run}_${kind}_cpu_sched]}" -v n="$nodes" -v t="$ticks" 'BEGIN {split(h, a, " "); printf "%.3f", a[1] * n + (o + s) / t}')
  done
}
runs=()
case $mode in all) runs=(all) ;; waves) runs=(waves) ;; both) runs=(all waves) ;; esac
for run in "${runs[@]}"; do measure "$run"; done
if [ -n "$times_out" ]; then
  # per host, start to last verified byte, as summarize() computes them; failed hosts have none (the JSON counts them)
  for run in "${runs[@]}"; do
    for kind in p2p direct; do
      for n in $(seq 1 "$nodes"); do cat "$WORK/res-$run-$kind-h$n" 2>/dev/null || true; done \
        | awk -v run="$run" -v kind="$kind" '$1 == "ok" {printf "%s %s %.3f\n", run, kind, $3 - $2}' | sort -k3,3n
    done
  done >"$times_out"
fi

# --- report ----------------------------------------------------------------------------------------------
report() { # run -> the table rows and the JSON fields of one run, computed by awk from R
  local run=$1 kind key
  for kind in p2p direct; do
    for key in p50 p99 max rollout failures origin_log origin_wire uploaded upstream recv_zone recv_region recv_remote \
      recv_unknown cpu_origin cpu_sched machine_total machine_idle time cpu_hosts cpu_ours up_max origin_ctd_gets; do
      echo "${kind}_$key ${R[${run}_${kind}_$key]}"
    done
  done
  echo "image ${R[image_bytes]}"
  echo "wave ${R[${run}_wave]}"
}
render() { # run, table|json
  report "$1" | awk -v run="$1" -v out="$2" -v ctd="$containerd" -v nodes="$nodes" -v mbit="$node_mbit" -v t="$ticks" -v cores="$(nproc)" '
    {v[$1] = $2; if ($3 != "") w[$1] = $3}
    END {
      img = v["image"]; ideal = img * 8 / (mbit * 1e6)
      for (k in v) if (k ~ /^(p2p|direct)_machine_total$/) {
        kind = substr(k, 1, index(k, "_") - 1)
        busy[kind] = 1 - v[kind "_machine_idle"] / v[k]
      }
      cross = v["p2p_recv_region"] + v["p2p_recv_remote"] + v["p2p_recv_unknown"]
      if (out == "table") {
        printf "-- %s: %s; image %d B; ideal = image / node rate = %.2f s\n", run, (run == "all" ? "every host at once" : "waves of " v["wave"] " hosts, each after the last finished"), img, ideal
        printf "%-38s %14s %14s\n", "", "P2P (agents)", "direct (origin)"
        printf "%-38s %14.2f %14.2f\n", "completion p50, s", v["p2p_p50"], v["direct_p50"]
        printf "%-38s %14.2f %14.2f\n", "completion p99, s", v["p2p_p99"], v["direct_p99"]
        printf "%-38s %14.2f %14.2f\n", "completion max, s", v["p2p_max"], v["direct_max"]
        printf "%-38s %14.2f %14.2f\n", "p50 / ideal", v["p2p_p50"] / ideal, v["direct_p50"] / ideal
        printf "%-38s %14.2f %14.2f\n", "p99 / ideal", v["p2p_p99"] / ideal, v["direct_p99"] / ideal
        printf "%-38s %14.2f %14.2f\n", "max / ideal", v["p2p_max"] / ideal, v["direct_max"] / ideal
        if (run == "waves") printf "%-38s %14.2f %14.2f\n", "rollout (first start to last end), s", v["p2p_rollout"], v["direct_rollout"]
        printf "%-38s %14.2f %14.2f\n", "origin bytes / image (access log)", v["p2p_origin_log"] / img, v["direct_origin_log"] / img
        printf "%-38s %14.2f %14.2f\n", "origin wire bytes / image (veth tx)", v["p2p_origin_wire"] / img, v["direct_origin_wire"] / img
        printf "%-38s %14.2f %14s\n", "agents: read from origin / image", v["p2p_upstream"] / img, "-"
        printf "%-38s %14.2f %14s\n", "agents: peer bytes / image", (v["p2p_recv_zone"] + cross) / img, "-"
        printf "%-38s %14.2f %14s\n", "agents: cross-zone peer bytes / image", cross / img, "-"
        printf "%-38s %14.2f %14s\n", "agents: busiest uploader / image", v["p2p_up_max"] / img, "-"
        printf "%-38s %14s %14s\n", "agent CPU s per host, mean / max", sprintf("%.2f / %.2f", v["p2p_cpu_hosts"], w["p2p_cpu_hosts"]), sprintf("%.2f / %.2f", v["direct_cpu_hosts"], w["direct_cpu_hosts"])
        printf "%-38s %14.2f %14.2f\n", "origin registry CPU s", v["p2p_cpu_origin"] / t, v["direct_cpu_origin"] / t
        printf "%-38s %14.2f %14s\n", "scheduler CPU s", v["p2p_cpu_sched"] / t, "-"
        printf "%-38s %14.0f %14.0f\n", "agents+origin+scheduler CPU, % of all", 100 * v["p2p_cpu_ours"] / v["p2p_time"] / cores, 100 * v["direct_cpu_ours"] / v["direct_time"] / cores
        printf "%-38s %14.0f %14.0f\n", "machine CPU busy, % of all cores", 100 * busy["p2p"], 100 * busy["direct"]
        if (ctd == 1) printf "%-38s %14d %14s\n", "containerd blob GETs past the agent", v["p2p_origin_ctd_gets"], "-"
        printf "%-38s %14d %14d\n", "failed hosts", v["p2p_failures"], v["direct_failures"]
      } else {
        s = sprintf("\"p50_s\":%.3f,\"p99_s\":%.3f,\"max_s\":%.3f,\"ideal_s\":%.3f,\"p50_over_ideal\":%.3f,\"p99_over_ideal\":%.3f,\"max_over_ideal\":%.3f", v["p2p_p50"], v["p2p_p99"], v["p2p_max"], ideal, v["p2p_p50"] / ideal, v["p2p_p99"] / ideal, v["p2p_max"] / ideal)
        s = s sprintf(",\"direct_p50_s\":%.3f,\"direct_p99_s\":%.3f,\"direct_max_s\":%.3f,\"speedup_p50\":%.3f,\"speedup_p99\":%.3f", v["direct_p50"], v["direct_p99"], v["direct_max"], v["direct_p50"] / v["p2p_p50"], v["direct_p99"] / v["p2p_p99"])
        if (run == "waves") s = s sprintf(",\"wave_hosts\":%d,\"rollout_s\":%.3f,\"direct_rollout_s\":%.3f", v["wave"], v["p2p_rollout"], v["direct_rollout"])
        s = s sprintf(",\"origin_bytes\":%.0f,\"origin_over_image\":%.3f,\"origin_wire_over_image\":%.3f,\"direct_origin_over_image\":%.3f", v["p2p_origin_log"], v["p2p_origin_log"] / img, v["p2p_origin_wire"] / img, v["direct_origin_log"] / img)
        s = s sprintf(",\"peer_bytes\":%.0f,\"cross_zone_bytes\":%.0f,\"cross_zone_over_image\":%.3f,\"max_host_upload_over_image\":%.3f", v["p2p_recv_zone"] + cross, cross, cross / img, v["p2p_up_max"] / img)
        s = s sprintf(",\"agent_cpu_s_per_host\":%.3f,\"agent_cpu_s_per_host_max\":%.3f,\"scheduler_cpu_s\":%.3f,\"machine_cpu_busy\":%.3f,\"cpu_limited\":%s,\"direct_machine_cpu_busy\":%.3f", v["p2p_cpu_hosts"], w["p2p_cpu_hosts"], v["p2p_cpu_sched"] / t, busy["p2p"], (busy["p2p"] > 0.9 ? "true" : "false"), busy["direct"])
        s = s sprintf(",\"ours_cpu_share\":%.3f", v["p2p_cpu_ours"] / v["p2p_time"] / cores)
        if (ctd == 1) s = s sprintf(",\"containerd_blob_gets_past_agent\":%d", v["p2p_origin_ctd_gets"])
        s = s sprintf(",\"failures\":%d", v["p2p_failures"] + v["direct_failures"])
        print s
      }
    }'
}
for run in "${runs[@]}"; do render "$run" table; done
json="{\"nodes\":$nodes,\"zones\":$zones,\"node_mbit\":$node_mbit,\"origin_mbit\":$origin_mbit,\"latency_ms\":$latency"
json+=",\"cross_zone_latency_ms\":$cross,\"image_bytes\":${R[image_bytes]},\"layers\":$layers,\"cores\":$(nproc)"
json+=",\"clients\":\"$([ "$containerd" = 1 ] && echo containerd || echo curl)\",\"origin_counted_by\":\"access log\",\"mode\":\"${runs[0]}\",$(render "${runs[0]}" json)"
[ "${#runs[@]}" = 1 ] || json+=",\"waves\":{$(render waves json)}"
echo "$json}"
[ "$failures" = 0 ] || die "$failures host pulls failed or delivered wrong bytes (see above)"
