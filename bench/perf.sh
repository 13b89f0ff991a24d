#!/usr/bin/env bash
# Side by side: seqrec versus a plain PyTorch (Python) peer of the same model and training step, on the
# shipped UCI data, same threads. Prints each side's figures, the ratios, and the machine's GEMM ceiling.
# The peer runs on torch 2.13.0, the version seqrec links, in the peers' venv bench/.venv-peers (bench/peers/setup.sh
# makes it). bench/peers.sh compares seqrec with GRU4Rec and SASRec peers on the reference datasets.
# Usage: bench/perf.sh [THREADS] [EPOCHS] [ROUNDS]   (SEQREC_BUILD=DIR uses an existing build folder instead of
# building build/). A VM's speed drifts by tens of percent within minutes, so the two sides run alternately,
# ROUNDS times (default 3): each figure is the median over rounds, each ratio the median of the rounds' ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
epochs=${2:-3}
rounds=${3:-3}
out=${SEQREC_OUT:-out}/perf
mkdir -p "$out"
build=${SEQREC_BUILD:-build}
[ -n "${SEQREC_BUILD:-}" ] || bash scripts/build.sh
bash bench/peers/setup.sh
py=bench/.venv-peers/bin/python
data=data/uci-eshop-clickstream-2008
inputs=()
for f in "$data"/e-shop-clothing-2008-*.csv; do inputs+=(--input "$f"); done
"$build"/seqrec etl "${inputs[@]}" --out "$out/uci" --session-col "session ID" --item-col "page 2 (clothing model)" \
  --date-cols year,month,day --order-col order --drop-repeats --valid-days 14 --test-days 14 2>/dev/null

# The peer's BLAS: the torch wheel's (MKL for the x86 CPU wheels), or OpenBLAS with the kernel it picks by default.
peer_blas=$("$py" -c "import re, torch; print(re.search(r'BLAS_INFO=(\w+)', torch.__config__.show()).group(1))" 2>/dev/null ||
            echo unknown)
core=""
if [ "$peer_blas" = open ] || [ "$peer_blas" = openblas ]; then
  core=$(OPENBLAS_VERBOSE=2 "$py" -c "import torch; torch.mm(torch.ones(64, 64), torch.ones(64, 64))" 2>&1 |
         sed -n 's/^Core: //p' | head -1)
  core="OpenBLAS ${core:-unknown}"
fi
core=${core:-$peer_blas}
echo "[perf] peer: torch $("$py" -c 'import torch; print(torch.__version__)'), BLAS $core; threads: $threads; epochs: $epochs" >&2

fixed_core=$("$build"/seqrec --blas-info 2>/dev/null | sed -n 's/^kernel: //p' || true)
# OPENBLAS_CORETYPE only means something to a peer whose torch uses OpenBLAS.
case "$core" in OpenBLAS*) ;; *) fixed_core="" ;; esac
for r in $(seq 1 "$rounds"); do
  echo "[perf] round $r of $rounds" >&2
  "$build"/bench/seqrec_perf_bench --data "$out/uci" --threads "$threads" --epochs "$epochs" 2>/dev/null > "$out/seqrec.$r.json"
  "$py" bench/peers/gpt2_peer.py --data "$out/uci" --threads "$threads" --epochs "$epochs" > "$out/peer.$r.json"
  # The peer once more with the BLAS fix seqrec applies itself (only differs where OpenBLAS picks an old kernel).
  if [ -n "$fixed_core" ] && [ "OpenBLAS $fixed_core" != "$core" ]; then
    OPENBLAS_CORETYPE="$fixed_core" "$py" bench/peers/gpt2_peer.py --data "$out/uci" --threads "$threads" \
      --epochs "$epochs" > "$out/peer_fixed.$r.json"
  else
    cp "$out/peer.$r.json" "$out/peer_fixed.$r.json"
  fi
done

seqrec_core=$("$build"/seqrec --blas-info 2>/dev/null | sed -n 's/^kernel: //p' || true)
"$py" - "$out" "$core" "OpenBLAS ${seqrec_core:-unknown}" "$rounds" <<'PY'
import json, statistics, sys
out, core, fixed, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
load = lambda side: [json.load(open(f"{out}/{side}.{r}.json")) for r in range(1, rounds + 1)]
S, P, PF = load("seqrec"), load("peer"), load("peer_fixed")
med = statistics.median
rows = [("training sequences/s", "train_seq_per_s", True), ("batched inference sessions/s", "batched_sessions_per_s", True),
        ("single-session latency ms (p50)", "single_session_ms_p50", False), ("top-20 of 50k items ms (p50)", "top20_of_50k_ms_p50", False),
        ("peak memory MB", "peak_rss_mb", False)]
ratio = lambda a, b, higher: a / b if higher else b / a
print(f"medians over {rounds} alternating rounds")
print(f"{'figure':34s} {'seqrec':>12s} {'peer':>12s} {'peer+BLAS fix':>14s} {'ratio':>8s} {'ratio (fixed)':>14s}  rounds' ratios")
for name, key, higher in rows:
    rs = [ratio(s[key], p[key], higher) for s, p in zip(S, P)]
    rfs = [ratio(s[key], p[key], higher) for s, p in zip(S, PF)]
    print(f"{name:34s} {med(s[key] for s in S):12.2f} {med(p[key] for p in P):12.2f} {med(p[key] for p in PF):14.2f} "
          f"{med(rs):7.2f}x {med(rfs):13.2f}x  {' '.join(f'{x:.2f}' for x in rs)}")
for k in ("recall@20", "ndcg@20", "mrr@20"):  # deterministic per side: the first round's
    print(f"{'test ' + k:34s} {S[0]['test'][k]:12.4f} {P[0]['test'][k]:12.4f} {PF[0]['test'][k]:14.4f}")
shares = [s["output_layer_gflops"] / s["gemm_ceiling_gflops"] for s in S]
print(f"GEMM ceiling {med(s['gemm_ceiling_gflops'] for s in S):.1f} GFLOP/s (the peer's BLAS: {core}; seqrec's kernels: {fixed}); "
      f"output layer [B*L x d] x [d x 50k]: {med(s['output_layer_gflops'] for s in S):.1f} GFLOP/s = "
      f"{100 * med(shares):.0f}% of the ceiling (rounds: {' '.join(f'{100 * x:.0f}%' for x in shares)})")
print(json.dumps({"seqrec": S, "peer": P, "peer_blas_fixed": PF}))
PY
