#!/usr/bin/env bash
# seqrec against its Python peers on the two reference settings of the performance issue, every peer on torch 2.13.0
# (the version seqrec links) in a venv of its own (bench/.venv-peers, made by bench/peers/setup.sh), same threads:
#
#   SASRec, Amazon Games (SASRec data_partition, leave-one-out; test item against 100 sampled negatives, HR@10/NDCG@10):
#     5 epochs, d 50, 1 head, 2 blocks, feed-forward 50 (ReLU), history 50, dropout 0.5, BCE with one sampled negative
#     per position, batch 128, Adam 0.001 (beta2 0.98).
#       seqrec: --architecture sasrec (the preset: causal transformer + BCE, 1 negative), the settings above.
#               Differences it cannot remove: pre-LayerNorm blocks (SASRec.pytorch: post-LN), no sqrt(d) scaling of
#               the item embedding, negatives uniform over the catalogue with accidental hits ignored (SASRec.pytorch:
#               uniform over the items the user never trained on), batches bucketed by length (--bucket-by-length, as
#               seqrec's recipes), each epoch every training sequence once (SASRec.pytorch: ceil(users / 128) full
#               batches of random users), Adam's beta2 0.98 as SASRec.pytorch.
#       peer:   bench/peers/sasrec_peer.py, plain PyTorch written as pmixer/SASRec.pytorch trains.
#       RecBole 1.2.1 SASRec: BPR loss with one uniform negative (it has no BCE), one row per prefix (194,836 rows,
#               1,523 batches an epoch, each padded to 50 as SASRec.pytorch's; ~0.16 s of CPU a batch here, so 5 epochs
#               would take ~20 CPU minutes): by default it trains a quarter of one epoch (RECBOLE_SASREC_EPOCHS x
#               RECBOLE_SASREC_FRACTION) and is compared per epoch, at the (lower) quality that reaches.
#   GRU4Rec, yoochoose-100k (session-rec rsc15; trained on train_full, every next click of the test sessions, full
#   ranking, Recall@20/MRR@20): 10 epochs, 100 units, batch 32, 2,048 sampled negatives.
#       seqrec: --architecture gru, d 100, 1 layer, sampled softmax with 2,048 negatives shared by the batch, drawn
#               log-uniform over the ids (ids by frequency; GRU4Rec: popularity^0.5), logQ-corrected, output bias,
#               dropout 0.4 (seqrec's GRU body drops its input and its output; GRU4Rec only the hidden state), Adam
#               0.001 (GRU4Rec: Adagrad with momentum, 0.2 / 0.2), batches of 32 whole sessions padded to their
#               longest (history up to 60) with the loss at every position (GRU4Rec: 32 sessions side by side, one
#               event each per step, session-parallel), no valid split.
#       peer:   bench/peers/gru4rec_peer.py, plain PyTorch written as the official GRU4Rec PyTorch trains
#               (paramfiles/rsc15_xe_shared_100_best.py).
#       RecBole 1.2.1 GRU4Rec: full-catalogue cross-entropy (no sampled softmax), one row per history, batch 32
#               (1,641 batches an epoch, ~0.1 s of CPU each here: 10 epochs would take ~27 CPU minutes): by default one
#               epoch (RECBOLE_GRU_EPOCHS x RECBOLE_GRU_FRACTION), compared per epoch, at the quality that reaches.
#       RecBole is tested by its models' full_sort_predict and the peers' own metric code (bench/peers/recbole_peer.py).
#   The official GRU4Rec PyTorch and SASRec.pytorch are not on PyPI and cannot be fetched here: the plain peers stand in.
#
# Each round runs seqrec and the plain peers alternately (SASRec then GRU; seqrec first in odd rounds, the peer first in
# even ones; the VM's speed drifts within minutes); RecBole runs once, in round 1. Train seconds are the training loop
# only (seqrec: its "[train] finished ... in X s", which also writes a checkpoint per epoch; peers: their own clocks).
# Figures are medians over rounds; each ratio (peer seconds / seqrec seconds, so > 1 means seqrec is faster) is the
# median of the rounds' ratios; CPU seconds (user + system of the training, the whole train process for seqrec) are
# shown beside wall seconds, and are the figures to trust when other work shares the machine. Budget: ~15 minutes on 2
# quiet cores at the defaults (2 rounds; RecBole shortened as above; 14.5 minutes measured). A loaded machine distorts
# everything, the 2-thread peers most (OpenMP barriers wait for descheduled threads): the load average is printed at
# the start and the end.
#
# Usage: bench/peers.sh [THREADS] [ROUNDS]          (defaults: all cores, 2)
# Environment: SEQREC (default build/seqrec), SEQREC_OUT (default out; files in out/peers), RECBOLE=0 (skip RecBole),
#   RECBOLE_SASREC_EPOCHS (1), RECBOLE_SASREC_FRACTION (0.25), RECBOLE_GRU_EPOCHS (1), RECBOLE_GRU_FRACTION (1: whole
#   epochs; 5 and 10 epochs at fraction 1 are the reference settings), GAMES_DIR, YOOCHOOSE_DIR (default
#   ../shared/data/{amazon-games,yoochoose-100k} beside the repository, else /work/shared/data/...),
#   PEERS_QUICK=1 (a smoke test of the whole script in a few minutes: 1 epoch everywhere, 1 round; not the reference).
# The table goes to stdout; its last line is one JSON object with every run's figures.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
rounds=${2:-2}
seqrec=${SEQREC:-build/seqrec}
out=${SEQREC_OUT:-out}/peers
recbole=${RECBOLE:-1}
sasrec_epochs=5
gru_epochs=10
recbole_sasrec_epochs=${RECBOLE_SASREC_EPOCHS:-1}
recbole_sasrec_fraction=${RECBOLE_SASREC_FRACTION:-0.25}
recbole_gru_epochs=${RECBOLE_GRU_EPOCHS:-1}
recbole_gru_fraction=${RECBOLE_GRU_FRACTION:-1}
if [ "${PEERS_QUICK:-0}" = 1 ]; then
  sasrec_epochs=1 gru_epochs=1 recbole_sasrec_epochs=1 recbole_gru_epochs=1 rounds=${2:-1}
  recbole_sasrec_fraction=0.05 recbole_gru_fraction=0.1
  echo "[peers] PEERS_QUICK=1: 1 epoch everywhere, a smoke test, not the reference settings" >&2
