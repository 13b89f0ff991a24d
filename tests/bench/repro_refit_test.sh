#!/usr/bin/env bash
# bench/repro.sh end to end on a small made-up dataset in the YOOCHOOSE layout: converts, trains with valid choosing
# the epoch, retrains on train_full for that many epochs ("refit") and again with a second seed (the recipe's
# ensemble), evaluates the average mixed with STAN-weighted session kNN, and ends with one JSON line.
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
# The YOOCHOOSE recipe with an ensemble and a STAN-weighted kNN hybrid, in a copy of the scripts (repro.sh reads
# the recipe beside it).
mkdir -p "$work/root"
cp -r "$root/bench" "$root/configs" "$work/root/"
python3 - "$work/root/configs/repro/yoochoose-100k.json" <<'PY'
import json, sys
recipe = json.load(open(sys.argv[1]))
recipe["ensemble"] = {"seeds": [7]}
recipe["evaluate"].update(hybrid_sknn=0.3, sknn_prefix_decay=2, sknn_neighbor_decay=4, sknn_idf=1)
json.dump(recipe, open(sys.argv[1], "w"))
PY
SEQREC=$seqrec OUT=$work/out THREADS=1 bash "$work/root/bench/repro.sh" yoochoose-100k "$work/data" > "$work/log" 2>&1 ||
  { cat "$work/log"; exit 1; }
python3 - "$work/out" "$(tail -1 "$work/log")" "$work/log" <<'PY'
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
second = json.load(open(out + "/run-refit-seed7/config.json"))["train"]
assert second["seed"] == 7 and second["epochs"] == chosen, second
names = [r["name"] for r in json.load(open(out + "/test.json"))["results"]]
assert names[:2] == ["gpt2x2", "gpt2x2+sknn"], names  # the two refit models averaged, then the hybrid (ours)
assert 0 <= last["before_refit"]["recall@20"] <= 1, last  # the model trained on train only, reported beside
grep_log = open(sys.argv[3]).read()
assert "--sknn-neighbor-decay 4" in grep_log, "the recipe's kNN keys reach evaluate"
print("refit on train_full for", chosen, "epochs, twice (seeds); test recall@20", last["test"]["recall@20"],
      "(before the refit", last["before_refit"]["recall@20"], ")")
PY

# Leave-one-out (Amazon): the refit's training rows are seq[:-1] (train + the valid item) for evaluated users and
# the whole sequence for users too short to evaluate; the test item is never in them.
mkdir -p "$work/beauty"
printf 'u1 11 12 13 14 15\nu2 21 22\nu3 31 32 33\n' > "$work/beauty/Beauty.txt"
python3 "$root/bench/repro/convert.py" amazon-beauty "$work/beauty" "$work/beauty-out" 2> /dev/null
python3 - "$work/beauty-out" <<'PY'
import json, sys
out = sys.argv[1]
rows = lambda d, split: json.load(open("%s/sessions/%s/manifest.json" % (d, split)))
assert (rows(out, "train")["rows"], rows(out, "train")["values"]) == (3, 3 + 2 + 1), rows(out, "train")
refit = rows(out + "-refit", "train")
assert (refit["rows"], refit["values"]) == (3, 4 + 2 + 2), refit
assert rows(out + "-refit", "valid")["rows"] == 0 and rows(out + "-refit", "test")["values"] == 5 + 3
print("leave-one-out refit rows: seq[:-1] for evaluated users")
PY
