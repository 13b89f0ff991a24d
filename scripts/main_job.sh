#!/usr/bin/env bash
# The main job: installs what is missing, builds, then runs the whole pipeline on the shipped UCI e-shop
# clickstream: ETL -> train -> evaluate (beside the popularity baseline) -> predict for a few sessions.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
start=$(date +%s)
out=${SEQREC_OUT:-out}
data=data/uci-eshop-clickstream-2008
mkdir -p "$out"

inputs=()
for f in "$data"/e-shop-clothing-2008-*.csv; do inputs+=(--input "$f"); done
echo "== etl: raw clicks -> sessions (last 14 days test, 14 before them valid)"
./build/seqrec etl "${inputs[@]}" --out "$out/uci" \
  --session-col "session ID" --item-col "page 2 (clothing model)" \
  --date-cols year,month,day --order-col order --drop-repeats \
  --max-length 20 --min-length 2 --split time --valid-days 14 --test-days 14

echo "== train: GPT-2 causal transformer, tied output layer"
./build/seqrec train --data "$out/uci" --run "$out/run" \
  --d-model 64 --heads 2 --layers 2 --dropout 0.1 --lr 1e-3 --batch-size 128 --epochs 10 --max-length 20 --seed 42

echo "== evaluate: test split, last item of each session, full ranking"
./build/seqrec evaluate --data "$out/uci" --run "$out/run" --k 10,20 --json "$out/metrics.json"

echo "== predict: top-5 for three sessions of 2008-08-13 (test days), their raw rows as the etl read them"
awk -F';' 'NR == 1 || $6 == 24007 || $6 == 24008 || $6 == 24011' "$data/e-shop-clothing-2008-08.csv" > "$out/predict_input.csv"
cat "$out/predict_input.csv"
./build/seqrec predict --data "$out/uci" --run "$out/run" --input "$out/predict_input.csv" --top-k 5

echo "== done in $(( $(date +%s) - start )) s (after the build); artifacts in $out/"
