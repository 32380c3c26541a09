#!/usr/bin/env bash
# Draws issue 10's plots as PNG with gnuplot from the result files bench/regenerate.sh collects (bench/README.md,
# "regenerate.sh"). Reads only; every figure comes from a file in RESULTS_DIR:
#
#   bash bench/plots/plot.sh RESULTS_DIR OUT_DIR
#
#   distribution-time.png  completion p50 and p99 ÷ ideal against nodes: P2P, direct, ideal; measured
#                          (cluster.jsonl) and simulated (sim-seeds.jsonl, sim-calibration.jsonl)
#   completion-cdf.png     share of nodes done against completion time ÷ ideal: one large simulated run
#                          (sim-large.jsonl, sim-large-times.txt) and the measured run (cluster.jsonl, cluster-times.txt)
#   origin-bytes.png       origin bytes ÷ image against nodes, P2P and direct, measured and simulated
#
# A plot whose every input is missing is an error; a missing part of one (say the simulated CDF) is left out of the
# plot and named on stderr. Needs gnuplot (5.4, pngcairo) and jq.
set -euo pipefail

[ $# = 2 ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2 && exit 2; }
results=$1 out=$2
for tool in gnuplot jq; do
  command -v "$tool" >/dev/null || { echo "bench/plots: $tool not found (scripts/install-deps.sh)" >&2 && exit 2; }
done
[ -d "$results" ] || { echo "bench/plots: no results directory '$results'" >&2 && exit 2; }
mkdir -p "$out"
rm -f "$out/distribution-time.png" "$out/completion-cdf.png" "$out/origin-bytes.png" # none left from an earlier run
tmp=$(mktemp -d /tmp/peeragent-plots.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

note() { echo "bench/plots: $*" >&2; }
have() { [ -s "$results/$1" ]; }

# --- data: one small whitespace table per series -------------------------------------------------------------
# Simulated runs, one table per node link speed, sorted by nodes:
#   nodes  p50/ideal  p99/ideal  direct p50/ideal  direct p99/ideal  origin/image
speeds=()
if have sim-seeds.jsonl; then
  mapfile -t speeds < <(jq -r '.node_down_bits_per_s' "$results/sim-seeds.jsonl" | sort -gru)
  for bits in "${speeds[@]}"; do
    jq -r --argjson b "$bits" 'select(.node_down_bits_per_s == $b)
      | [.nodes, .p50_s / .ideal_s, .p99_s / .ideal_s, .direct_p50_s / .ideal_s, .direct_p99_s / .ideal_s, .origin_over_image]
      | @tsv' "$results/sim-seeds.jsonl" | sort -g >"$tmp/sim-$bits.dat"
  done
else
  note "no sim-seeds.jsonl: the simulated curves are left out"
fi
# Measured (bench/cluster) and the simulator's run of the same scenario (calibration), one row each:
#   nodes  p50/ideal  p99/ideal  direct p50/ideal  direct p99/ideal  origin/image  direct origin/image
if have cluster.jsonl; then
  jq -r '[.nodes, .p50_s / .ideal_s, .p99_s / .ideal_s, .direct_p50_s / .ideal_s, .direct_p99_s / .ideal_s,
    .origin_over_image, .direct_origin_over_image] | @tsv' "$results/cluster.jsonl" | head -1 >"$tmp/cluster.dat"
else
  note "no cluster.jsonl: the measured points are left out"
fi
if have sim-calibration.jsonl; then
  jq -r '[.nodes, .p50_s / .ideal_s, .p99_s / .ideal_s, .direct_p50_s / .ideal_s, .direct_p99_s / .ideal_s,
    .origin_over_image, .nodes] | @tsv' "$results/sim-calibration.jsonl" | head -1 >"$tmp/calibration.dat"
fi
[ "${#speeds[@]}" -gt 0 ] || have cluster.jsonl || { note "neither sim-seeds.jsonl nor cluster.jsonl in $results" && exit 1; }

