#!/usr/bin/env bash
# seqrec beside Transformers4Rec 23.12 + NVTabular 23.8 (CPU), same data, same settings, one command:
#
#   bash bench/t4rec/run.sh [DATA_DIR]        DATA_DIR: yoochoose-100k (default ../shared/data/yoochoose-100k)
#
# 1. sets up bench/.venv-t4rec if missing (bench/t4rec/setup.sh);
# 2. converts yoochoose-100k with bench/repro/convert.py (train = train_full, test = test) and cuts every session to
#    its last MAX_LENGTH items; both sides read exactly these sessions and item ids (t4rec_train.py prepare);
# 3. ETL: `seqrec etl run --workflow configs/etl/t4rec_session_pipeline.json` beside NVTabular's CPU workflow for the
#    same pipeline (nvt_etl.py), on the same `seqrec synth` events (ETL_SESSIONS sessions);
# 4. for XLNet and GPT-2 (clm masking, d_model 320, 8 heads, 2 layers, max length 20), alternately: seqrec train +
#    evaluate, then T4Rec's Trainer; same epochs, batch size, learning rate and schedule, optimizer (AdamW, no weight
#    decay), gradient clipping, dropout, tied output layer, plain cross-entropy;
# 5. prints a side-by-side table and, last, one JSON line.
# Test protocol on both sides: the last item of each test session, predicted from the items before it, ranked against
# the whole catalogue (T4Rec's clm evaluation; `seqrec evaluate --protocol last-item`), Recall@20 and NDCG@20.
#
# Environment: SEQREC (default build/seqrec), OUT (default out/t4rec), EPOCHS (2), BATCH (128), LR (0.001),
# DROPOUT (0.1), THREADS (2), SEED (42), ETL_SESSIONS (20000; 0 skips the ETL part), ARCHS ("xlnet gpt2"),
# XLNET_ATTN ("uni": T4Rec's XLNet built causal, as seqrec's clm is; "uni bi" also runs T4Rec's default "bi",
# which with clm masking has no causal mask: each position, the last one evaluated included, attends to the next item).
# Two epochs by default, to stay near 20 minutes on 2 cores: measured 20.3 minutes with another 2-thread benchmark
# sharing the machine part of the time (one epoch: 9.3 minutes, the extra XLNet "bi" run included, lightly loaded).
# T4Rec's training is most of it.
set -euo pipefail
trap 'echo "error: bench/t4rec/run.sh failed at line $LINENO" >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data_dir=${1:-$root/../shared/data/yoochoose-100k}
seqrec=${SEQREC:-$root/build/seqrec}
out=${OUT:-$root/out/t4rec}
epochs=${EPOCHS:-2}
batch=${BATCH:-128}
lr=${LR:-0.001}
dropout=${DROPOUT:-0.1}
threads=${THREADS:-2}
seed=${SEED:-42}
etl_sessions=${ETL_SESSIONS:-20000}
archs=${ARCHS:-xlnet gpt2}
xlnet_attn=${XLNET_ATTN:-uni}
d_model=320 heads=8 layers=2 max_length=20
[[ -d $data_dir ]] || { echo "error: data folder '$data_dir' does not exist" >&2; exit 2; }
[[ -x $seqrec ]] || { echo "error: no seqrec binary at '$seqrec' (build it, or set SEQREC)" >&2; exit 2; }
venv_py=$root/bench/.venv-t4rec/bin/python
bash "$here/setup.sh"
mkdir -p "$out/results"
rm -f "$out"/results/*.json
export PYTHONWARNINGS=ignore OMP_NUM_THREADS=$threads
start=$(date +%s)

# Runs a command, writing "wall user sys" seconds (GNU time when there is one, else wall only) to $1.
timed() {
  local file=$1; shift
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f '%e %U %S' -o "$file" "$@"
  else
    local t0; t0=$(date +%s%N)
    "$@"
    echo "$(( ($(date +%s%N) - t0) / 1000000 ))e-3 null null" > "$file"
  fi
}

echo "[t4rec] converting $data_dir (train = train_full, test = test), sessions cut to the last $max_length items" >&2
python3 "$root/bench/repro/convert.py" yoochoose-100k "$data_dir" "$out/convert/data" 2>/dev/null
"$venv_py" "$here/t4rec_train.py" prepare --seqrec-data "$out/convert/data-refit" --out "$out/data" \
  --max-length "$max_length" > "$out/results/prepare.json"

if [[ $etl_sessions -gt 0 ]]; then
  echo "[t4rec] ETL: $etl_sessions synthetic sessions, seqrec etl run vs NVTabular (CPU)" >&2
  mkdir -p "$out/etl"
  "$seqrec" synth --out "$out/etl/events.csv" --sessions "$etl_sessions" --items 2000 --days 7 --seed 1
  rm -rf "$out/etl/seqrec"
  timed "$out/results/etl-seqrec.time" "$seqrec" etl run --workflow "$root/configs/etl/t4rec_session_pipeline.json" \
    --input "$out/etl/events.csv" --out "$out/etl/seqrec" --threads "$threads" > "$out/etl/seqrec.log" 2>&1
  cp "$out/etl/seqrec/summary.json" "$out/results/etl-seqrec.json"
  timed "$out/results/etl-nvt.time" "$venv_py" "$here/nvt_etl.py" --input "$out/etl/events.csv" --out "$out/etl/nvt" \
    > "$out/results/etl-nvt.json" 2> "$out/etl/nvt.log" || echo "[t4rec] NVTabular ETL failed: see $out/etl/nvt.log" >&2
fi

common=(--epochs "$epochs" --batch-size "$batch" --lr "$lr" --seed "$seed")
for arch in $archs; do
  cat > "$out/$arch.json" <<EOF
{"architecture": "$arch", "d_model": $d_model, "num_heads": $heads, "num_layers": $layers, "max_length": $max_length,
 "dropout": $dropout, "masking": {"scheme": "clm"}, "head": {"weight_tying": true, "label_smoothing": 0.0}}
EOF
  echo "[t4rec] seqrec $arch: train ($epochs epochs) + evaluate" >&2
  rm -rf "$out/run-seqrec-$arch"
  timed "$out/results/seqrec-$arch.time" "$seqrec" train --data "$out/data" --run "$out/run-seqrec-$arch" \
    --model-config "$out/$arch.json" "${common[@]}" --schedule linear --warmup-steps 0 --weight-decay 0 \
    --clip-grad-norm 1.0 --threads "$threads" > "$out/run-seqrec-$arch.log" 2>&1
  "$seqrec" evaluate --data "$out/data" --run "$out/run-seqrec-$arch" --split test --protocol last-item --k 10,20 \
    --baselines popularity --threads "$threads" --json "$out/results/seqrec-$arch.json" >> "$out/run-seqrec-$arch.log" 2>&1
  attns=default
  [[ $arch == xlnet ]] && attns=$xlnet_attn
  for attn in $attns; do
    name=t4rec-$arch
    flags=()
    if [[ $attn != default ]]; then name=t4rec-$arch-$attn; flags=(--xlnet-attn-type "$attn"); fi
    echo "[t4rec] Transformers4Rec $arch${flags[*]:+ (attn_type $attn)}: train ($epochs epochs) + evaluate" >&2
    timed "$out/results/$name.time" "$venv_py" "$here/t4rec_train.py" train --data "$out/data" --arch "$arch" \
      "${flags[@]}" --d-model "$d_model" --heads "$heads" --layers "$layers" --max-length "$max_length" \
      --dropout "$dropout" "${common[@]}" --schedule linear --warmup-steps 0 --weight-decay 0 --clip-grad-norm 1.0 \
      --threads "$threads" --output-dir "$out/run-$name" > "$out/run-$name.log" 2>&1 ||
      echo "[t4rec] $name failed: see $out/run-$name.log" >&2
    grep '^{"side"' "$out/run-$name.log" | tail -1 > "$out/results/$name.json" || true
  done
done

"$venv_py" - "$out/results" "$(( $(date +%s) - start ))" "$epochs" "$batch" "$lr" "$threads" <<'PY'
import glob, json, os, sys
res, total, epochs, batch, lr, threads = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
def load(name):
    path = os.path.join(res, name + ".json")
    return json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else None
def times(name):
    path = os.path.join(res, name + ".time")
    if not os.path.exists(path): return None
    parts = open(path).read().split()
    return [float(p) if p != "null" else None for p in parts[-3:]]
prep = load("prepare")
n_train = prep["train"]["sessions"]
rows, summary = [], {"epochs": int(epochs), "batch_size": int(batch), "lr": float(lr), "threads": int(threads),
                     "train_sessions": n_train, "test_sessions": prep["test"]["sessions"], "models": {}}
fmt = lambda v, d=4: "-" if v is None else ("%.*f" % (d, v))
print()
print("yoochoose-100k (train_full -> test), sessions cut to the last 20 items; %d train / %d test sessions; %s epochs, "
      "batch %s, lr %s, %s threads" % (n_train, prep["test"]["sessions"], epochs, batch, lr, threads))
print("test: last item of each test session, full-catalogue ranking")
print("%-24s %9s %9s %9s %8s %9s %9s" % ("model", "train s", "cpu s", "seq/s", "R@20", "NDCG@20", "R@10"))
for name in sorted(n[:-5] for n in map(os.path.basename, glob.glob(os.path.join(res, "*.json")))):
    if not (name.startswith("seqrec-") or name.startswith("t4rec-")): continue
    r, t = load(name), times(name)
    if r is None: print("%-24s failed (see its log)" % name); continue
    if name.startswith("seqrec-"):
        m = next(x for x in r["results"] if x["name"] != "popularity")["metrics"]
        wall = t[0] if t else None
        row = {"train_seconds": wall, "recall@20": m["recall@20"], "ndcg@20": m["ndcg@20"], "recall@10": m["recall@10"],
               "ndcg@10": m["ndcg@10"]}
    else:
        wall = r["train_seconds"]
        row = {k: r[k] for k in ("recall@20", "ndcg@20", "recall@10", "ndcg@10")}
        row["train_seconds"] = wall
        row["process_wall_seconds"] = t[0] if t else None
    row["cpu_seconds"] = (t[1] + t[2]) if t and t[1] is not None else None  # whole process, user + sys
    row["sequences_per_second"] = n_train * int(epochs) / wall if wall else None
    summary["models"][name] = row
    print("%-24s %9s %9s %9s %8s %9s %9s" % (name, fmt(row["train_seconds"], 1), fmt(row["cpu_seconds"], 1),
          fmt(row["sequences_per_second"], 1), fmt(row["recall@20"]), fmt(row["ndcg@20"]), fmt(row["recall@10"])))
print("train s: wall; seqrec = the `seqrec train` process, T4Rec = trainer.train() (imports, model build and evaluation "
      "not counted). cpu s: user + sys of the `seqrec train` process (its evaluation is a separate command, not "
      "counted) / of the whole T4Rec process (imports and evaluation included). seq/s = train sessions x epochs / train s.")
s, n = load("etl-seqrec"), load("etl-nvt")
if s and n:
    st, nt = times("etl-seqrec"), times("etl-nvt")
    print()
    print("ETL, configs/etl/t4rec_session_pipeline.json on %d synthetic events:" % n["events"])
    print("%-12s %9s %9s %9s %9s %-28s" % ("", "wall s", "cpu s", "sessions", "items", "train/valid/test"))
    sp = s["sessions_per_split"]
    kept = sp["train"] + sp["valid"] + sp["test"]
    print("%-12s %9s %9s %9d %9d %-28s" % ("seqrec", fmt(st[0], 2), fmt(st[1] + st[2] if st[1] is not None else None, 2),
          kept, s["item_vocabulary_size"], "%d/%d/%d" % (sp["train"], sp["valid"], sp["test"])))
    ns = n["split_sessions"]
    print("%-12s %9s %9s %9d %9d %-28s" % ("nvtabular", fmt(nt[0], 2), fmt(nt[1] + nt[2] if nt[1] is not None else None, 2),
          n["sessions"], n["item_cardinality"] - 3, "%d/%d/%d" % (ns["train"], ns["valid"], ns["test"])))
    print("wall s: the whole process (NVTabular: %.1f s of it importing; read+sort %.1f, fit %.1f, transform %.1f, write "
          "%.1f)" % (n["seconds"]["import"], n["seconds"]["read_sort"], n["seconds"]["fit"], n["seconds"]["transform"],
                     n["seconds"]["write_split"]))
    summary["etl"] = {"events": n["events"],
                      "seqrec": {"wall_seconds": st[0], "sessions": kept, "items": s["item_vocabulary_size"]},
                      "nvtabular": {"wall_seconds": nt[0], "sessions": n["sessions"], "items": n["item_cardinality"] - 3,
                                    "seconds": n["seconds"]}}
summary["total_seconds"] = total
print()
print(json.dumps(summary))
PY
