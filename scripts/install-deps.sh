#!/usr/bin/env bash
# Installs the Debian packages the functional tests run as real processes. Idempotent: apt is only
# touched when something is missing.
set -euo pipefail

# --- Kubernetes schema validator (tests/k8s-schema): npm packages, installed once so the tests run offline. ---
# Reinstalled when node_modules is missing or was installed from another package-lock.json.
k8s_schema_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/k8s-schema"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: node and npm (Node.js 20 or later) are needed for $k8s_schema_dir and were not found" >&2
  exit 1
fi
k8s_schema_stamp="$k8s_schema_dir/node_modules/.peeragent-lock.sha256"
k8s_schema_lock="$(cd "$k8s_schema_dir" && sha256sum package.json package-lock.json)"
if [ ! -f "$k8s_schema_stamp" ] || [ "$(cat "$k8s_schema_stamp")" != "$k8s_schema_lock" ]; then
  echo "install-deps: npm ci in tests/k8s-schema"
  (cd "$k8s_schema_dir" && npm ci --ignore-scripts --no-audit --no-fund)
  printf '%s\n' "$k8s_schema_lock" >"$k8s_schema_stamp"
fi
# --- end of the Kubernetes schema validator ---

packages=(
  docker-registry   # origin registry (CNCF distribution 2.8)
  containerd        # runtime pulling through the agent (ctr)
  runc              # containerd's runtime dependency
  skopeo            # pushes test images, and pulls through a registries.conf mirror
  umoci             # OCI layout tooling (image experiments)
  apache2-utils     # htpasswd for the origin's Basic auth
  ca-certificates
  curl              # scripts/demo.sh reads the agent's metrics
  iproute2          # bench/cluster (the CI smoke): ip netns, veth, bridge, tc
  prometheus        # a real Prometheus scrapes the agent; promtool lints the exposition
  gnuplot-nox       # bench/plots draws the benchmark plots (PNG, pngcairo)
  jq                # bench/plots and bench/regenerate.sh read the benchmarks' JSON lines
)

# Chart tests (tests/PeerAgent.FunctionalTests/Deploy): ../shared/tools/helm-template builds itself from these.
# kubectl (for `kubectl kustomize`) is not a Debian package; it comes with the machine image.
packages+=(golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev)
if ! command -v kubectl >/dev/null 2>&1; then
  echo "install-deps: kubectl not found: the kustomize tests (KustomizeTests) will fail until it is installed" >&2
fi

# Docker Engine (dockerd 20.10, /usr/sbin/dockerd and /usr/bin/docker): the installer's distribution-domain test runs
# its own dockerd with a temp --data-root/--exec-root/socket; the system service is never started.
packages+=(docker.io)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"

# The Debian packages start system services; the tests run their own instances on free ports instead.
for service in docker-registry containerd; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
    "${sudo[@]}" systemctl stop "$service" || true
  fi
done
