#!/usr/bin/env bash
# The GPU check in one call (bench/gpu/README.md), run ON the GPU machine from the repository root, with .gpu/ carried
# (made here first by bench/gpu/prepare.sh):
#
#   bash bench/gpu/run.sh
#
#  1. unpacks .gpu/debs with dpkg -x into a private prefix (never into /) and configures seqrec against it and the
#     machine's own torch (CMAKE_PREFIX_PATH = prefix + torch.utils.cmake_prefix_path), Ninja, TORCH_CUDA_ARCH_LIST=9.0,
#     no tests, benchmarks or gRPC; builds the CLI with -j16; prints `seqrec --version`;
#  2. trains, on the GPU, the SASRec setting (configs/repro/amazon-games.json) and the GPT-2 setting
#     (configs/repro/yoochoose-100k.json), each recipe's final model (its refit data: train + valid) for a fixed number
#     of epochs, and tests it with the recipe's protocol: seqrec fp32, the plain PyTorch peers (bench/gpu/sasrec_peer.py,
#     gpt2_peer.py) eager and under torch.compile, then seqrec bf16 while time allows;
#  3. prints a table (sequences/s, s/epoch, peak GPU memory, test metrics, seqrec's speed-up over each peer) and leaves
#     under $OUT: summary.txt, summary.json, env.txt, build.log, seqrec.log, peers.log, runs.tar.gz.
#
# Every step runs under `timeout` against one deadline, so the script ends within GPU_BUDGET_S (default 465 s) even when
# the build is slow; a step that no longer fits is skipped and says so. Environment: OUT (default out/gpu),
# GAMES_EPOCHS (20), YOO_EPOCHS (8), GPU_BUDGET_S (465), JOBS (16), PYTHON (the python with torch; default
# /opt/torch/.venv/bin/python3, else python3), CUDA_HOME (default: from nvcc), SEQREC_GPU_WORK (default
# /tmp/seqrec-gpu), PEER_BF16=1 (also the eager peers under bf16 autocast, last), SEQREC_GPU_SKIP_BUILD=1 (reuse the
# build in SEQREC_GPU_WORK from an earlier call on a still-warm machine), SEQREC_GPU_CONFIGURE_ONLY=1 (stop after the
# configure: the check that runs without a GPU), SEQREC_GPU_CMAKE_ARGS (more configure arguments), GPU_DEVICE=cpu
# (a dry run of the flow without a GPU, with SEQREC_GPU_SKIP_BUILD=1 and a CPU seqrec at $SEQREC_GPU_WORK/build/seqrec).
set -uo pipefail
start_ns=$(date +%s%N)
elapsed() { echo $(( ($(date +%s%N) - start_ns) / 1000000000 )); }
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-$root/out/gpu}
work=${SEQREC_GPU_WORK:-/tmp/seqrec-gpu}
budget=${GPU_BUDGET_S:-465}
reserve=25  # seconds kept at the end: timeout's 10 s kill grace for the last step, the summary and the archive
games_epochs=${GAMES_EPOCHS:-20}
yoo_epochs=${YOO_EPOCHS:-8}
jobs=${JOBS:-16}
device=${GPU_DEVICE:-cuda}  # cpu only for a dry run of the script's flow on a machine without a GPU
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
mkdir -p "$out"
prefix=$work/prefix
build=$work/build
rt=$work/rt  # runtime libraries from the prefix that this machine lacks (LD_LIBRARY_PATH for the link and for seqrec)
if [[ ${SEQREC_GPU_SKIP_BUILD:-0} != 1 ]]; then rm -rf "$work"; fi
rm -rf "$work/runs" "$work/peers" "$work/logs" "$work/mem"
mkdir -p "$work/runs" "$work/peers" "$work/logs" "$work/mem"
: > "$work/phases.tsv"
: > "$work/registry.tsv"
: > "$out/seqrec.log"
: > "$out/peers.log"
env_txt=$out/env.txt
: > "$env_txt"
say() { echo "== [$(elapsed)s] $*"; }
orig_ld=${LD_LIBRARY_PATH:-}  # the machine's own (the driver's libcuda may live there); the peers get it unchanged

