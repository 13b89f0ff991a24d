#!/usr/bin/env bash
# Side features vs item ids only: for each dataset, trains the same model twice, once on the item ids alone
# (--features none) and once with every side feature the ETL writes (--features auto), with the same seed and
# settings otherwise. The checkpoint of each run is chosen on the valid split (--select-metric ndcg@20, --patience);
# the test split is evaluated once per run, after all training is done. Prints a Markdown table and writes it to
# OUT_DIR/table.md (results.json beside it; the data, the runs and their logs under OUT_DIR too).
#
#   bash bench/side_features.sh [OUT_DIR]          (default out/side_features)
#
# Environment:
#   SEQREC    the binary (default build/seqrec)
#   DATASETS  subset of "uci synth beauty" (default all three)
#   SHARED    the shared data folder with amazon-beauty/ (default /work/shared/data, else ../shared/data from the repo)
#   THREADS   CPU threads per seqrec command (default 1)
#   UCI_EPOCHS, SYNTH_EPOCHS, BEAUTY_EPOCHS   epoch caps (defaults 30, 30, 20; patience 5 on valid stops earlier)
#   UCI_MAX_SECONDS, SYNTH_MAX_SECONDS, BEAUTY_MAX_SECONDS   wall-clock cap per training run, a safety net
#                                                            (defaults 180, 180, 540); a run that hits it says so
# Datasets:
#   uci     data/uci-eshop-clickstream-2008, configs/etl/uci_eshop.json as is (last 14 days test, 14 before valid);
#           last-item protocol, full ranking.
#   synth   seqrec synth --sessions 20000 --items 2000 --days 7 --seed 1, bench/side_features/synth.json (last day
#           test, the day before valid); last-item protocol, full ranking.
#   beauty  SHARED/amazon-beauty (S3-Rec/ICLRec files) through bench/side_features/beauty_events.py and
#           bench/side_features/beauty.json: the published leave-one-out split (train = seq[:-2], valid = seq[:-1],
#           test = seq), full ranking with the user's history excluded; side features = the item's first and last
#           attribute id.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
here=$root/bench/side_features
abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }

out=$(abspath "${1:-$root/out/side_features}")
if [[ -n ${SEQREC:-} ]]; then seqrec=$(abspath "$SEQREC"); else seqrec=$root/build/seqrec; fi
[[ -x $seqrec ]] || { echo "error: no seqrec binary at $seqrec (build it, or set SEQREC)" >&2; exit 2; }
if [[ -n ${SHARED:-} ]]; then
  shared=$(abspath "$SHARED")
elif [[ -d /work/shared/data ]]; then
  shared=/work/shared/data
else
  shared=$root/../shared/data
fi
datasets=${DATASETS:-uci synth beauty}
threads=${THREADS:-1}
for d in $datasets; do
  case $d in uci | synth | beauty) ;; *) echo "error: unknown dataset '$d' in DATASETS (uci, synth, beauty)" >&2; exit 2 ;; esac
done

log() { echo "[side_features] $*" >&2; }
now_ns() { date +%s%N; }
mkdir -p "$out"
script_start=$(now_ns)
log "binary $seqrec; out $out; datasets: $datasets; threads $threads"

# The model and the optimiser are the same for every run; the per-dataset settings below only add to them, and
# both runs of a dataset get exactly the same flags except --features.
common=(--architecture gpt2 --d-model 64 --num-heads 2 --num-layers 2 --batch-size 128 --seed 42
        --select-metric ndcg@20 --k 10,20 --patience 5 --threads "$threads")

declare -A train_flags eval_flags protocol_label
train_flags[uci]="--epochs ${UCI_EPOCHS:-30} --max-seconds ${UCI_MAX_SECONDS:-180} --dropout 0.1 --learning-rate 0.001 --valid-protocol last-item"
eval_flags[uci]="--protocol last-item"
protocol_label[uci]="time split (14 d valid, 14 d test), last-item"
train_flags[synth]="--epochs ${SYNTH_EPOCHS:-30} --max-seconds ${SYNTH_MAX_SECONDS:-180} --dropout 0.1 --learning-rate 0.001 --valid-protocol last-item"
eval_flags[synth]="--protocol last-item"
protocol_label[synth]="time split (1 d valid, 1 d test), last-item"
# Beauty: the bench/repro recipe's optimiser settings (configs/repro/amazon-beauty.json) at a smaller epoch budget.
train_flags[beauty]="--epochs ${BEAUTY_EPOCHS:-20} --max-seconds ${BEAUTY_MAX_SECONDS:-540} --max-length 50 --dropout 0.5 --learning-rate 0.002 --weight-decay 0 --clip-grad-norm 1.0 --warmup-steps 20 --bucket-by-length --valid-protocol leave-one-out --valid-exclude-seen"
eval_flags[beauty]="--protocol leave-one-out --exclude-seen"
protocol_label[beauty]="leave-one-out (published split), seen excluded"