fi
shared=../shared/data
[ -d "$shared" ] || shared=/work/shared/data
games_dir=${GAMES_DIR:-$shared/amazon-games}
yoo_dir=${YOOCHOOSE_DIR:-$shared/yoochoose-100k}
[ -x "$seqrec" ] || { echo "error: no seqrec binary at $seqrec (build it: scripts/build.sh, or set SEQREC)" >&2; exit 2; }
[ -f "$games_dir/Video.txt" ] || { echo "error: $games_dir/Video.txt not found (set GAMES_DIR)" >&2; exit 2; }
[ -f "$yoo_dir/yoochoose-clicks-100k_train_full.txt" ] || { echo "error: yoochoose-100k not in $yoo_dir (set YOOCHOOSE_DIR)" >&2; exit 2; }

bash bench/peers/setup.sh
py=bench/.venv-peers/bin/python
mkdir -p "$out"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "[peers] threads $threads, rounds $rounds, seqrec $seqrec; load average at start: $load_start" >&2

# The data, in seqrec's layout (bench/repro/convert.py keeps the published splits). Games: train = seq[:-2] with no valid
# split (the peers train without one too), test = seq. Yoochoose: train = train_full, no valid split, test = test.
"$py" bench/repro/convert.py amazon-games "$games_dir" "$out/games/data" 2>/dev/null
rm -rf "$out/games/train"
mkdir -p "$out/games/train/sessions"
cp "$out/games/data/schema.json" "$out/games/train/"
cp -r "$out/games/data/sessions/train" "$out/games/data/sessions/test" "$out/games/train/sessions/"
cp -r "$out/games/data-refit/sessions/valid" "$out/games/train/sessions/"
"$py" bench/repro/convert.py yoochoose-100k "$yoo_dir" "$out/yoo/data" 2>/dev/null

cat > "$out/seqrec_sasrec.json" <<'EOF'
{"model": {"architecture": "sasrec", "d_model": 50, "num_heads": 1, "num_layers": 2, "max_length": 50, "dropout": 0.5,
           "body": {"inner_size": 50, "activation": "relu"}, "head": {"loss": "bce", "num_negatives": 1}},
 "train": {"optimizer": "adam", "adam_beta2": 0.98, "learning_rate": 0.001, "weight_decay": 0.0, "schedule": "constant",
           "batch_size": 128, "epochs": 5, "bucket_by_length": true, "seed": 42, "log_every": 0}}
EOF
cat > "$out/seqrec_gru.json" <<'EOF'
{"model": {"architecture": "gru", "d_model": 100, "num_layers": 1, "max_length": 60, "dropout": 0.4,
           "input": {"dropout": 0.0}, "head": {"sampled_softmax": true, "num_negatives": 2048, "output_bias": true}},
 "train": {"optimizer": "adam", "learning_rate": 0.001, "weight_decay": 0.0, "schedule": "constant", "batch_size": 32,
           "epochs": 10, "bucket_by_length": true, "seed": 42, "log_every": 0}}
