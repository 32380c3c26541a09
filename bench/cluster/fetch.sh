#!/usr/bin/env bash
# One host's pull, run by bench/cluster/run.sh inside the host's network namespace: waits for the go file, GETs the
# image's manifest by tag, checks its digest, then GETs every blob it names at once with curl, each piped through
# sha256sum and compared with its digest. Writes one line to OUT:
#   ok <start> <end> <blob bytes>       (epoch seconds; every digest matched)
#   fail <start> <end> <reason>
#
#   fetch.sh OUT GO_FILE BASE_URL QUERY REPO TAG MANIFEST_DIGEST MAX_SECONDS
#
# BASE_URL is the local agent's mirror (QUERY ?ns=<origin>) or the origin itself (QUERY empty). Bounded: the go
# file is awaited for at most 120 s, and every curl has MAX_SECONDS.
set -uo pipefail
out=$1 go=$2 base=$3 query=$4 repo=$5 tag=$6 manifest_digest=$7 max=$8
work=$(mktemp -d "${out}.XXXXXX")
trap 'rm -rf "$work"' EXIT

# shellcheck source=start-gate.sh
source "$(dirname "$0")/start-gate.sh"

accept='application/vnd.oci.image.manifest.v1+json'
curl -fsS --max-time "$max" -H "Accept: $accept" -o "$work/manifest" "$base/v2/$repo/manifests/$tag$query" 2>"$work/err" \
  || finish fail "manifest: $(head -c 200 "$work/err" | tr '\n' ' ')"
got="sha256:$(sha256sum "$work/manifest" | cut -c1-64)"
[ "$got" = "$manifest_digest" ] || finish fail "manifest digest $got, expected $manifest_digest"

# The config and layer digests and sizes, in manifest order ("digest" and "size" are siblings in each descriptor).
mapfile -t digests < <(grep -o '"digest": *"sha256:[0-9a-f]\{64\}"' "$work/manifest" | grep -o 'sha256:[0-9a-f]*')
mapfile -t sizes < <(grep -o '"size": *[0-9]*' "$work/manifest" | grep -o '[0-9]*$')
[ "${#digests[@]}" -ge 1 ] && [ "${#digests[@]}" = "${#sizes[@]}" ] || finish fail "manifest lists no blobs"

pids=()
for i in "${!digests[@]}"; do
  (
    sum=$(curl -fsS --max-time "$max" "$base/v2/$repo/blobs/${digests[i]}$query" 2>"$work/err-$i" | sha256sum) \
      || { echo "GET ${digests[i]}: $(head -c 200 "$work/err-$i" | tr '\n' ' ')" >"$work/bad-$i"; exit 1; }
    [ "sha256:${sum:0:64}" = "${digests[i]}" ] \
      || { echo "blob ${digests[i]} arrived as sha256:${sum:0:64}" >"$work/bad-$i"; exit 1; }
  ) &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if [ "$failed" = 1 ]; then
  finish fail "$(cat "$work"/bad-* 2>/dev/null | head -c 400 | tr '\n' ';')"
fi
total=0
for s in "${sizes[@]}"; do total=$((total + s)); done
finish ok "$total"
