#!/usr/bin/env bash
# Installs the Debian packages seqrec needs to build and test. Idempotent: quiet when all is there.
set -euo pipefail

packages=(
  build-essential cmake
  libtorch-dev libopenblas0-openmp libblas-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev
  libcpp-httplib-dev libgrpc++-dev protobuf-compiler protobuf-compiler-grpc curl
  libyaml-cpp-dev libjemalloc-dev
  zlib1g-dev gzip
  python3  # bench/repro.sh and its CTest (standard library only)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "[setup] installing: ${missing[*]}" >&2
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
