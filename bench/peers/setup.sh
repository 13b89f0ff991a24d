#!/usr/bin/env bash
# Creates or updates the peers' venv, bench/.venv-peers (git-ignored): torch 2.13.0 (the version seqrec links), numpy<2,
# RecBole 1.2.1 and what it needs (bench/peers/requirements.txt). Idempotent: quiet when all is there.
#   PEERS_VENV=DIR   where the venv lives (default bench/.venv-peers)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${PEERS_VENV:-$root/bench/.venv-peers}"
requirements="$root/bench/peers/requirements.txt"

check='
import sys, importlib.metadata as m
import torch, numpy, recbole, pandas
from recbole.quick_start import run_recbole  # imports ray, the first to break on a wrong setuptools
assert torch.__version__.split("+")[0] == "2.13.0", torch.__version__
assert int(numpy.__version__.split(".")[0]) < 2, numpy.__version__
assert m.version("recbole") == "1.2.1", m.version("recbole")
assert int(pandas.__version__.split(".")[0]) < 3, pandas.__version__
'
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -W ignore -c "$check" >/dev/null 2>&1; then
  exit 0
fi

# The torch wheels here are built for CPython 3.11: the python3 on PATH (pyenv), else Debian's.
python=""
for candidate in python3.11 python3 /usr/bin/python3.11; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys, venv; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
    python="$candidate"; break
  fi
done
[ -n "$python" ] || { echo "[peers] needs CPython 3.11 with venv for the torch 2.13.0 wheel" >&2; exit 1; }

echo "[peers] installing $venv (torch 2.13.0, numpy<2, RecBole 1.2.1)" >&2
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" 2>&1 | grep -v "^WARNING: Location" >&2 || true
"$venv/bin/python" -W ignore -c "$check" || { echo "[peers] $venv is incomplete after installing $requirements" >&2; exit 1; }
