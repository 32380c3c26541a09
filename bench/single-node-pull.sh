#!/usr/bin/env bash
# Single-node pull benchmark: the agent as containerd's mirror against a local origin (docker-registry),
# compared with pulling straight from the origin. For each round, with a freshly generated image and blob:
#   containerd pulls (each into a fresh containerd root): direct from the origin, through the agent with the
#     image not cached (cold), through the agent again (warm);
#   curl GETs of one blob as large as the round's largest layer: from the origin, through the agent cold,
#     through the agent warm (a separate blob, so that the cold GET really is a miss).
# Every cold operation is checked to have fetched its bytes from upstream and every warm one to have fetched
# none (agent metric peeragent_upstream_received_bytes_total, and the origin's access log).
#
# Environment:
#   BENCH_ROUNDS=3            rounds (1-10)
#   BENCH_LAYER_MIB="16 64 128"  layer sizes of each round's image, MiB (random, so incompressible)
#   BENCH_TIMEOUT=900         the whole run is stopped after this many seconds
# Needs root (containerd). Everything listens on 127.0.0.1 and is stopped on exit, also on failure.
# Output: a table per round, the medians, and as the last line one JSON object with the medians.
# Exit status 1 if a cold operation was not a miss or a warm one not a hit. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../scripts/lib/local-pull.sh
source scripts/lib/local-pull.sh
LP_NAME=single-node-pull.sh

if [ "$(id -u)" -ne 0 ]; then
  lp_die "containerd needs root; run as root or with sudo"
fi

rounds=${BENCH_ROUNDS:-3}
layer_mib=${BENCH_LAYER_MIB:-"16 64 128"}
time_limit=${BENCH_TIMEOUT:-900}
[[ $rounds =~ ^[0-9]+$ ]] && [ "$rounds" -ge 1 ] && [ "$rounds" -le 10 ] || lp_die "BENCH_ROUNDS must be 1-10"
[[ $time_limit =~ ^[0-9]+$ ]] && [ "$time_limit" -ge 10 ] || lp_die "BENCH_TIMEOUT must be >= 10 seconds"
largest=0
for mib in $layer_mib; do
  [[ $mib =~ ^[0-9]+$ ]] && [ "$mib" -ge 1 ] && [ "$mib" -le 2048 ] || lp_die "BENCH_LAYER_MIB: sizes are 1-2048 MiB"
  if [ "$mib" -gt "$largest" ]; then largest=$mib; fi
done
[ "$largest" -gt 0 ] || lp_die "BENCH_LAYER_MIB is empty"

bash scripts/install-deps.sh >/dev/null
echo "== building the agent (Release)"
lp_build_agent

lp_init single-node-pull.sh peeragent-bench
LP_REPO_PREFIX=bench
export LP_PULL_KEEP_ROOT=0 # each containerd root is deleted after its pull, to bound disk use

# Watchdog: stops the whole run after time_limit seconds (the exit trap then stops everything it started).
main_pid=$$
(
  trap 'kill "$s" 2>/dev/null; exit 0' TERM
  sleep "$time_limit" &
  s=$!
  wait "$s"
  echo "$LP_NAME: stopped after $time_limit s (BENCH_TIMEOUT)" >&2
  kill -TERM "$main_pid"
) &
lp_track $!

lp_start_origin
echo "== origin registry at $LP_ORIGIN"
lp_start_agent
agent_pid=$LP_AGENT_PID
echo "== agent (pid $agent_pid) mirror at http://127.0.0.1:$LP_MIRROR_PORT, metrics at :$LP_METRICS_PORT"
clk_tck=$(getconf CLK_TCK)
echo "== rounds: $rounds; layers: $layer_mib MiB; GET blob: $largest MiB; CPU clock ticks: $clk_tck/s"

