#!/usr/bin/env bash
# Serving benchmark on loopback: a 50,000-item bundle (d_model 64, 2 layers, sessions of 20 events), served by
# `seqrec serve`, loaded by seqrec_serve_bench at concurrency 1, 8 and 32 (one session per request) and with
# 64 sessions per request. Bounded: each point runs DURATION seconds or MAX_REQUESTS requests.
# Usage: bash bench/serve/run.sh [BUILD_DIR]   (default build-serve)
set -euo pipefail
build=${1:-build-serve}
duration=${DURATION:-5}
max_requests=${MAX_REQUESTS:-50000}
work=$(mktemp -d)
trap 'kill -TERM "${server_pid:-0}" 2>/dev/null || true; wait "${server_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

"$build/bench/seqrec_serve_bench" make-bundle --out "$work/bundle" --items 50000 --d-model 64 --layers 2
port=$((20000 + RANDOM % 20000))
"$build/seqrec" serve --bundle "$work/bundle" --http-port "$port" --grpc-port -1 --metrics-port -1 \
  ${SERVE_FLAGS:-} 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
load() { "$build/bench/seqrec_serve_bench" load --port "$port" --duration-s "$duration" --max-requests "$max_requests" "$@"; }
for c in 1 8 32; do load -c "$c" --sessions-per-request 1; done
load -c 2 --sessions-per-request 64
load -c 2 --sessions-per-request 64 --binary
kill -TERM "$server_pid"
wait "$server_pid"
tail -1 "$work/serve.log"
