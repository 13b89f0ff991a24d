#!/usr/bin/env bash
# Side by side: seqrec versus a plain PyTorch (Python) peer of the same model and training step, on the
# shipped UCI data, same threads. Prints each side's figures, the ratios, and the machine's GEMM ceiling.
# Usage: bench/perf.sh [THREADS] [EPOCHS]   (SEQREC_BUILD=DIR uses an existing build folder instead of building build/)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
epochs=${2:-3}
out=${SEQREC_OUT:-out}/perf
mkdir -p "$out"
build=${SEQREC_BUILD:-build}
[ -n "${SEQREC_BUILD:-}" ] || bash scripts/build.sh
command -v /usr/bin/python3 >/dev/null && /usr/bin/python3 -c "import torch" 2>/dev/null || {
  echo "[perf] installing Debian's python3-torch for the peer" >&2
  apt-get install -y -qq python3-torch >/dev/null
}
data=data/uci-eshop-clickstream-2008
inputs=()
for f in "$data"/e-shop-clothing-2008-*.csv; do inputs+=(--input "$f"); done
"$build"/seqrec etl "${inputs[@]}" --out "$out/uci" --session-col "session ID" --item-col "page 2 (clothing model)" \
  --date-cols year,month,day --order-col order --drop-repeats --valid-days 14 --test-days 14 2>/dev/null

core=$(OPENBLAS_VERBOSE=2 /usr/bin/python3 -c "import torch; torch.mm(torch.ones(64, 64), torch.ones(64, 64))" 2>&1 |
       sed -n 's/^Core: //p' | head -1)
echo "[perf] OpenBLAS kernel chosen by default: ${core:-unknown}; threads: $threads; epochs: $epochs" >&2

"$build"/bench/seqrec_perf_bench --data "$out/uci" --threads "$threads" --epochs "$epochs" 2>/dev/null > "$out/seqrec.json"
/usr/bin/python3 bench/peers/gpt2_peer.py --data "$out/uci" --threads "$threads" --epochs "$epochs" > "$out/peer.json"
# The peer once more with the BLAS fix seqrec applies itself (only differs where OpenBLAS picks an old kernel).
fixed_core=$("$build"/seqrec --blas-info 2>/dev/null | sed -n 's/^kernel: //p' || true)
if [ -n "$fixed_core" ] && [ "$fixed_core" != "$core" ]; then
  OPENBLAS_CORETYPE="$fixed_core" /usr/bin/python3 bench/peers/gpt2_peer.py --data "$out/uci" --threads "$threads" \
    --epochs "$epochs" > "$out/peer_fixed.json"
else
  cp "$out/peer.json" "$out/peer_fixed.json"
fi

/usr/bin/python3 - "$out" "${core:-unknown}" "${fixed_core:-$core}" <<'PY'
import json, sys
out, core, fixed = sys.argv[1], sys.argv[2], sys.argv[3]
s = json.load(open(f"{out}/seqrec.json")); p = json.load(open(f"{out}/peer.json")); pf = json.load(open(f"{out}/peer_fixed.json"))
rows = [("training sequences/s", "train_seq_per_s", True), ("batched inference sessions/s", "batched_sessions_per_s", True),
        ("single-session latency ms (p50)", "single_session_ms_p50", False), ("top-20 of 50k items ms (p50)", "top20_of_50k_ms_p50", False),
        ("peak memory MB", "peak_rss_mb", False)]
print(f"{'figure':34s} {'seqrec':>12s} {'peer':>12s} {'peer+BLAS fix':>14s} {'ratio':>8s} {'ratio (fixed)':>14s}")
for name, key, higher in rows:
    a, b, c = s[key], p[key], pf[key]
    r = a / b if higher else b / a
    rf = a / c if higher else c / a
    print(f"{name:34s} {a:12.2f} {b:12.2f} {c:14.2f} {r:7.2f}x {rf:13.2f}x")
for k in ("recall@20", "ndcg@20", "mrr@20"):
    print(f"{'test ' + k:34s} {s['test'][k]:12.4f} {p['test'][k]:12.4f} {pf['test'][k]:14.4f}")
print(f"GEMM ceiling {s['gemm_ceiling_gflops']:.1f} GFLOP/s (OpenBLAS default kernel {core}, seqrec uses {fixed}); "
      f"output layer [B*L x d] x [d x 50k]: {s['output_layer_gflops']:.1f} GFLOP/s = "
      f"{100 * s['output_layer_gflops'] / s['gemm_ceiling_gflops']:.0f}% of the ceiling")
print(json.dumps({"seqrec": s, "peer": p, "peer_blas_fixed": pf}))
PY
