#!/usr/bin/env bash
# A LibTorch outside 2.11-2.15 (here a stand-in for Debian's 1.13) stops the configure with a message naming the
# version found and the range seqrec needs.
set -uo pipefail
cmake=$1 source=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
log=$("$cmake" -S "$source" -B "$out" -DTorch_DIR="$source/tests/build/fake_torch_1_13" 2>&1)
status=$?
[ "$status" -ne 0 ] || { echo "configure passed with LibTorch 1.13"; exit 1; }
echo "$log" | tr -s ' \n' ' ' | grep -q "LibTorch 1.13.1 found in .*seqrec needs LibTorch *2.11-2.15" ||
  { echo "no clear message:"; echo "$log"; exit 1; }
echo "refused as it should be"