# ---------------------------------------------------------------------------------------------------- 1. data
prepare() {
  local d=$1 data=$out/$1/data
  rm -rf "$data"
  mkdir -p "$out/$d"
  case $d in
    uci)
      shopt -s nullglob
      local files=("$root"/data/uci-eshop-clickstream-2008/e-shop-clothing-2008-0*.csv)
      shopt -u nullglob
      [[ ${#files[@]} -gt 0 ]] || { echo "error: no UCI csv files under $root/data/uci-eshop-clickstream-2008" >&2; exit 2; }
      "$seqrec" etl run --workflow "$root/configs/etl/uci_eshop.json" --input "${files[@]}" --out "$data" \
        --threads "$threads" 2>"$out/$d/etl.log"
      ;;
    synth)
      "$seqrec" synth --out "$out/$d/events.csv" --sessions 20000 --items 2000 --days 7 --seed 1 2>"$out/$d/synth.log"
      "$seqrec" etl run --workflow "$here/synth.json" --input "$out/$d/events.csv" --out "$data" \
        --threads "$threads" 2>"$out/$d/etl.log"
      ;;
    beauty)
      local src=$shared/amazon-beauty
      [[ -f $src/Beauty.txt && -f $src/Beauty_item2attributes.json ]] ||
        { echo "error: $src/Beauty.txt and Beauty_item2attributes.json are needed (set SHARED)" >&2; exit 2; }
      python3 "$here/beauty_events.py" "$src/Beauty.txt" "$src/Beauty_item2attributes.json" "$out/$d/events.csv" \
        2>"$out/$d/convert.log"
      cat "$out/$d/convert.log" >&2
      "$seqrec" etl run --workflow "$here/beauty.json" --input "$out/$d/events.csv" --out "$data" \
        --threads "$threads" 2>"$out/$d/etl.log"
      ;;
  esac
  grep -E "sessions; written" "$out/$d/etl.log" | sed "s/^/[side_features] $d: /" >&2 || true
}

# ---------------------------------------------------------------------------------------------------- 2. train
train() {
  local d=$1 inputs=$2 run=$out/$1/run-$2 start
  rm -rf "$run"
  log "$d: training, --features $inputs"
  start=$(now_ns)
  # shellcheck disable=SC2086
  if ! "$seqrec" train --data "$out/$d/data" --run "$run" --features "$inputs" "${common[@]}" ${train_flags[$d]} \
      2>"$out/$d/train-$inputs.log"; then
    tail -20 "$out/$d/train-$inputs.log" >&2
    echo "error: training $d --features $inputs failed (log: $out/$d/train-$inputs.log)" >&2
    exit 1
  fi
  echo $(( ($(now_ns) - start) / 1000000 )) >"$run.train_ms"
  grep -E "^\[train\] side features:" "$out/$d/train-$inputs.log" | sed "s/^\[train\]/[side_features] $d:/" >&2 || true
  grep -E "^\[train\] (finished|early stopping|time budget) after" "$out/$d/train-$inputs.log" |
    sed "s/^\[train\]/[side_features] $d:/" >&2 || true
  if grep -q "^\[train\] time budget after" "$out/$d/train-$inputs.log"; then
    log "WARNING: $d --features $inputs hit --max-seconds; its epoch count may differ from the other row's"
  fi
}

# ---------------------------------------------------------------------------------------------------- 3. test
evaluate() {
  local d=$1 inputs=$2 run=$out/$1/run-$2
  log "$d: test evaluation, --features $inputs (${eval_flags[$d]})"
  # shellcheck disable=SC2086
  "$seqrec" evaluate --data "$out/$d/data" --run "$run" --split test --k 10,20 ${eval_flags[$d]} --baselines none \
    --threads "$threads" --json "$run.test.json" 2>"$out/$d/test-$inputs.log" >/dev/null
}

