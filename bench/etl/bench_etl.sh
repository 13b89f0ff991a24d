#!/usr/bin/env bash
# ETL benchmark: the Transformers4Rec session pipeline (configs/etl/t4rec_session_pipeline.json) on a
# generated event file, in seqrec and in pandas; prints events/s and peak memory of both and the ratio.
# Not part of the test suite. Usage: bash bench/etl/bench_etl.sh [EVENTS=10000000] [BENCH_BINARY]
# (BENCH_BINARY: seqrec_etl_bench from bench/etl, built with the project; it runs what `seqrec etl run` runs.)
set -euo pipefail
cd "$(dirname "$0")/../.."
events=${1:-10000000}
bench=${2:-build-etl/bench/seqrec_etl_bench}
work=${SEQREC_BENCH_DIR:-/tmp/seqrec-etl-bench}
py=/usr/bin/python3
if ! $py -c "import pandas" 2>/dev/null; then
  echo "[bench] installing python3-pandas (Debian) for the comparison" >&2
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq python3-pandas >/dev/null
fi
mkdir -p "$work"
input="$work/events-$events.csv"
rm -rf "$work/seqrec-out" "$work/pandas-out"
# The event file is generated first (not timed), then the timed run reads it.
[ -f "$input" ] || "$bench" --workflow configs/etl/t4rec_session_pipeline.json --input "$input" --out "$work/warm" \
  --synth-events "$events" > /dev/null
/usr/bin/time -f "%e %M" -o "$work/seqrec.time" "$bench" --workflow configs/etl/t4rec_session_pipeline.json \
  --input "$input" --out "$work/seqrec-out" > "$work/seqrec.json" 2> "$work/seqrec.log" || { cat "$work/seqrec.log"; exit 1; }
read -r s_sec s_kb < "$work/seqrec.time"
rows=$(( $(wc -l < "$input") - 1 ))
size_mb=$(( $(stat -c %s "$input") / 1048576 ))
echo "[bench] input: $input, $rows events, $size_mb MiB"
/usr/bin/time -f "%e %M" -o "$work/pandas.time" $py bench/etl/pandas_pipeline.py "$input" "$work/pandas-out" > "$work/pandas.json"
read -r p_sec p_kb < "$work/pandas.time"
$py - "$rows" "$size_mb" "$s_sec" "$s_kb" "$p_sec" "$p_kb" <<'PY'
import sys
rows, size_mb, s_sec, s_kb, p_sec, p_kb = int(sys.argv[1]), int(sys.argv[2]), *map(float, sys.argv[3:])
s_rate, p_rate = rows / s_sec, rows / p_sec
print(f"seqrec etl run : {s_sec:8.1f} s  {s_rate/1e6:6.2f} M events/s  peak RSS {s_kb/1024:7.0f} MiB")
print(f"pandas         : {p_sec:8.1f} s  {p_rate/1e6:6.2f} M events/s  peak RSS {p_kb/1024:7.0f} MiB")
print(f"speed ratio    : {s_rate/p_rate:.1f}x (target >= 10x); seqrec peak memory {s_kb/1024/size_mb:.2f}x the input file "
      f"({size_mb} MiB; target < 1x)")
PY
cat "$work/seqrec.json" "$work/pandas.json"