# ---------------------------------------------------------------------------------------------------------- helpers
# limit_for MAX MIN: the seconds a step may take now (MAX, or what is left before the deadline), 0 if under MIN.
limit_for() {
  local max=$1 min=$2 left=$(( budget - reserve - $(elapsed) ))
  local l=$(( max < left ? max : left ))
  (( l >= min )) && echo "$l" || echo 0
}
# step NAME LIMIT LOG CMD...: runs CMD under timeout, output appended to LOG; records NAME, exit status, seconds.
step() {
  local name=$1 limit=$2 log=$3
  shift 3
  if (( limit <= 0 )); then
    say "$name: SKIPPED (no time left before the ${budget}s deadline)"
    printf '%s\tskipped\t0\t0\n' "$name" >> "$work/phases.tsv"
    return 99
  fi
  say "$name (limit ${limit}s)"
  echo "== $name: $*" >> "$log"
  local t0 rc dt
  t0=$(date +%s%N)
  timeout -k 10 "$limit" "$@" >> "$log" 2>&1
  rc=$?
  dt=$(( ($(date +%s%N) - t0) / 1000000 ))
  printf '%s\t%s\t%s.%03d\t%s\n' "$name" "$rc" $(( dt / 1000 )) $(( dt % 1000 )) "$limit" >> "$work/phases.tsv"
  [[ $rc -eq 124 || $rc -eq 137 ]] && echo "   TIMED OUT after ${limit}s" || echo "   exit $rc in $(( dt / 1000 )).$(( dt % 1000 / 100 ))s"
  return "$rc"
}
mem_pid=""
mem_start() {  # samples the GPU's used memory every 100 ms while a training runs
  command -v nvidia-smi >/dev/null || return 0
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$work/mem/$1.csv" 2>/dev/null &
  mem_pid=$!
}
mem_stop() {
  [[ -n $mem_pid ]] || return 0
  kill "$mem_pid" 2>/dev/null
  wait "$mem_pid" 2>/dev/null
  mem_pid=""
}
summarize() {
  "$py" bench/gpu/summarize.py --work "$work" --out "$out" --budget "$budget" --elapsed "$(elapsed)" \
    --games-epochs "$games_epochs" --yoo-epochs "$yoo_epochs" > /dev/null 2>> "$out/peers.log" || true
}
trap 'mem_stop' EXIT

# ------------------------------------------------------------------------------------------------------ environment
say "environment"
py=${PYTHON:-}
if [[ -z $py ]]; then
  for candidate in /opt/torch/.venv/bin/python3 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import torch' 2>/dev/null; then py=$(command -v "$candidate"); break; fi
  done
fi
[[ -n $py ]] || { echo "error: no python with torch (set PYTHON)" >&2; exit 1; }
# The CUDA toolkit: CUDA_HOME, CUDA_PATH, the one around the nvcc on PATH, /usr/local/cuda; its nvcc.
cuda_home=""
path_nvcc=$(command -v nvcc || true)
for candidate in "${CUDA_HOME:-}" "${CUDA_PATH:-}" "${path_nvcc:+$(dirname "$(dirname "$(readlink -f "$path_nvcc")")")}" \
                 /usr/local/cuda /usr/local/cuda-13.0; do
  if [[ -n $candidate && -x $candidate/bin/nvcc ]] &&
     [[ -f $candidate/include/cuda_runtime_api.h || -f $candidate/targets/x86_64-linux/include/cuda_runtime_api.h ]]; then
    cuda_home=$candidate; break
  fi
