#!/usr/bin/env bash
# Installs every Debian bookworm package the project needs to build, test and run.
# Idempotent: packages already present are skipped. Runs as root or through sudo.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-openmp
  libzmq3-dev cppzmq-dev
  libprotobuf-dev protobuf-compiler
  libsodium-dev
  nlohmann-json3-dev
  catch2
  libzip-dev zlib1g-dev
  libstb-dev libnifti2-dev
  libcpp-httplib-dev prometheus
  python3 python3-numpy python3-sklearn python3-zmq python3-matplotlib python3-torch chromium
  iproute2 nftables
  nodejs unzip
)

# The chart test needs npm: Debian's package, unless Node.js already brings its own.
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1
  fi
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
