#!/usr/bin/env bash
# Every peer beside seqrec in one command, each bench alternating seqrec and its peer as it always does:
#
#   bash bench/all_peers.sh [THREADS]         (default: all cores)
#
#   1. bench/perf.sh       GPT-2 on the shipped UCI data against a plain PyTorch peer (torch 2.13, the version seqrec links);
#   2. bench/peers.sh      SASRec (amazon-games) and GRU4Rec (yoochoose-100k) against plain PyTorch peers written as
#                          SASRec.pytorch and the official GRU4Rec PyTorch train, and RecBole 1.2.1 (all torch 2.13);
#   3. bench/t4rec/run.sh  GPT-2 and causal XLNet against Transformers4Rec 23.12's Trainer, and `seqrec etl` against
#                          NVTabular 23.8's CPU Workflow (their own venv, their own pins).
# Each part's full table goes to out/all-peers/<part>.txt (and its stderr to <part>.log); at the end one summary table
# (Markdown, what the README quotes) is printed and written to out/all-peers/summary.md, then one JSON line.
# Budget on 2 quiet cores: 21-22 minutes measured (perf ~1, peers ~13, t4rec ~8), plus the venvs on a first run.
# Environment: PERF_EPOCHS (3), PERF_ROUNDS (2), PEERS_ROUNDS (2), T4REC_EPOCHS (2), and what each part reads;
# SUMMARY_ONLY=1 prints the summary again from the parts' files in out/all-peers/ without running anything.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
out=${SEQREC_OUT:-out}/all-peers
mkdir -p "$out"
started=$(date +%s)
part() {  # part NAME COMMAND...: runs one bench, its table to NAME.txt, its progress to NAME.log and the terminal
  local name=$1
  shift
  echo "[all-peers] $name: $* ($(date +%H:%M:%S))" >&2
  "$@" > "$out/$name.txt" 2> >(tee "$out/$name.log" | grep --line-buffered -E "^\[(perf|peers|t4rec)\]" >&2) || {
    echo "error: $name failed; see $out/$name.log" >&2
    exit 1
  }
}
if [ "${SUMMARY_ONLY:-0}" != 1 ]; then
bash scripts/build.sh >&2
part perf env SEQREC_BUILD=build bash bench/perf.sh "$threads" "${PERF_EPOCHS:-3}" "${PERF_ROUNDS:-2}"
part peers bash bench/peers.sh "$threads" "${PEERS_ROUNDS:-2}"
part t4rec env THREADS="$threads" EPOCHS="${T4REC_EPOCHS:-2}" bash bench/t4rec/run.sh
fi
minutes=$(( ($(date +%s) - started + 59) / 60 ))

bench/.venv-peers/bin/python - "$out" "$threads" "$minutes" "$(build/seqrec --version | head -2 | tr '\n' ' ')" <<'PY' | tee "$out/summary.md"
import json, statistics, sys
out, threads, minutes, version = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].strip()
last_json = lambda part: json.loads(open(f"{out}/{part}.txt").read().strip().splitlines()[-1])
perf, peers, t4rec = last_json("perf"), last_json("peers"), last_json("t4rec")
med = statistics.median
rows = []  # setting, peer, seqrec train, peer train, ratio, seqrec quality, peer quality
f4 = lambda *v: " / ".join(f"{x:.4f}" for x in v)

S, P = perf["seqrec"], perf["peer"]
rows.append(("UCI GPT-2 (perf.sh), training seq/s; R@20 / NDCG@20", "plain PyTorch",
             f"{med(s['train_seq_per_s'] for s in S):,.0f} seq/s", f"{med(p['train_seq_per_s'] for p in P):,.0f} seq/s",
             med(s["train_seq_per_s"] / p["train_seq_per_s"] for s, p in zip(S, P)),
             f4(S[0]["test"]["recall@20"], S[0]["test"]["ndcg@20"]), f4(P[0]["test"]["recall@20"], P[0]["test"]["ndcg@20"])))
for key, title, (m1, m2), (k1, k2) in (
        ("sasrec", "Amazon Games SASRec (peers.sh), {e} epochs; HR@10 / NDCG@10", ("hr@10", "ndcg@10"), ("recall@10", "ndcg@10")),
        ("gru", "yoochoose-100k GRU4Rec (peers.sh), {e} epochs; R@20 / MRR@20", ("recall@20", "mrr@20"), ("recall@20", "mrr@20"))):
    e = peers[key]
    S, P = e["seqrec"], e["peer"]
    s_sec, p_sec = med(s["train_seconds"] for s in S), med(p["train_seconds"] for p in P)
    title = title.format(e=S[0]["epochs"])
    rows.append((title, P[0]["impl"].split(" (")[0] + " (plain PyTorch)", f"{s_sec:.1f} s", f"{p_sec:.1f} s", e["ratio_peer"],
                 f4(med(s["test"][k1] for s in S), med(s["test"][k2] for s in S)),
                 f4(med(p["test"][m1] for p in P), med(p["test"][m2] for p in P))))
    if "recbole" in e:
        R = e["recbole"]
        n = R["epochs_trained"] if "epochs_trained" in R else R["epochs"]
        rows.append((title + f" (RecBole trained {n:.3g} epochs: ratio per epoch)", f"RecBole {R['model']}",
                     f"{s_sec / S[0]['epochs']:.1f} s/epoch", f"{R['train_seconds'] / n:.1f} s/epoch",
                     e["ratio_recbole_per_epoch"], "", f4(R["test"][m1], R["test"][m2]) + f" after {n:.3g} epochs"))
models = t4rec["models"]
for arch, name in (("gpt2", "GPT-2"), ("xlnet", "XLNet (causal)")):
    s, p = models.get(f"seqrec-{arch}"), models.get(f"t4rec-{arch}" if arch == "gpt2" else "t4rec-xlnet-uni")
    if s and p:
        rows.append((f"yoochoose-100k {name} d 320 (t4rec/run.sh), {t4rec['epochs']} epochs; R@20 / NDCG@20",
                     "Transformers4Rec 23.12", f"{s['train_seconds']:.1f} s", f"{p['train_seconds']:.1f} s",
                     p["train_seconds"] / s["train_seconds"], f4(s["recall@20"], s["ndcg@20"]), f4(p["recall@20"], p["ndcg@20"])))
if "etl" in t4rec:
    x = t4rec["etl"]
    rows.append((f"ETL, t4rec_session_pipeline.json on {x['events']:,} events (t4rec/run.sh)", "NVTabular 23.8 (CPU)",
                 f"{x['seqrec']['wall_seconds']:.2f} s", f"{x['nvtabular']['wall_seconds']:.2f} s",
                 x["nvtabular"]["wall_seconds"] / x["seqrec"]["wall_seconds"],
                 f"{x['seqrec']['sessions']:,} sessions", f"{x['nvtabular']['sessions']:,} sessions"))
print(f"`bash bench/all_peers.sh {threads}`: {version}; {threads} threads on both sides; {minutes} minutes. "
      "Ratio > 1: seqrec is faster (peer time / seqrec time; for seq/s seqrec / peer). Medians over alternating rounds "
      "where the part has rounds; each part's full table is in out/all-peers/.\n")
print("| setting | peer | seqrec | peer | ratio | seqrec quality | peer quality |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.2f}x | {r[5]} | {r[6]} |")
print()
print(json.dumps({"threads": threads, "minutes": minutes, "rows": rows}))
PY
