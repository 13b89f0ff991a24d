#!/usr/bin/env bash
# Installs what seqrec needs to build and test: Debian's packages, then the project's venv (.venv) with a pinned
# torch wheel, whose LibTorch seqrec links, and a pinned pyarrow wheel, whose Arrow C++ (Parquet) seqrec links. Idempotent: quiet when all is there.
#   SEQREC_TORCH=cpu   (default) torch 2.13.0, the CPU wheel
#   SEQREC_TORCH=cuda  torch 2.14.1, the CUDA wheel (several GB; builds need nvcc, see scripts/check_cuda_build.sh)
#   SEQREC_VENV=DIR    where the venv lives (default .venv beside this folder)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

packages=(
  build-essential cmake ninja-build
  libopenblas0-openmp libblas-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev
  libcpp-httplib-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc curl
  libyaml-cpp-dev libjemalloc-dev
  zlib1g-dev gzip
  python3  # bench/repro.sh and its CTest (standard library only)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing Debian packages: ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

case "${SEQREC_TORCH:-cpu}" in
  cpu) torch_pin="torch==2.13.0" ;;
  cuda) torch_pin="torch==2.14.1" ;;
  *) echo "[setup] SEQREC_TORCH must be cpu or cuda, got '${SEQREC_TORCH}'" >&2; exit 1 ;;
esac
venv="${SEQREC_VENV:-$root/.venv}"
# The torch wheels here are built for CPython 3.11: the python3 on PATH (pyenv), else Debian's.
python=""
for candidate in python3.11 python3 /usr/bin/python3.11; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys, venv; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
    python="$candidate"; break
  fi
done
[ -n "$python" ] || { echo "[setup] needs CPython 3.11 with venv for the torch wheel" >&2; exit 1; }

want="${torch_pin#torch==}"
have="$("$venv/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)"
if [ "$have" != "$want" ]; then
  echo "[setup] creating $venv with $torch_pin (LibTorch for seqrec)" >&2
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$torch_pin" numpy 2>&1 | grep -v "^WARNING: Location" >&2 || true
  "$venv/bin/python" -c 'import torch' || { echo "[setup] $torch_pin did not install into $venv" >&2; exit 1; }
fi
# Arrow C++ (libarrow, libparquet and their headers) comes with the pyarrow wheel: seqrec reads and writes Parquet
# through it (cmake/SeqrecArrow.cmake), and the tests make their Parquet fixtures with its Python side.
arrow_pin="pyarrow==26.0.1"
have_arrow="$("$venv/bin/python" -c 'import pyarrow; print(pyarrow.__version__)' 2>/dev/null || true)"
if [ "$have_arrow" != "${arrow_pin#pyarrow==}" ]; then
  echo "[setup] installing $arrow_pin into $venv (Arrow C++ for Parquet)" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "$arrow_pin" 2>&1 | grep -v "^WARNING: Location" >&2 || true
  "$venv/bin/python" -c 'import pyarrow.parquet' || { echo "[setup] $arrow_pin did not install into $venv" >&2; exit 1; }
fi
