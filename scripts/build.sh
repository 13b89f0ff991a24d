#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), then configures and builds seqrec (Release) in build/.
# Shows the build's progress lines and every warning or error; exits non-zero when the build fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" | grep -E "^-- seqrec|Error|Warning" || true
# Progress ("[ 42%] Building ...") and diagnostics; the build's own status decides (pipefail), never a stale binary.
cmake --build build -j"$(nproc)" 2>&1 | grep --line-buffered -E "^\[ *[0-9]+%\]|error|warning|Error" || {
  status=("${PIPESTATUS[@]}")
  [ "${status[0]}" -eq 0 ] || { echo "build failed: run 'cmake --build build' to see why" >&2; exit 1; }
}