done
nvcc=${cuda_home:+$cuda_home/bin/nvcc}
[[ -n $nvcc ]] || nvcc=$path_nvcc
[[ -n $nvcc ]] && export PATH=$(dirname "$nvcc"):$PATH
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  host: $(hostname)  cores: $(nproc)  $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "glibc: $(ldd --version 2>/dev/null | head -1)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv 2>&1 | head -3
  echo "nvcc: ${nvcc:-none} $([[ -n $nvcc ]] && "$nvcc" --version | tail -1)"
  echo "cuda_home: ${cuda_home:-none}"
  echo "c++: $(c++ --version 2>&1 | head -1)"
  echo "cmake: $(cmake --version 2>&1 | head -1)  ninja: $(ninja --version 2>&1)  pkg-config: $(command -v pkg-config || command -v pkgconf || echo none)"
  echo "dpkg: $(command -v dpkg || echo none)"
  echo "python: $py"
  "$py" - <<'PY' 2>&1
import sys
import torch, torch.utils
try:
    import numpy
    np_version = numpy.__version__
except ImportError:
    np_version = "MISSING (the peers need it)"
print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
      "numpy", np_version, "python", sys.version.split()[0])
print("device:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "NO CUDA DEVICE")
print("torch_cmake_prefix_path:", torch.utils.cmake_prefix_path)
PY
} >> "$env_txt" 2>&1
cat "$env_txt"
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits > "$work/mem/idle.csv" 2>/dev/null || true
torch_prefix=$(sed -n 's/^torch_cmake_prefix_path: //p' "$env_txt" | tail -1)
[[ -d $torch_prefix ]] || { echo "error: $py gives no torch cmake prefix" >&2; exit 1; }
[[ -d .gpu/debs && -d .gpu/data ]] || { echo "error: .gpu/ missing: run bench/gpu/prepare.sh here first and carry .gpu" >&2; exit 1; }
printf 'environment\t0\t%s\t0\n' "$(elapsed)" >> "$work/phases.tsv"
summarize