# --- helpers ---------------------------------------------------------------------------------------
calc() { awk "BEGIN {printf \"%.${2:-3}f\", $1}"; }
div() { # a, b, decimals -> a / b, or "null" when b is 0
  awk -v a="$1" -v b="$2" -v d="${3:-3}" 'BEGIN {if (b + 0 == 0) print "null"; else printf "%.*f\n", d, a / b}'
}
median() { # values... (ignores "null")
  printf '%s\n' "$@" | grep -v '^null$' | sort -g \
    | awk '{a[NR] = $1} END {if (NR == 0) print "null"; else if (NR % 2) printf "%.3f\n", a[(NR + 1) / 2];
             else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
median_int() { median "$@" | awk '{if ($1 == "null") print; else printf "%.0f\n", $1}'; }
upstream_bytes() { lp_metric peeragent_upstream_received_bytes_total 'kind="blob"'; }
blob_url_origin() { echo "http://$LP_ORIGIN/v2/$1/blobs/$2"; }
blob_url_agent() { echo "http://127.0.0.1:$LP_MIRROR_PORT/v2/$1/blobs/$2?ns=$LP_ORIGIN"; }
push_random_blob() { # repository, MiB -> digest
  local file="$LP_WORK/blob.bin" digest
  head -c $(($2 * 1024 * 1024)) /dev/urandom >"$file"
  digest=$(lp_push_blob "$1" "$file")
  rm -f "$file"
  echo "$digest"
}

problems=()
check() { # description, actual, expected
  if [ "$2" != "$3" ]; then problems+=("$1: $2 bytes, expected $3"); fi
}

# measure <kind> <command...>: runs one timed operation (the command prints its seconds first) and sets
#   M_SECONDS, M_ORIGIN (origin blob bytes, access log), M_UPSTREAM (agent upstream blob bytes), M_CPU (agent
#   CPU seconds, utime+stime, read before the operation and 0.5 s after it so that trailing work counts).
measure() {
  local origin0 up0 cpu0 out
  origin0=$(lp_origin_blob_bytes)
  up0=$(upstream_bytes)
  cpu0=$(lp_cpu_seconds "$agent_pid")
  out=$("$@")
  sleep 0.5
  M_SECONDS=${out%% *}
  M_CPU=$(calc "$(lp_cpu_seconds "$agent_pid") - $cpu0" 2)
  M_UPSTREAM=$(($(upstream_bytes) - up0))
  M_ORIGIN=$(($(lp_origin_blob_bytes) - origin0))
}

# --- warm-up: JIT the miss and hit paths of both containerd pulls and plain GETs -------------------------
lp_build_image warmup "1 2"
lp_pull warmup-cold yes "$LP_ORIGIN/bench/warmup:v1" >/dev/null
lp_pull warmup-warm yes "$LP_ORIGIN/bench/warmup:v1" >/dev/null
warm_digest=$(push_random_blob bench/warmup-blob 4)
lp_get "$(blob_url_agent bench/warmup-blob "$warm_digest")" >/dev/null
lp_get "$(blob_url_agent bench/warmup-blob "$warm_digest")" >/dev/null
echo "== agent warmed up (small image pulled cold and warm, small blob GET cold and warm)"
sleep 1
idle0=$(lp_cpu_seconds "$agent_pid")
sleep 3
idle_cpu=$(calc "($(lp_cpu_seconds "$agent_pid") - $idle0) / 3" 3)
echo "== agent idle CPU: $idle_cpu s per s (included in the CPU figures below; each CPU window spans the"
echo "   operation, the containerd start for pulls, and 0.5 s after it)"

# --- rounds ----------------------------------------------------------------------------------------
declare -a r_direct r_cold r_warm r_get_origin r_get_cold r_get_warm
declare -a r_pull_cold_ratio r_pull_warm_ratio r_get_cold_ratio r_get_warm_ratio
declare -a r_o_direct r_o_cold r_o_warm r_o_get_origin r_o_get_cold r_o_get_warm
declare -a r_cpu_cold r_cpu_warm r_cpu_get_cold r_cpu_get_warm
declare -a r_blob_bytes

row() { # name seconds origin upstream cpu cpu/GB
  printf '  %-26s %8.3f %14s %14s %8s %9s\n' "$@"
}

for r in $(seq 1 "$rounds"); do
  lp_build_image "app$r" "$layer_mib"
  image="$LP_ORIGIN/bench/app$r:v1"
  blob_bytes=$(lp_image_blob_bytes "$image")
  get_repo="bench/blob$r"
  get_digest=$(push_random_blob "$get_repo" "$largest")
  get_bytes=$((largest * 1024 * 1024))
  r_blob_bytes+=("$blob_bytes")

  measure lp_pull "r$r-direct" no "$image"
  t_direct=$M_SECONDS o_direct=$M_ORIGIN
  check "round $r direct pull, origin egress" "$M_ORIGIN" "$blob_bytes"

  measure lp_pull "r$r-cold" yes "$image"
  t_cold=$M_SECONDS o_cold=$M_ORIGIN u_cold=$M_UPSTREAM c_cold=$M_CPU
  check "round $r cold pull, agent upstream" "$M_UPSTREAM" "$blob_bytes"
  check "round $r cold pull, origin egress" "$M_ORIGIN" "$blob_bytes"

  measure lp_pull "r$r-warm" yes "$image"
  t_warm=$M_SECONDS o_warm=$M_ORIGIN u_warm=$M_UPSTREAM c_warm=$M_CPU
  check "round $r warm pull, agent upstream" "$M_UPSTREAM" 0
  check "round $r warm pull, origin egress" "$M_ORIGIN" 0

  measure lp_get "$(blob_url_origin "$get_repo" "$get_digest")"
  g_origin=$M_SECONDS o_g_origin=$M_ORIGIN
  check "round $r origin GET, origin egress" "$M_ORIGIN" "$get_bytes"

  measure lp_get "$(blob_url_agent "$get_repo" "$get_digest")"
  g_cold=$M_SECONDS o_g_cold=$M_ORIGIN u_g_cold=$M_UPSTREAM c_g_cold=$M_CPU
  check "round $r cold GET, agent upstream" "$M_UPSTREAM" "$get_bytes"
  check "round $r cold GET, origin egress" "$M_ORIGIN" "$get_bytes"

  measure lp_get "$(blob_url_agent "$get_repo" "$get_digest")"
  g_warm=$M_SECONDS o_g_warm=$M_ORIGIN u_g_warm=$M_UPSTREAM c_g_warm=$M_CPU
  check "round $r warm GET, agent upstream" "$M_UPSTREAM" 0
  check "round $r warm GET, origin egress" "$M_ORIGIN" 0

  r_direct+=("$t_direct") r_cold+=("$t_cold") r_warm+=("$t_warm")
  r_get_origin+=("$g_origin") r_get_cold+=("$g_cold") r_get_warm+=("$g_warm")
  r_pull_cold_ratio+=("$(div "$t_cold" "$t_direct")") r_pull_warm_ratio+=("$(div "$t_direct" "$t_warm")")
  r_get_cold_ratio+=("$(div "$g_cold" "$g_origin")") r_get_warm_ratio+=("$(div "$g_origin" "$g_warm")")
  r_o_direct+=("$o_direct") r_o_cold+=("$o_cold") r_o_warm+=("$o_warm")
  r_o_get_origin+=("$o_g_origin") r_o_get_cold+=("$o_g_cold") r_o_get_warm+=("$o_g_warm")
  image_gb=$(calc "$blob_bytes / 1e9" 9) get_gb=$(calc "$get_bytes / 1e9" 9)
  r_cpu_cold+=("$(div "$c_cold" "$image_gb" 2)") r_cpu_warm+=("$(div "$c_warm" "$image_gb" 2)")
  r_cpu_get_cold+=("$(div "$c_g_cold" "$get_gb" 2)") r_cpu_get_warm+=("$(div "$c_g_warm" "$get_gb" 2)")

  echo
  echo "round $r: image $blob_bytes blob bytes (layers $layer_mib MiB), GET blob $get_bytes bytes"
  printf '  %-26s %8s %14s %14s %8s %9s\n' "operation" "seconds" "origin blob B" "agent upstr B" "agent CPU" "CPU s/GB"
  row "pull direct from origin" "$t_direct" "$o_direct" "-" "-" "-"
  row "pull via agent, cold" "$t_cold" "$o_cold" "$u_cold" "$c_cold" "${r_cpu_cold[-1]}"
  row "pull via agent, warm" "$t_warm" "$o_warm" "$u_warm" "$c_warm" "${r_cpu_warm[-1]}"
  row "GET from origin" "$g_origin" "$o_g_origin" "-" "-" "-"
  row "GET via agent, cold" "$g_cold" "$o_g_cold" "$u_g_cold" "$c_g_cold" "${r_cpu_get_cold[-1]}"
  row "GET via agent, warm" "$g_warm" "$o_g_warm" "$u_g_warm" "$c_g_warm" "${r_cpu_get_warm[-1]}"
  echo "  pull cold/direct ${r_pull_cold_ratio[-1]}  direct/warm ${r_pull_warm_ratio[-1]}   GET cold/origin ${r_get_cold_ratio[-1]}  origin/warm ${r_get_warm_ratio[-1]}"
done

# --- medians ---------------------------------------------------------------------------------------
m_direct=$(median "${r_direct[@]}") m_cold=$(median "${r_cold[@]}") m_warm=$(median "${r_warm[@]}")
m_get_origin=$(median "${r_get_origin[@]}") m_get_cold=$(median "${r_get_cold[@]}") m_get_warm=$(median "${r_get_warm[@]}")
m_pcr=$(median "${r_pull_cold_ratio[@]}") m_pwr=$(median "${r_pull_warm_ratio[@]}")
m_gcr=$(median "${r_get_cold_ratio[@]}") m_gwr=$(median "${r_get_warm_ratio[@]}")
m_o_direct=$(median_int "${r_o_direct[@]}") m_o_cold=$(median_int "${r_o_cold[@]}") m_o_warm=$(median_int "${r_o_warm[@]}")
m_o_get_origin=$(median_int "${r_o_get_origin[@]}") m_o_get_cold=$(median_int "${r_o_get_cold[@]}") m_o_get_warm=$(median_int "${r_o_get_warm[@]}")
m_cpu_cold=$(median "${r_cpu_cold[@]}") m_cpu_warm=$(median "${r_cpu_warm[@]}")
m_cpu_get_cold=$(median "${r_cpu_get_cold[@]}") m_cpu_get_warm=$(median "${r_cpu_get_warm[@]}")
m_blob_bytes=$(median_int "${r_blob_bytes[@]}")

verdict() { # value, op (le/ge), bound
  awk -v v="$1" -v op="$2" -v b="$3" 'BEGIN {if (v == "null") print "n/a";
    else if ((op == "le" && v <= b) || (op == "ge" && v >= b)) print "met"; else print "MISSED"}'
}
echo
echo "medians over $rounds rounds (ratios are medians of the per-round ratios)"
printf '  %-26s %8s %14s %9s\n' "operation" "seconds" "origin blob B" "CPU s/GB"
printf '  %-26s %8.3f %14.0f %9s\n' "pull direct from origin" "$m_direct" "$m_o_direct" "-"
printf '  %-26s %8.3f %14.0f %9s\n' "pull via agent, cold" "$m_cold" "$m_o_cold" "$m_cpu_cold"
printf '  %-26s %8.3f %14.0f %9s\n' "pull via agent, warm" "$m_warm" "$m_o_warm" "$m_cpu_warm"
printf '  %-26s %8.3f %14.0f %9s\n' "GET from origin" "$m_get_origin" "$m_o_get_origin" "-"
printf '  %-26s %8.3f %14.0f %9s\n' "GET via agent, cold" "$m_get_cold" "$m_o_get_cold" "$m_cpu_get_cold"
printf '  %-26s %8.3f %14.0f %9s\n' "GET via agent, warm" "$m_get_warm" "$m_o_get_warm" "$m_cpu_get_warm"
echo "  pull cold/direct $m_pcr (target <= 1.05: $(verdict "$m_pcr" le 1.05))   direct/warm $m_pwr (target >= 1: $(verdict "$m_pwr" ge 1))"
echo "  GET  cold/origin $m_gcr (target <= 1.05: $(verdict "$m_gcr" le 1.05))   origin/warm $m_gwr (target >= 1: $(verdict "$m_gwr" ge 1))"

