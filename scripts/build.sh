#!/usr/bin/env bash
# Installs what is missing, then configures and builds seqrec (Release) in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" 2>&1 | grep -E "error|warning|Error" || true
test -x build/seqrec || { echo "build failed: run 'cmake --build build' to see why" >&2; exit 1; }