EOF

# seqrec_run NAME DATA CONFIG OUT_JSON TRAIN_FLAGS... -- EVAL_FLAGS...: trains, evaluates the test split, writes
# {train_seconds, test}.
seqrec_run() {
  local name=$1 data=$2 config=$3 json=$4
  shift 4
  local train_flags=()
  while [ "$1" != -- ]; do train_flags+=("$1"); shift; done
  shift
  rm -rf "$out/run-$name"
  # The train process's CPU seconds too (user + system; robust to other load where wall time is not).
  "$py" -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[3:], stderr=open(sys.argv[2], "w"))
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.3f\n" % (u.ru_utime + u.ru_stime))
sys.exit(rc)' "$out/run-$name.cpu" "$out/run-$name.log" \
    "$seqrec" train --data "$data" --run "$out/run-$name" --train-config "$config" "${train_flags[@]}" --threads "$threads"
  "$seqrec" evaluate --data "$data" --run "$out/run-$name" --split test "$@" --threads "$threads" \
    --json "$out/run-$name.test.json" >/dev/null 2>>"$out/run-$name.log"
  "$py" - "$out/run-$name.log" "$out/run-$name.test.json" "$out/run-$name/config.json" "$out/run-$name.cpu" > "$json" <<'PY'
import json, re, sys
log, test = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
config, cpu = json.load(open(sys.argv[3]))["train"], float(open(sys.argv[4]).read())
m = re.search(r"\[train\] \w[\w ]* after (\d+) steps in ([0-9.]+) s", log)
model = test["results"][0]
print(json.dumps({"impl": "seqrec", "train_seconds": float(m.group(2)), "steps": int(m.group(1)), "epochs": config["epochs"],
                  "train_cpu_seconds": cpu,
                  "test": model["metrics"], "predictions": model["predictions"], "protocol": model["protocol"]}))
PY
}
seqrec_sasrec() { seqrec_run sasrec "$out/games/train" "$out/seqrec_sasrec.json" "$1" --epochs "$sasrec_epochs" -- --protocol leave-one-out --sampled-negatives 100 --k 10; }
peer_sasrec() { "$py" bench/peers/sasrec_peer.py --data "$games_dir/Video.txt" --epochs "$sasrec_epochs" --threads "$threads" > "$1"; }
seqrec_gru() { seqrec_run gru "$out/yoo/data-refit" "$out/seqrec_gru.json" "$1" --epochs "$gru_epochs" -- --protocol every-prefix --k 20; }
peer_gru() { "$py" bench/peers/gru4rec_peer.py --data "$yoo_dir" --epochs "$gru_epochs" --threads "$threads" > "$1"; }

for r in $(seq 1 "$rounds"); do
  for setting in sasrec gru; do
    if (( r % 2 == 1 )); then order="seqrec peer"; else order="peer seqrec"; fi
    for side in $order; do
      echo "[peers] round $r of $rounds: $side $setting" >&2
      "${side}_${setting}" "$out/${side}_${setting}.$r.json"
    done
  done
  if (( r == 1 )) && [ "$recbole" != 0 ]; then
    echo "[peers] round 1: RecBole GRU4Rec, $recbole_gru_epochs epochs x $recbole_gru_fraction of the batches" >&2
    "$py" bench/peers/recbole_peer.py --model GRU4Rec --data "$yoo_dir" --epochs "$recbole_gru_epochs" \
      --fraction "$recbole_gru_fraction" --threads "$threads" --work "$out/recbole" > "$out/recbole_gru.json" \
      2> "$out/recbole_gru.log"
    echo "[peers] round 1: RecBole SASRec, $recbole_sasrec_epochs epochs x $recbole_sasrec_fraction of the batches" >&2
    "$py" bench/peers/recbole_peer.py --model SASRec --data "$games_dir/Video.txt" --epochs "$recbole_sasrec_epochs" \
      --fraction "$recbole_sasrec_fraction" --threads "$threads" --work "$out/recbole" > "$out/recbole_sasrec.json" \
      2> "$out/recbole_sasrec.log"
  fi
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo "[peers] load average at the end: $load_end" >&2

