#!/usr/bin/env bash
# bench/repro.sh end to end on a small made-up dataset in the YOOCHOOSE layout: converts, trains with valid choosing
# the epoch, retrains on train_full for that many epochs ("refit"), evaluates, and ends with one JSON line.
# Usage: repro_refit_test.sh SEQREC_BINARY
set -euo pipefail
seqrec=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/data" <<'PY'
import os, random, sys
out = sys.argv[1]
os.makedirs(out)
def sessions(seed, first, count, t):
    rng, rows = random.Random(seed), []
    for sid in range(first, first + count):
        item = rng.randint(1, 40)
        for _ in range(rng.randint(2, 6)):
            rows.append((sid, 1000 + item, t))
            t += 7
            item = item % 40 + 1 if rng.random() < 0.8 else rng.randint(1, 40)
    return rows
tr, va, te = sessions(1, 0, 300, 1.4e9), sessions(2, 300, 60, 1.4e9 + 9e4), sessions(3, 360, 60, 1.4e9 + 2e5)
for name, rows in (("train_tr", tr), ("train_valid", va), ("train_full", tr + va), ("test", te)):
    with open(os.path.join(out, "yoochoose-clicks-100k_%s.txt" % name), "w") as f:
        f.write("SessionId\tItemId\tTime\n" + "".join("%d\t%d\t%.1f\n" % r for r in rows))
PY
SEQREC=$seqrec OUT=$work/out THREADS=1 bash "$root/bench/repro.sh" yoochoose-100k "$work/data" > "$work/log" 2>&1 ||
  { cat "$work/log"; exit 1; }
python3 - "$work/out" "$(tail -1 "$work/log")" <<'PY'
import json, sys
out, last = sys.argv[1], json.loads(sys.argv[2])
valid = [json.loads(l) for l in open(out + "/run/metrics.jsonl")]
valid = [v for v in valid if v["type"] == "valid"]
chosen = max(valid, key=lambda v: v["selected"]["mrr@20"])["epoch"]
assert last["refit_epochs"] == chosen, (last["refit_epochs"], chosen)
refit = json.load(open(out + "/run-refit/config.json"))["train"]
assert refit["epochs"] == chosen and refit["patience"] == 0, refit
train = json.load(open(out + "/data-refit/sessions/train/manifest.json"))
valid_split = json.load(open(out + "/data-refit/sessions/valid/manifest.json"))
assert train["rows"] == 360 and valid_split["rows"] == 0, (train["rows"], valid_split["rows"])  # train_full, no valid
assert 0 < last["test"]["recall@20"] <= 1 and "markov" in last["baselines"], last
print("refit on train_full for", chosen, "epochs; test recall@20", last["test"]["recall@20"])
PY