ok=true
if [ "${#problems[@]}" -gt 0 ]; then
  ok=false
  echo
  echo "bytes did not flow as expected:"
  printf '  %s\n' "${problems[@]}"
fi
echo
echo "{\"bench\":\"single-node-pull\",\"rounds\":$rounds,\"layer_mib\":\"$layer_mib\",\"image_blob_bytes\":$m_blob_bytes,\"get_blob_bytes\":$((largest * 1024 * 1024)),\"pull_direct_s\":$m_direct,\"pull_cold_s\":$m_cold,\"pull_warm_s\":$m_warm,\"pull_cold_over_direct\":$m_pcr,\"pull_direct_over_warm\":$m_pwr,\"get_origin_s\":$m_get_origin,\"get_cold_s\":$m_get_cold,\"get_warm_s\":$m_get_warm,\"get_cold_over_origin\":$m_gcr,\"get_origin_over_warm\":$m_gwr,\"origin_bytes_pull_direct\":$m_o_direct,\"origin_bytes_pull_cold\":$m_o_cold,\"origin_bytes_pull_warm\":$m_o_warm,\"origin_bytes_get_cold\":$m_o_get_cold,\"origin_bytes_get_warm\":$m_o_get_warm,\"agent_cpu_s_per_gb_pull_cold\":$m_cpu_cold,\"agent_cpu_s_per_gb_pull_warm\":$m_cpu_warm,\"agent_cpu_s_per_gb_get_cold\":$m_cpu_get_cold,\"agent_cpu_s_per_gb_get_warm\":$m_cpu_get_warm,\"agent_idle_cpu_s_per_s\":$idle_cpu,\"bytes_checks_ok\":$ok}"
[ "$ok" = true ] || exit 1