# Empirical CDFs of completion ÷ ideal: "x share" rows from (0, 0), a step up at each node (gnuplot's steps go
# across, then up).
cdf() { # ideal seconds, file of seconds (one a line) -> rows
  sort -g "$2" | awk -v ideal="$1" '{t[++n] = $1} END {print "0 0"; for (i = 1; i <= n; i++) printf "%.6f %.6f\n", t[i] / ideal, i / n}'
}
cdf_series=()
if have sim-large.jsonl && have sim-large-times.txt; then
  read -r large_nodes large_mbit large_mib large_ideal < <(jq -r '[.nodes, .node_down_bits_per_s / 1e6, .image_bytes / 1048576, .ideal_s] | @tsv' "$results/sim-large.jsonl" | head -1)
  cdf "$large_ideal" "$results/sim-large-times.txt" >"$tmp/cdf-sim.dat"
  cdf_series+=("'$tmp/cdf-sim.dat' using 1:2 with steps lw 2 lc rgb '#1f77b4' title sprintf('simulated P2P, %s nodes, %s Mbit/s links, %s MiB', '$large_nodes', '$large_mbit', '$large_mib')")
else
  note "no sim-large.jsonl with sim-large-times.txt: the CDF has no simulated run"
fi
if have cluster.jsonl && have cluster-times.txt; then
  read -r c_nodes c_mbit c_mib c_ideal c_mode < <(jq -r '[.nodes, .node_mbit, (.image_bytes / 1048576 | floor), .ideal_s, .mode] | @tsv' "$results/cluster.jsonl" | head -1)
  for kind in p2p direct; do
    awk -v run="$c_mode" -v kind="$kind" '$1 == run && $2 == kind {print $3}' "$results/cluster-times.txt" >"$tmp/times-$kind"
    [ -s "$tmp/times-$kind" ] && cdf "$c_ideal" "$tmp/times-$kind" >"$tmp/cdf-cluster-$kind.dat"
  done
  [ ! -s "$tmp/cdf-cluster-p2p.dat" ] || cdf_series+=("'$tmp/cdf-cluster-p2p.dat' using 1:2 with steps lw 2 lc rgb '#d62728' title 'measured P2P, bench/cluster, $c_nodes hosts, $c_mbit Mbit/s, $c_mib MiB'")
  [ ! -s "$tmp/cdf-cluster-direct.dat" ] || cdf_series+=("'$tmp/cdf-cluster-direct.dat' using 1:2 with steps lw 2 dt 2 lc rgb '#d62728' title 'measured direct (every host from the origin), same run'")
else
  note "no cluster.jsonl with cluster-times.txt: the CDF has no measured run"
fi

# --- gnuplot ---------------------------------------------------------------------------------------------
colors=('#1f77b4' '#ff7f0e' '#2ca02c' '#9467bd') # one per simulated link speed
common="set terminal pngcairo size 1200,900 enhanced font 'DejaVu Sans,11'
set grid lt 1 lc rgb '#dddddd'
set key outside below center maxcols 2 box opaque height 1
set datafile separator whitespace"

join() { local IFS=','; echo "$*"; }
mbit() { awk -v b="$1" 'BEGIN {v = b / 1e6; if (v >= 1000) printf "%g Gbit/s", v / 1000; else printf "%g Mbit/s", v}'; }