# ----------------------------------------------------------------------------------------------- unpack + configure
seqrec=$build/seqrec
arch=x86_64-linux-gnu
libdir=$prefix/usr/lib/$arch
unpack() {
  rm -rf "$prefix" "$rt"
  mkdir -p "$prefix" "$rt"
  local deb
  for deb in .gpu/debs/*.deb; do
    if command -v dpkg >/dev/null; then
      dpkg -x "$deb" "$prefix" || return 1
    else  # no dpkg: the deb is an ar archive holding data.tar.*
      "$py" - "$deb" "$prefix" <<'PY' || return 1
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"!<arch>\n"
pos = 8
while pos < len(data):
    name, size = data[pos:pos + 16].decode().strip().rstrip("/"), int(data[pos + 48:pos + 58])
    body = data[pos + 60:pos + 60 + size]
    if name.startswith("data.tar"):
        if name.endswith(".zst"):
            sys.exit("data.tar.zst needs dpkg")
        tarfile.open(fileobj=io.BytesIO(body)).extractall(sys.argv[2])
    pos += 60 + size + (size & 1)
PY
    fi
  done
  # Links that Debian's maintainer scripts (update-alternatives) would make: cblas.h and libblas.so in the usual places.
  [[ -e $prefix/usr/include/$arch/cblas.h ]] || ln -s cblas-netlib.h "$prefix/usr/include/$arch/cblas.h"
  [[ -e $libdir/libblas.so ]] || ln -s blas/libblas.so "$libdir/libblas.so"
  [[ -e $libdir/libblas.so.3 ]] || ln -s blas/libblas.so.3 "$libdir/libblas.so.3"
  # Absolute links inside the packages point into the prefix.
  local link target
  while IFS= read -r link; do
    target=$(readlink "$link")
    [[ $target == /* ]] && ln -sfn "$prefix$target" "$link"
  done < <(find "$prefix" -type l)
  # The shared libraries this machine lacks are offered through $rt (LD_LIBRARY_PATH): the link resolves the carried
  # libraries' own dependencies there, and seqrec finds them at run time; the machine's own copies win otherwise.
  local lib so system
  system=$(ldconfig -p 2>/dev/null | awk 'NR > 1 {print $1}')
  while IFS= read -r lib; do
    so=$(objdump -p "$lib" 2>/dev/null | awk '$1 == "SONAME" {print $2}')
    [[ -n $so ]] || continue
    if ! grep -qxF "$so" <<< "$system" && [[ ! -e /lib/$arch/$so && ! -e /usr/lib/$arch/$so ]]; then
      ln -sfn "$lib" "$rt/$so"
    fi
  done < <(find "$libdir" "$prefix/lib/$arch" -maxdepth 2 -type f -name "*.so.*" 2>/dev/null)
  echo "carried runtime libraries used (this machine lacks them): $(ls "$rt" | tr '\n' ' ')"
}
if [[ ${SEQREC_GPU_SKIP_BUILD:-0} == 1 && -x $seqrec ]]; then
  say "reusing $seqrec (SEQREC_GPU_SKIP_BUILD=1)"
else
  say "unpack"
  t0=$(date +%s%N)
  unpack >> "$out/build.log" 2>&1
  rc=$?
  dt=$(( ($(date +%s%N) - t0) / 1000000 ))
  printf 'unpack\t%s\t%s.%03d\t0\n' "$rc" $(( dt / 1000 )) $(( dt % 1000 )) >> "$work/phases.tsv"
  grep "carried runtime" "$out/build.log" | tail -1
  pkg_config=$(command -v pkg-config || command -v pkgconf || true)
  [[ -n $pkg_config ]] || pkg_config=$prefix/usr/bin/pkgconf  # carried pkgconf-bin; its libpkgconf3 comes via $rt
  export LD_LIBRARY_PATH=$rt${orig_ld:+:$orig_ld}
  # pkg-config sees only the prefix: Debian's .pc files say /usr, the sysroot turns that into the prefix.
  export PKG_CONFIG_LIBDIR=$libdir/pkgconfig:$prefix/usr/share/pkgconfig
  export PKG_CONFIG_PATH=$PKG_CONFIG_LIBDIR
  export PKG_CONFIG_SYSROOT_DIR=$prefix
  cuda_flags=()
  [[ -n $nvcc ]] && cuda_flags=(-DCMAKE_CUDA_COMPILER="$nvcc" -DCUDAToolkit_ROOT="$cuda_home")
  # A toolkit without libnvrtc.so (nvcc and headers only) fails TorchConfig's CUDA::nvrtc: take the wheel's copy
  # (site-packages/nvidia/*/lib/libnvrtc.so.N), the very library libtorch_cuda loads anyway.
  if [[ -n $cuda_home ]] && ! ls "$cuda_home"/lib64/libnvrtc.so "$cuda_home"/targets/*/lib/libnvrtc.so >/dev/null 2>&1; then
    site=$(dirname "$(dirname "$(dirname "$torch_prefix")")")
    wheel_nvrtc=$(ls "$site"/nvidia/*/lib/libnvrtc.so.[0-9]* 2>/dev/null | grep -v -e builtins -e '\.alt\.' | head -1)
    [[ -n $wheel_nvrtc ]] && cuda_flags+=(-DCUDA_nvrtc_LIBRARY="$wheel_nvrtc") && echo "libnvrtc from the wheel: $wheel_nvrtc"
  fi
  # cblas.h (and OpenSSL's configuration.h) live in the multiarch include folder, which the compiler searches only
  # under /usr; -lblas (a bare name in CMakeLists.txt) needs the prefix's library folder on the link line.
  step configure "$(limit_for 120 20)" "$out/build.log" \
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DSEQREC_BUILD_TESTS=OFF -DSEQREC_BUILD_BENCH=OFF -DSEQREC_BUILD_GRPC=OFF \
      -DCMAKE_PREFIX_PATH="$prefix/usr;$torch_prefix" -DSEQREC_PYTHON="$py" \
      -DCMAKE_INCLUDE_PATH="$prefix/usr/include;$prefix/usr/include/$arch" \
      -DCMAKE_LIBRARY_PATH="$libdir;$libdir/blas" \
      -DPKG_CONFIG_EXECUTABLE="$pkg_config" \
      -DCMAKE_CXX_FLAGS="-isystem $prefix/usr/include/$arch" \
      -DCMAKE_EXE_LINKER_FLAGS="-L$libdir -Wl,-rpath-link,$rt" \
      -DCMAKE_SHARED_LINKER_FLAGS="-L$libdir -Wl,-rpath-link,$rt" \
      "${cuda_flags[@]}" ${SEQREC_GPU_CMAKE_ARGS:-}
  grep -E "^-- seqrec|CUDA|Torch|Error|error|Warning" "$out/build.log" | grep -v "^== " | head -20
  if [[ ${SEQREC_GPU_CONFIGURE_ONLY:-0} == 1 ]]; then
    summarize
    say "configure only (SEQREC_GPU_CONFIGURE_ONLY=1): stopping before the build"
    exit 0
  fi
  # The build gets what is left but ~170 s, so the seqrec and peer trainings still fit behind it.
  step build "$(limit_for $(( budget - 170 - $(elapsed) )) 30)" "$out/build.log" \
    cmake --build "$build" -j "$jobs" --target seqrec_cli
  tail -3 "$out/build.log"
