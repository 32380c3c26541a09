#!/usr/bin/env bash
# Installs the Debian packages the functional tests run as real processes. Idempotent: apt is only
# touched when something is missing.
set -euo pipefail

packages=(
  docker-registry   # origin registry (CNCF distribution 2.8)
  containerd        # runtime pulling through the agent (ctr)
  runc              # containerd's runtime dependency
  skopeo            # pushes test images, and pulls through a registries.conf mirror
  umoci             # OCI layout tooling (image experiments)
  apache2-utils     # htpasswd for the origin's Basic auth
  ca-certificates
  curl              # scripts/demo.sh reads the agent's metrics
  prometheus        # a real Prometheus scrapes the agent; promtool lints the exposition
)

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
