#!/usr/bin/env bash
# Builds the CUDA variant of seqrec here (no GPU needed) and runs its fast tests on the CPU:
#   - a venv .venv-cuda with the torch 2.14.1 CUDA wheel (SEQREC_TORCH=cuda scripts/setup.sh; several GB),
#   - build-cuda/ configured against it with the local CUDA toolkit's nvcc, for Hopper (TORCH_CUDA_ARCH_LIST 9.0),
#   - checks that the binaries load CUDA's runtime from the wheel's own nvidia/* libraries, not /usr/local/cuda,
#   - `seqrec --version` says CUDA is compiled in; `--device cuda` on this GPU-less machine is a clear error (exit 1),
#   - `ctest -L fast` on the CPU.
# CI keeps the CPU build (scripts/test.sh); this is the check for the CUDA road.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=${SEQREC_CUDA_VENV:-$root/.venv-cuda}
build=${SEQREC_CUDA_BUILD:-$root/build-cuda}
cuda_home=${CUDA_HOME:-/usr/local/cuda}

echo "== [1/5] venv with the CUDA torch wheel: $venv"
SEQREC_TORCH=cuda SEQREC_VENV="$venv" bash scripts/setup.sh
"$venv/bin/python" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)'
[ -x "$cuda_home/bin/nvcc" ] || { echo "no nvcc under $cuda_home: set CUDA_HOME" >&2; exit 1; }
"$cuda_home/bin/nvcc" --version | tail -1

echo "== [2/5] configure and build $build"
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSEQREC_PYTHON="$venv/bin/python" \
  -DCMAKE_CUDA_COMPILER="$cuda_home/bin/nvcc" -DCUDA_TOOLKIT_ROOT_DIR="$cuda_home" | grep -E "^-- seqrec|Error|Warning" || true
cmake --build "$build" -j"$(nproc)" 2>&1 | grep --line-buffered -E "^\[ *[0-9]+%\]|error|warning" || {
  status=("${PIPESTATUS[@]}")
  [ "${status[0]}" -eq 0 ] || { echo "CUDA build failed: run 'cmake --build $build' to see why" >&2; exit 1; }
}

echo "== [3/5] the CUDA runtime comes from the wheel"
ldd "$build/seqrec" | grep -E "torch_cuda|c10_cuda|cudart|cublas" | tee "$build/ldd-cuda.txt"
grep -q "libtorch_cuda.so => $venv" "$build/ldd-cuda.txt" || { echo "seqrec does not link the wheel's libtorch_cuda" >&2; exit 1; }
if grep -E "cudart|cublas" "$build/ldd-cuda.txt" | grep -q "$cuda_home"; then
  echo "seqrec loads CUDA libraries from $cuda_home instead of the wheel's nvidia/*" >&2; exit 1
fi

echo "== [4/5] seqrec --version and --device cuda without a GPU"
"$build/seqrec" --version | tee "$build/version.txt"
grep -q "CUDA: compiled in" "$build/version.txt" || { echo "the CUDA build does not say CUDA is compiled in" >&2; exit 1; }
if ! nvidia-smi >/dev/null 2>&1; then
  set +e
  "$build/seqrec" synth --out "$build/check-events.csv" --sessions 200 --items 50 --days 3 --seed 1 >/dev/null 2>&1
  "$build/seqrec" etl --input "$build/check-events.csv" --out "$build/check-data" --valid-days 1 --test-days 1 >/dev/null 2>&1
  "$build/seqrec" train --data "$build/check-data" --run "$build/check-run" --epochs 1 --device cuda 2> "$build/device.err"
  code=$?
  set -e
  cat "$build/device.err"
  [ "$code" -eq 1 ] && grep -q "shows no GPU" "$build/device.err" ||
    { echo "--device cuda without a GPU should exit 1 with a clear message (got $code)" >&2; exit 1; }
fi

echo "== [5/5] fast tests on the CPU"
(cd "$build" && ctest -L fast --output-on-failure -j"$(nproc)" --timeout 900)
echo "CUDA build check passed"