"$py" - "$out" "$rounds" "$threads" "$recbole" "$load_start" "$load_end" <<'PY'
import json, os, statistics, sys
out, rounds, threads, recbole = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] != "0"
med = statistics.median
load = lambda name: [json.load(open(f"{out}/{name}.{r}.json")) for r in range(1, rounds + 1)]
settings = {
    "sasrec": ("SASRec, Amazon Games: {} epochs, d 50, maxlen 50, BCE 1 negative, batch 128; test vs 100 sampled negatives",
               [("hr@10", "recall@10"), ("ndcg@10", "ndcg@10")]),
    "gru": ("GRU4Rec, yoochoose-100k train_full: {} epochs, 100 units, batch 32, 2,048 negatives; every next test click",
            [("recall@20", "recall@20"), ("mrr@20", "mrr@20")]),
}
summary = {"threads": threads, "rounds": rounds, "load_average_start": sys.argv[5], "load_average_end": sys.argv[6]}
print(f"threads {threads}; medians over {rounds} alternating rounds; ratio = the other's train seconds / seqrec's "
      f"(> 1: seqrec faster), wall clock and CPU (user + system); load average {sys.argv[5]} at the start, {sys.argv[6]} at the end")
for key, (title, metrics) in settings.items():
    S, P = load(f"seqrec_{key}"), load(f"peer_{key}")
    epochs = S[0]["epochs"]
    assert all(x["epochs"] == epochs for x in S + P), "seqrec and the peer trained different epoch counts"
    title = title.format(epochs)
    s_sec, s_cpu = [s["train_seconds"] for s in S], [s["train_cpu_seconds"] for s in S]
    ratios = [p["train_seconds"] / s["train_seconds"] for s, p in zip(S, P)]
    cpu_ratios = [p["train_cpu_seconds"] / s["train_cpu_seconds"] for s, p in zip(S, P)]
    print(f"\n{title}")
    print(f"{'':30s} {'train s':>8s} {'CPU s':>8s} " + " ".join(f"{m:>10s}" for m, _ in metrics) +
          f" {'ratio':>7s} {'CPU ratio':>9s}  rounds' ratios (wall / CPU), note")
    def row(name, sec, cpu, values, ratio, cpu_ratio, note):
        cells = " ".join(f"{v:10.4f}" for v in values)
        print(f"{name:30s} {sec:8.1f} {cpu:8.1f} {cells} {ratio:>7s} {cpu_ratio:>9s}  {note}")
    s_metric = [med(s["test"][sk] for s in S) for _, sk in metrics]
    row("seqrec", med(s_sec), med(s_cpu), s_metric, "", "", "train s " + " ".join(f"{x:.1f}" for x in s_sec))
    p_metric = [med(p["test"][pk] for p in P) for pk, _ in metrics]
    row(P[0]["impl"].split(" (")[0] + " (plain PyTorch)", med(p["train_seconds"] for p in P),
        med(p["train_cpu_seconds"] for p in P), p_metric, f"{med(ratios):.2f}x", f"{med(cpu_ratios):.2f}x",
        " ".join(f"{x:.2f}" for x in ratios) + " / " + " ".join(f"{x:.2f}" for x in cpu_ratios))
    entry = {"seqrec": S, "peer": P, "ratio_peer": med(ratios), "ratios_peer": ratios, "cpu_ratio_peer": med(cpu_ratios),
             "cpu_ratios_peer": cpu_ratios,
             "quality_seqrec_minus_peer": {pk: s - p for (pk, _), s, p in zip(metrics, s_metric, p_metric)}}
    path = f"{out}/recbole_{key}.json"
    if recbole and os.path.exists(path) and os.path.getsize(path) > 0:
        R = json.loads(open(path).read().strip().splitlines()[-1])
        R_epochs = R["epochs_trained"] if "epochs_trained" in R else R["epochs"]
        per_epoch = (R["train_seconds"] / R_epochs) / (med(s_sec) / epochs)
        per_epoch_cpu = (R["train_cpu_seconds"] / R_epochs) / (med(s_cpu) / epochs)
        note = "same epochs" if R_epochs == epochs else \
            f"{R_epochs:.3g} of {epochs} epochs: ratios per epoch, quality after {R_epochs:.3g} (not equal)"
        row(f"RecBole {R['model']} ({R_epochs:.3g} ep)", R["train_seconds"], R["train_cpu_seconds"],
            [R["test"][pk] for pk, _ in metrics], f"{per_epoch:.2f}x", f"{per_epoch_cpu:.2f}x", note)
        entry["recbole"] = R
        entry["ratio_recbole_per_epoch"] = per_epoch
        entry["cpu_ratio_recbole_per_epoch"] = per_epoch_cpu
    summary[key] = entry
print()
print(json.dumps(summary))
PY