# distribution-time.png: the seeds' chart, times over the bandwidth bound so measured and simulated runs of different
# sizes and links share one axis.
series=("1 with lines lw 2 lc rgb 'black' title 'ideal = image ÷ node link'")
i=0
for bits in "${speeds[@]}"; do
  c=${colors[i % ${#colors[@]}]} f="$tmp/sim-$bits.dat" rate=$(mbit "$bits")
  series+=("'$f' using 1:2 with linespoints lw 2 pt 7 lc rgb '$c' title 'simulated P2P p50, $rate links'")
  series+=("'$f' using 1:3 with linespoints lw 2 dt 2 pt 6 lc rgb '$c' title 'simulated P2P p99, $rate links'")
  series+=("'$f' using 1:4 with lines lw 1 dt 4 lc rgb '$c' title 'simulated direct, $rate links (computed)'")
  i=$((i + 1))
done
if [ -s "$tmp/calibration.dat" ]; then
  series+=("'$tmp/calibration.dat' using 1:2 with points pt 13 ps 1.8 lc rgb '#7f7f7f' title 'simulated P2P p50, bench/cluster''s scenario'")
  series+=("'$tmp/calibration.dat' using 1:3 with points pt 12 ps 1.8 lc rgb '#7f7f7f' title 'simulated P2P p99, bench/cluster''s scenario'")
fi
if [ -s "$tmp/cluster.dat" ]; then
  series+=("'$tmp/cluster.dat' using 1:2 with points pt 7 ps 2 lc rgb '#d62728' title 'measured P2P p50 (bench/cluster)'")
  series+=("'$tmp/cluster.dat' using 1:3 with points pt 6 ps 2 lw 2 lc rgb '#d62728' title 'measured P2P p99 (bench/cluster)'")
  series+=("'$tmp/cluster.dat' using 1:4 with points pt 5 ps 1.6 lc rgb '#8c564b' title 'measured direct p50 (bench/cluster)'")
  series+=("'$tmp/cluster.dat' using 1:5 with points pt 4 ps 1.6 lw 2 lc rgb '#8c564b' title 'measured direct p99 (bench/cluster)'")
fi
subtitle=''
if have sim-seeds.jsonl; then
  subtitle=$(jq -rs '.[0] | "{/*0.85 simulated: \(.image_bytes / 1048576) MiB in \(.layers) layers, origin \(.origin_bits_per_s / 1e9) Gbit/s, \(.zones) zones}"' "$results/sim-seeds.jsonl")
fi
if have cluster.jsonl; then
  subtitle+="${subtitle:+\\n}{/*0.85 $(jq -r '"measured: bench/cluster, \(.nodes) hosts at \(.node_mbit) Mbit/s, origin \(.origin_mbit) Mbit/s, \(.image_bytes / 1048576 | floor) MiB, mutual TLS, \(.cores) cores"' "$results/cluster.jsonl" | head -1)}"
fi
gnuplot <<GP
$common
set output '$out/distribution-time.png'
set title "Distribution time against nodes: P2P, direct and ideal\n$subtitle"
set logscale xy
set xrange [2:20000]
set yrange [0.5:*]
set xlabel 'nodes'
set ylabel 'completion time ÷ ideal (image ÷ node link rate)'
plot $(join "${series[@]}")
GP

# completion-cdf.png
if [ "${#cdf_series[@]}" -gt 0 ]; then
  gnuplot <<GP
$common
set output '$out/completion-cdf.png'
set title "Completion times of every node, as a CDF\n{/*0.85 a step per node; x = completion time ÷ ideal (image ÷ node link rate)}"
set xrange [0:*]
set yrange [0:1.02]
set xlabel 'completion time ÷ ideal'
set ylabel 'share of nodes done'
set arrow from 1, graph 0 to 1, graph 1 nohead lw 2 lc rgb 'black'
set label ' ideal' at 1, graph 0.5 left
plot $(join "${cdf_series[@]}")
GP
else
  note "completion-cdf.png not drawn: no completion times in $results"
fi

# origin-bytes.png
series=("x with lines lw 1 dt 4 lc rgb 'black' title 'direct: every node pulls the image from the origin (N)'"
  "1.1 with lines lw 1 dt 3 lc rgb '#2ca02c' title 'target: 1.1 × image'")
i=0
for bits in "${speeds[@]}"; do
  c=${colors[i % ${#colors[@]}]}
  series+=("'$tmp/sim-$bits.dat' using 1:6 with linespoints lw 2 pt 7 lc rgb '$c' title 'simulated P2P, $(mbit "$bits") links'")
  i=$((i + 1))
done
if [ -s "$tmp/calibration.dat" ]; then
  series+=("'$tmp/calibration.dat' using 1:6 with points pt 13 ps 1.8 lc rgb '#7f7f7f' title 'simulated P2P, bench/cluster''s scenario'")
fi
if [ -s "$tmp/cluster.dat" ]; then
  series+=("'$tmp/cluster.dat' using 1:6 with points pt 7 ps 2 lc rgb '#d62728' title 'measured P2P (bench/cluster, access log)'")
  series+=("'$tmp/cluster.dat' using 1:7 with points pt 5 ps 1.6 lc rgb '#8c564b' title 'measured direct (bench/cluster)'")
fi
gnuplot <<GP
$common
set output '$out/origin-bytes.png'
set title "Bytes the origin sent, in copies of the image, against nodes\n$subtitle"
set logscale xy
set xrange [2:20000]
set yrange [0.5:20000]
set xlabel 'nodes'
set ylabel 'origin bytes ÷ image bytes'
plot $(join "${series[@]}")
GP

for f in distribution-time origin-bytes completion-cdf; do
  [ ! -f "$out/$f.png" ] || echo "bench/plots: wrote $out/$f.png"
done