for d in $datasets; do
  log "$d: preparing the data"
  prepare "$d"
done
for d in $datasets; do
  for inputs in none auto; do train "$d" "$inputs"; done
done
for d in $datasets; do
  for inputs in none auto; do evaluate "$d" "$inputs"; done
done

# ---------------------------------------------------------------------------------------------------- 4. table
protocols_json=$(for d in $datasets; do printf '%s\t%s\n' "$d" "${protocol_label[$d]}"; done)
PROTOCOLS=$protocols_json python3 - "$out" $datasets <<'PY'
import json, os, re, sys

out, datasets = sys.argv[1], sys.argv[2:]
labels = dict(line.split("\t", 1) for line in os.environ["PROTOCOLS"].splitlines() if line)
rows, results = [], []
for d in datasets:
    per = {}
    for inputs in ("none", "auto"):
        run = os.path.join(out, d, "run-" + inputs)
        valid = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl")) if '"valid"' in l]
        valid = [v for v in valid if v.get("type") == "valid"]
        best = max(valid, key=lambda v: v["selected"]["ndcg@20"])  # the first of equal bests, as the trainer keeps
        log = open(os.path.join(out, d, "train-%s.log" % inputs)).read()
        m = re.search(r"^\[train\] side features: (.*)$", log, re.M)
        features = m.group(1).strip() if m else "?"
        m = re.search(r"^\[train\] (finished|early stopping|time budget) after", log, re.M)
        stop = m.group(1) if m else "?"
        test = json.load(open(run + ".test.json"))
        metrics = test["results"][0]["metrics"]
        seconds = int(open(run + ".train_ms").read()) / 1000.0
        r = {"dataset": d, "protocol": labels[d], "inputs": inputs, "features": features,
             "valid_ndcg@20": best["metrics"]["ndcg@20"], "best_epoch": best["epoch"],
             "epochs_run": max(v["epoch"] for v in valid), "stop": stop, "train_seconds": seconds,
             "test": {k: metrics[k] for k in ("recall@10", "ndcg@10", "recall@20", "ndcg@20")},
             "test_predictions": test["results"][0].get("predictions"), "test_protocol": test.get("protocol")}
        per[inputs] = r
        results.append(r)
    for inputs in ("none", "auto"):
        r = per[inputs]
        label = "item ids only" if inputs == "none" else "item ids + " + r["features"]
        rows.append("| %s | %s | %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.0f | %d / %d (%s) |" % (
            d, r["protocol"], label, r["valid_ndcg@20"], r["test"]["recall@10"], r["test"]["ndcg@10"],
            r["test"]["recall@20"], r["test"]["ndcg@20"], r["train_seconds"], r["best_epoch"], r["epochs_run"], r["stop"]))

lines = ["| dataset | protocol | inputs | valid ndcg@20 | test recall@10 | test ndcg@10 | test recall@20 | test ndcg@20 "
         "| train seconds | best / last epoch (stop) |",
         "|---|---|---|---|---|---|---|---|---|---|"] + rows
lines.append("")
for d in datasets:
    a = {r["inputs"]: r for r in results if r["dataset"] == d}
    def rel(key, where="test"):
        x = a["none"][where][key] if where else a["none"][key]
        y = a["auto"][where][key] if where else a["auto"][key]
        return "%+.1f%%" % (100.0 * (y - x) / x) if x else "n/a"
    lines.append("- %s, side features vs item ids only: valid ndcg@20 %s; test recall@10 %s, ndcg@10 %s, recall@20 %s, "
                 "ndcg@20 %s (%d test predictions; one seed)" % (
                     d, rel("valid_ndcg@20", None), rel("recall@10"), rel("ndcg@10"), rel("recall@20"), rel("ndcg@20"),
                     a["none"]["test_predictions"] or 0))
text = "\n".join(lines) + "\n"
with open(os.path.join(out, "table.md"), "w") as f:
    f.write(text)
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f, indent=2)
    f.write("\n")
print(text, end="")
PY
log "done in $(( ($(now_ns) - script_start) / 1000000000 )) s; table in $out/table.md"