fi
export LD_LIBRARY_PATH=$rt${orig_ld:+:$orig_ld}
have_seqrec=0
if [[ -x $seqrec ]]; then
  have_seqrec=1
  { echo "--- seqrec --version"; timeout 30 "$seqrec" --version; echo "--- ldd seqrec (selected)";
    ldd "$seqrec" | grep -E "not found|torch|c10|cudart|cublas|yaml|httplib|blas|ssl|brotli|libz|gomp"; } >> "$env_txt" 2>&1
  sed -n '/--- seqrec --version/,$p' "$env_txt"
else
  echo "no seqrec binary: the seqrec rows are skipped, the peers still run (see build.log)"
fi
summarize

# -------------------------------------------------------------------------------------------------------- the runs
# The eval flags come from the recipe's "evaluate" section, as bench/repro.sh reads them (k 10,20 always).
eval_flags() {
  "$py" - "$1" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["evaluate"]
flags = ["--protocol", e["protocol"], "--k", "10,20"]
if e.get("exclude_seen"): flags.append("--exclude-seen")
if e.get("sampled_negatives"): flags += ["--sampled-negatives", str(e["sampled_negatives"])]
print(" ".join(flags))
PY
}
# seqrec_run NAME SETTING DATA CONFIG EPOCHS PRECISION MAX MIN
seqrec_run() {
  local name=$1 setting=$2 data=$3 config=$4 epochs=$5 precision=$6 max=$7 min=$8
  local run=$work/runs/$name log=$work/logs/$name.log limit
  printf '%s\tseqrec\t%s\t%s\t%s\t%s\n' "$name" "$setting" "$precision" "$epochs" "$config" >> "$work/registry.tsv"
  (( have_seqrec )) || { printf '%s\tno-binary\t0\t0\n' "$name:train" >> "$work/phases.tsv"; return 0; }
  limit=$(limit_for "$max" "$min")
  mem_start "$name"
  step "$name:train" "$limit" "$log" "$seqrec" train --data "$data" --run "$run" --train-config "$config" \
    --epochs "$epochs" --patience 0 --max-seconds $(( limit > 40 ? limit - 15 : limit * 2 / 3 )) \
    --device "$device" --precision "$precision"
  mem_stop
  if [[ -f $run/checkpoint.pt ]]; then
    # shellcheck disable=SC2046
    step "$name:test" "$(limit_for 60 10)" "$log" "$seqrec" evaluate --data "$data" --run "$run" --split test \
      $(eval_flags "$config") --baselines popularity --device "$device" --json "$run/test.json"
  fi
  { echo "######## $name"; cat "$log" 2>/dev/null; } >> "$out/seqrec.log"
  summarize
}
# peer_run NAME SETTING SCRIPT DATA EPOCHS PRECISION COMPILE(0/1) MAX MIN
peer_run() {
  local name=$1 setting=$2 script=$3 data=$4 epochs=$5 precision=$6 compile=$7 max=$8 min=$9
  local log=$work/logs/$name.log limit flags=()
  (( compile )) && flags=(--compile)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "pytorch-$( (( compile )) && echo compile || echo eager)" "$setting" \
    "$precision" "$epochs" "$script" >> "$work/registry.tsv"
  limit=$(limit_for "$max" "$min")
  mem_start "$name"
  # The peer writes its JSON line to --json too; its training stops itself ~30 s before the limit, leaving the test time.
  local peer_env=(env -u LD_LIBRARY_PATH)
  [[ -n $orig_ld ]] && peer_env=(env LD_LIBRARY_PATH="$orig_ld")
  step "$name" "$limit" "$log" "${peer_env[@]}" \
    "$py" "$script" --data "$data" --device "$device" --epochs "$epochs" --precision "$precision" \
    --max-seconds $(( limit > 60 ? limit - 30 : limit / 2 )) --json "$work/peers/$name.json" "${flags[@]}"
  mem_stop
  { echo "######## $name"; cat "$log" 2>/dev/null; } >> "$out/peers.log"
  summarize
}
games=.gpu/data/amazon-games
yoo=.gpu/data/yoochoose-100k
games_cfg=configs/repro/amazon-games.json
yoo_cfg=configs/repro/yoochoose-100k.json
seqrec_run seqrec-fp32-games sasrec-amazon-games "$games" "$games_cfg" "$games_epochs" fp32 100 25
peer_run eager-fp32-games sasrec-amazon-games bench/gpu/sasrec_peer.py "$games" "$games_epochs" fp32 0 100 35
peer_run compile-fp32-games sasrec-amazon-games bench/gpu/sasrec_peer.py "$games" "$games_epochs" fp32 1 150 60
seqrec_run seqrec-fp32-yoo gpt2-yoochoose-100k "$yoo" "$yoo_cfg" "$yoo_epochs" fp32 60 20
peer_run eager-fp32-yoo gpt2-yoochoose-100k bench/gpu/gpt2_peer.py "$yoo" "$yoo_epochs" fp32 0 70 30
peer_run compile-fp32-yoo gpt2-yoochoose-100k bench/gpu/gpt2_peer.py "$yoo" "$yoo_epochs" fp32 1 120 50
seqrec_run seqrec-bf16-games sasrec-amazon-games "$games" "$games_cfg" "$games_epochs" bf16 100 25
seqrec_run seqrec-bf16-yoo gpt2-yoochoose-100k "$yoo" "$yoo_cfg" "$yoo_epochs" bf16 60 20
if [[ ${PEER_BF16:-0} == 1 ]]; then
  peer_run eager-bf16-games sasrec-amazon-games bench/gpu/sasrec_peer.py "$games" "$games_epochs" bf16 0 100 35
  peer_run eager-bf16-yoo gpt2-yoochoose-100k bench/gpu/gpt2_peer.py "$yoo" "$yoo_epochs" bf16 0 70 30
fi

# ------------------------------------------------------------------------------------------------------------ report
say "summary"
(cd "$work" && tar -czf "$out/runs.tar.gz" phases.tsv registry.tsv peers mem \
  $(cd "$work" && ls -d runs/*/metrics.jsonl runs/*/config.json runs/*/test.json 2>/dev/null)) 2>/dev/null || true
summarize
cat "$out/summary.txt"
say "done (budget ${budget}s)"
