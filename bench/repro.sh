#!/usr/bin/env bash
# Reproduces a published result on real data: converts the dataset, trains with configs/repro/NAME.json, evaluates
# the test split with that dataset's published protocol, and prints our figures beside the published ones and the
# baselines'. The last line of the output is one JSON object with the test metrics.
#
#   bench/repro.sh NAME DATA_DIR          NAME: diginetica | yoochoose-100k | amazon-beauty | amazon-games
#
# Environment: SEQREC (the binary; default: the first of build/seqrec, build-*/seqrec), OUT (default out/repro/NAME),
# THREADS (default 0 = all cores).
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: bench/repro.sh NAME DATA_DIR   (NAME: $(ls "$(dirname "$0")/../configs/repro" | sed 's/\.json$//' | tr '\n' ' '))" >&2
  exit 2
fi
name=$1
data_dir=$2
root=$(cd "$(dirname "$0")/.." && pwd)
config="$root/configs/repro/$name.json"
[[ -f $config ]] || { echo "error: no recipe $config" >&2; exit 2; }
[[ -d $data_dir ]] || { echo "error: data folder '$data_dir' does not exist" >&2; exit 2; }
seqrec=${SEQREC:-}
if [[ -z $seqrec ]]; then
  for candidate in "$root"/build/seqrec "$root"/build-*/seqrec; do
    [[ -x $candidate ]] && { seqrec=$candidate; break; }
  done
fi
[[ -n $seqrec && -x $seqrec ]] || { echo "error: build seqrec first (scripts/build.sh) or set SEQREC" >&2; exit 2; }
out=${OUT:-$root/out/repro/$name}
threads=${THREADS:-0}
mkdir -p "$out"
start=$(date +%s%N)

echo "[repro] converting $data_dir -> $out/data" >&2
python3 "$root/bench/repro/convert.py" "$name" "$data_dir" "$out/data"

echo "[repro] training with $config" >&2
train_start=$(date +%s%N)
rm -rf "$out/run"
"$seqrec" train --data "$out/data" --run "$out/run" --train-config "$config" --threads "$threads" >&2

# The evaluation flags come from the recipe's "evaluate" section.
eval_flags=$(python3 - "$config" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["evaluate"]
flags = ["--protocol", e["protocol"], "--k", e.get("k", "10,20")]
if e.get("exclude_seen"): flags.append("--exclude-seen")
if e.get("sampled_negatives"): flags += ["--sampled-negatives", str(e["sampled_negatives"])]
if "hybrid_sknn" in e: flags += ["--hybrid-sknn", str(e["hybrid_sknn"])]
for key in ("sknn_neighbors", "sknn_sample", "sknn_prefix_decay", "sknn_neighbor_decay", "sknn_idf"):
    if key in e: flags += ["--" + key.replace("_", "-"), str(e[key])]
print(" ".join(flags))
PY
)
# A recipe with "refit": "train+valid" then trains once more on all the training data (train and valid; the session
# datasets' published runs train on all of it) for the number of epochs valid chose, with no valid split, and
# evaluates that model (and, for the record, the model before the refit).
run=$out/run
eval_data=$out/data
final_train=(--data "$out/data" --train-config "$config" --threads "$threads")  # how the evaluated model was trained
refit=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("refit", ""))' "$config")
if [[ $refit == train+valid ]]; then
  best_epoch=$(python3 - "$out/run/metrics.jsonl" <<'PY'
import json, sys
valid = [json.loads(l) for l in open(sys.argv[1]) if '"valid"' in l]
valid = [v for v in valid if v.get("type") == "valid"]
best = max(valid, key=lambda v: list(v["selected"].values())[0])  # the first of equal bests, as the trainer keeps
print(best["epoch"])
PY
)
  echo "[repro] refit: training on train + valid for $best_epoch epochs (the epoch valid chose), no valid split" >&2
  rm -rf "$out/run-refit"
  "$seqrec" train --data "$out/data-refit" --run "$out/run-refit" --train-config "$config" --epochs "$best_epoch" \
    --patience 0 --threads "$threads" >&2
  run=$out/run-refit
  eval_data=$out/data-refit
  final_train=(--data "$out/data-refit" --train-config "$config" --epochs "$best_epoch" --patience 0 --threads "$threads")
fi
# A recipe's "ensemble": {"seeds": [...]} trains the evaluated model again with each seed; the test averages them all
# (evaluate --ensemble; the model before the refit stays alone).
ensemble_flags=()
for seed in $(python3 -c 'import json, sys; print(*json.load(open(sys.argv[1])).get("ensemble", {}).get("seeds", []))' "$config"); do
  echo "[repro] ensemble: training the evaluated model again with seed $seed" >&2
  rm -rf "$run-seed$seed"
  "$seqrec" train "${final_train[@]}" --run "$run-seed$seed" --seed "$seed" >&2
  ensemble_flags+=(--ensemble "$run-seed$seed")
done
train_seconds=$(( ($(date +%s%N) - train_start) / 1000000 ))e-3

echo "[repro] evaluating the test split: $eval_flags" >&2
# shellcheck disable=SC2086
"$seqrec" evaluate --data "$eval_data" --run "$run" "${ensemble_flags[@]}" --split test $eval_flags \
  --baselines popularity,markov,sknn --threads "$threads" \
  --json "$out/test.json" >&2
before_refit=()
if [[ $refit == train+valid ]]; then
  echo "[repro] also evaluating the model before the refit (trained on train only), for the record" >&2
  # shellcheck disable=SC2086
  "$seqrec" evaluate --data "$out/data" --run "$out/run" --split test $eval_flags --threads "$threads" \
    --json "$out/test-before-refit.json" >&2
  before_refit=("$out/test-before-refit.json")
fi
total_seconds=$(( ($(date +%s%N) - start) / 1000000 ))e-3
python3 "$root/bench/repro/compare.py" "$name" "$config" "$out/test.json" "$train_seconds" "$total_seconds" "$run" \
  "${before_refit[@]}"
