#!/usr/bin/env bash
# Prepares .gpu/ HERE (a machine with Debian's archive) for bench/gpu/run.sh on the GPU machine, which has no network:
#   .gpu/debs/   the Debian packages seqrec's build needs beyond the GPU machine's own compiler, CMake, ninja, CUDA and
#                torch (apt-get download; run.sh unpacks them with dpkg -x into a private prefix, never into /)
#   .gpu/data/   the two datasets converted with bench/repro/convert.py, the recipes' refit data only (train = train +
#                valid, empty valid, the published test split): amazon-games and yoochoose-100k. Research-only data:
#                .gpu/ is git-ignored (.git/info/exclude) and must never be committed.
# The peers (bench/gpu/sasrec_peer.py, gpt2_peer.py) read the same data folders and the recipes in configs/repro/,
# which travel with the working tree; on the GPU machine they need only its torch and numpy.
#
#   bash bench/gpu/prepare.sh            (idempotent; SEQREC_SHARED_DATA=DIR overrides ../shared/data)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
gpu=$root/.gpu
shared=${SEQREC_SHARED_DATA:-$root/../shared/data}
limit_mib=${GPU_CARRY_LIMIT_MIB:-55}

# .gpu/ stays out of git (and out of the working tree's untracked files, which the device call copies anyway).
exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
grep -qxF '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >> "$exclude"
git check-ignore -q .gpu/x || { echo "error: .gpu/ is not ignored by git" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------------- Debian packages
# Header-only: nlohmann-json3-dev, libcli11-dev. Compiled: yaml-cpp and cpp-httplib (Debian builds httplib as a library
# with OpenSSL, zlib and brotli, so httplib.h includes their headers and the library needs their runtimes), netlib's
# reference BLAS (cblas.h, cblas_sgemm: CPU-only paths; a GPU run never calls it), pkgconf (used only when the GPU
# machine has no pkg-config). Runtimes the GPU machine may already have (libssl3, libbrotli1, zlib1g) are carried too;
# run.sh uses a carried one only where the machine has none. Not carried: jemalloc (optional), gRPC (OFF), GoogleTest.
packages=(nlohmann-json3-dev libcli11-dev libyaml-cpp-dev libcpp-httplib-dev libssl-dev libbrotli-dev zlib1g-dev
          libblas-dev libssl3 libbrotli1 zlib1g libblas3 pkgconf-bin libpkgconf3)
runtime_of() {  # the versioned runtime package a -dev package depends on (libyaml-cpp0.7, libcpp-httplib0.11, ...)
  apt-cache depends "$1" 2>/dev/null | sed -n "s/^ *Depends: \($2[0-9][0-9.a-z]*\)$/\1/p" | head -1
}
have_lists=1
apt-cache show "${packages[@]}" >/dev/null 2>&1 || have_lists=0
if [[ $have_lists == 0 ]]; then
  echo "[prepare] apt-get update (package lists missing)" >&2
  sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd=sudo
  $sudo_cmd apt-get update -qq
fi
for dev_runtime in "libyaml-cpp-dev libyaml-cpp" "libcpp-httplib-dev libcpp-httplib"; do
  set -- $dev_runtime
  rt=$(runtime_of "$1" "$2")
  [[ -n $rt ]] || { echo "error: cannot tell which runtime package $1 depends on" >&2; exit 1; }
  packages+=("$rt")
done
echo "[prepare] downloading ${#packages[@]} Debian packages: ${packages[*]}" >&2
rm -rf "$gpu/debs.tmp"
mkdir -p "$gpu/debs.tmp"
(cd "$gpu/debs.tmp" && apt-get download -q "${packages[@]}" 2>&1 | grep -v "^W: Download is performed unsandboxed" >&2 || true)
got=$(ls "$gpu/debs.tmp"/*.deb 2>/dev/null | wc -l)
[[ $got -eq ${#packages[@]} ]] || { echo "error: downloaded $got of ${#packages[@]} packages" >&2; exit 1; }
rm -rf "$gpu/debs"
mv "$gpu/debs.tmp" "$gpu/debs"
(cd "$gpu/debs" && sha256sum ./*.deb > SHA256SUMS)

# ------------------------------------------------------------------------------------------------------------ datasets
# run.sh trains each recipe's final model (its refit: train + valid) for a fixed number of epochs and tests it on the
# published test split, so only the refit folders travel (train.. valid splits before the refit are not needed).
mkdir -p "$gpu/data"
for name in amazon-games yoochoose-100k; do
  [[ -d $shared/$name ]] || { echo "error: $shared/$name does not exist (SEQREC_SHARED_DATA)" >&2; exit 1; }
  echo "[prepare] converting $shared/$name" >&2
  tmp=$gpu/convert.tmp
  rm -rf "$tmp"
  mkdir -p "$tmp"
  python3 bench/repro/convert.py "$name" "$shared/$name" "$tmp/$name"
  cp "$tmp/$name/conversion.json" "$tmp/$name-refit/conversion.json"
  rm -rf "$gpu/data/$name"
  mv "$tmp/$name-refit" "$gpu/data/$name"
  rm -rf "$tmp"
done
for name in amazon-games yoochoose-100k; do
  for split in train valid test; do
    m=$gpu/data/$name/sessions/$split/manifest.json
    python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print("[prepare] %-15s %-5s %7d rows %8d items" % (sys.argv[2], sys.argv[3], m["rows"], m["values"]))' "$m" "$name" "$split" >&2
  done
done

cat > "$gpu/README.txt" <<EOF
Made by bench/gpu/prepare.sh on $(date -u +%Y-%m-%dT%H:%MZ) ($(. /etc/os-release && echo "$PRETTY_NAME")).
debs/: Debian packages for bench/gpu/run.sh (dpkg -x into a private prefix). data/: research-only datasets
(amazon-games: SASRec's Video.txt; yoochoose-100k: CC BY-NC-ND derived sample): never commit, never redistribute.
EOF

# ---------------------------------------------------------------------------------------------------------------- sizes
du -sh "$gpu/debs" "$gpu/data" >&2
du -sh "$gpu" >&2
gpu_bytes=$(du -sb "$gpu" | cut -f1)
tree_bytes=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | sort -zu |
              xargs -0 -r stat -c %s -- 2>/dev/null | awk '{s += $1} END {print s + 0}')
total_mib=$(( (gpu_bytes + tree_bytes) / 1048576 ))
echo "[prepare] .gpu $(( gpu_bytes / 1048576 )) MiB + working tree $(( tree_bytes / 1048576 )) MiB = $total_mib MiB to carry (keep well under ${limit_mib} MiB; the device call allows 64 MiB)" >&2
if (( total_mib >= limit_mib )); then
  echo "error: $total_mib MiB is too much to carry" >&2
  exit 1
fi
echo "[prepare] done: now the device call with carry [\".gpu\"] and command 'bash bench/gpu/run.sh' (bench/gpu/README.md)" >&2
