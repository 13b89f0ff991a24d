#!/usr/bin/env bash
# The README runner and the claims check themselves: the runner accepts what it should and fails, naming the file and
# line, on a failing command or an output of another shape; the claims check fails on a README flag no test drives.
set -euo pipefail
seqrec="$1" source="$2"
here="$source/tests/readme"
runner=(python3 "$here/run_readme_blocks.py" --seqrec "$seqrec" --source "$source")
out="$("${runner[@]}" "$here/selftest/passes.md" 2>&1)" || { echo "passes.md failed:"; echo "$out"; exit 1; }
grep -q "3 blocks ran, 1 skipped (marked), 0 failed" <<<"$out" || { echo "unexpected counts:"; echo "$out"; exit 1; }
for case in fails_exit fails_shape; do
  if out="$("${runner[@]}" "$here/selftest/$case.md" 2>&1)"; then
    echo "$case.md should have failed:"; echo "$out"; exit 1
  fi
  grep -q "FAIL .*$case.md:1:" <<<"$out" || { echo "$case.md: the failure does not name the block:"; echo "$out"; exit 1; }
done
grep -q "does not have the shape shown" <<<"$out" || { echo "fails_shape.md: no shape message"; exit 1; }
echo "runner self-test passed"

# The claims check fails on a README flag no test drives, naming it.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for name in src tests configs; do ln -s "$source/$name" "$scratch/$name"; done
{ cat "$source/README.md"; echo; echo 'A made-up flag: `seqrec train --no-such-knob`.'; } > "$scratch/README.md"
if out="$(python3 "$here/check_claims.py" "$scratch" 2>&1)"; then
  echo "check_claims.py accepted a flag without a test:"; echo "$out"; exit 1
fi
grep -q "flag '--no-such-knob' has no row" <<<"$out" || { echo "check_claims.py did not name the flag:"; echo "$out"; exit 1; }
echo "claims check self-test passed"
