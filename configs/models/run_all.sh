#!/usr/bin/env bash
# Trains every example config (and each body's other valid maskings) on the shipped UCI e-shop clickstream and
# prints test Recall@20 / NDCG@20 per architecture x masking. Short runs: EPOCHS (default 1) epochs each on
# THREADS (default 1) threads.
# Usage: bash configs/models/run_all.sh [seqrec binary] [out folder]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-./build/seqrec}
out=${2:-out/model_zoo}
epochs=${EPOCHS:-1}
threads=${THREADS:-1}
data=data/uci-eshop-clickstream-2008
mkdir -p "$out"
if [ ! -f "$out/uci/schema.json" ]; then
  inputs=()
  for f in "$data"/e-shop-clothing-2008-*.csv; do inputs+=(--input "$f"); done
  "$bin" etl "${inputs[@]}" --out "$out/uci" \
    --session-col "session ID" --item-col "page 2 (clothing model)" \
    --date-cols year,month,day --order-col order --drop-repeats \
    --max-length 20 --min-length 2 --split time --valid-days 14 --test-days 14 >/dev/null
fi
runs=(gpt2_clm:clm sasrec:clm bert_mlm:mlm bert_mlm:clm albert_mlm:mlm albert_mlm:clm electra_rtd:rtd electra_rtd:mlm
      xlnet_plm:plm xlnet_plm:mlm xlnet_plm:clm transfo_xl_clm:clm gru:clm lstm:clm)
printf "%-12s %-7s %10s %10s %8s\n" architecture masking recall@20 ndcg@20 seconds
for run in "${runs[@]}"; do
  name=${run%%:*} masking=${run##*:}
  config="$out/$name.$masking.yaml"
  sed -E "s/^(  scheme:).*/\1 $masking/" "configs/models/$name.yaml" > "$config"
  start=$(date +%s)
  "$bin" train --data "$out/uci" --run "$out/run_$name.$masking" --model-config "$config" \
    --epochs "$epochs" --batch-size 128 --lr 1e-3 --seed 42 --threads "$threads" >"$out/train_$name.$masking.log" 2>&1
  "$bin" evaluate --data "$out/uci" --run "$out/run_$name.$masking" --k 20 --baselines none --threads "$threads" \
    --json "$out/metrics_$name.$masking.json" >/dev/null 2>&1
  arch=$(grep -m1 '^architecture:' "$config" | awk '{print $2}')
  python3 - "$out/metrics_$name.$masking.json" "$arch" "$masking" "$(( $(date +%s) - start ))" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
def find(o, key):
    if isinstance(o, dict):
        if key in o: return o[key]
        for v in o.values():
            r = find(v, key)
            if r is not None: return r
    if isinstance(o, list):
        for v in o:
            r = find(v, key)
            if r is not None: return r
    return None
print("%-12s %-7s %10.4f %10.4f %8s" % (sys.argv[2], sys.argv[3], find(j, "recall@20"), find(j, "ndcg@20"), sys.argv[4]))
PY
done
