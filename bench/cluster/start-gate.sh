# Sourced by the per-host fetchers, with $out and $go set: waits (at most 120 s) for the go file, so every host
# starts at once, then records the start; finish STATUS DETAIL writes "STATUS START END DETAIL" to $out and exits 0
# (END is $end when the caller set it, else now).
for _ in $(seq 1 12000); do
  [ -e "$go" ] && break
  sleep 0.01
done
start=$EPOCHREALTIME
finish() { # status, detail
  echo "$1 $start ${end:-$EPOCHREALTIME} $2" >"$out"
  exit 0
}
[ -e "$go" ] || finish fail "no go signal"
