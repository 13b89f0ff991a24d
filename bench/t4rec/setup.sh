#!/usr/bin/env bash
# Creates bench/.venv-t4rec (git-ignored) with Transformers4Rec 23.12, NVTabular 23.8 and their pins
# (bench/t4rec/requirements.txt), for bench/t4rec/run.sh. Idempotent: a venv whose stamp matches requirements.txt is
# left as it is. Needs CPython 3.8-3.11 (pandas 1.5.3, pinned by merlin-core 23.8, has no wheels for 3.12+): PYTHON
# (default: python3.11 if on PATH, else python3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=$root/bench/.venv-t4rec
req=$here/requirements.txt
stamp=$venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [[ -x $venv/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  echo "[t4rec setup] $venv is up to date" >&2
  exit 0
fi
py=${PYTHON:-}
if [[ -z $py ]]; then
  if command -v python3.11 >/dev/null; then py=python3.11; else py=python3; fi
fi
version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case $version in
  3.8|3.9|3.10|3.11) ;;
  *) echo "error: $py is Python $version; Transformers4Rec 23.12 with merlin-core 23.8 (pandas<1.6) needs 3.8-3.11 (set PYTHON)" >&2
     exit 2 ;;
esac
echo "[t4rec setup] creating $venv with $py ($version)" >&2
rm -rf "$venv"
"$py" -m venv "$venv"
# The venv's own pip (23.2 with CPython 3.11.7): newer pips refuse transformers4rec 23.12's metadata ("Distributions
# from PyPI cannot declare direct URL dependencies": its docs extra names git+https URLs), so pip is not upgraded.
"$venv/bin/python" -m pip install --quiet -r "$req" >&2
"$venv/bin/python" -W ignore -c 'import torch, transformers4rec.torch, nvtabular, merlin.dataloader; print("[t4rec setup] ok: torch", torch.__version__)' >&2
echo "$want" > "$stamp"
