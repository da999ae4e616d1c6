#!/bin/bash
# Latency under config churn: our data plane (1 worker, core 0) proxying to the nginx backend at a
# fixed offered rate (open loop, bench/fixed_rate_load.cc, core 1), first idle, then while the
# control plane takes 20 app changes per second (bench/churn_load on one gRPC channel, core 1).
# Same rate, same connections: the p99 ratio is the cost of applying configs under traffic.
#
#   bench/churn_bench.sh [DURATION_SECONDS] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
RATE=${2:-5000}
source bench/lib.sh
bench_init churn
bazel build --config=opt //bench:fixed_rate_load //bench:churn_load >/dev/null 2>&1
BACKEND=$(free_port); OURS=$(free_port); CP_GRPC=$(free_port); CP_HTTP=$(free_port); ADMIN=$(free_port)
start_backend_and_controlplane ',"allow_insecure_http":true'
taskset -c 0 "$BIN/dataplane/dataplane" --workers=1 --controlplane=127.0.0.1:$CP_GRPC \
  --http_listen=127.0.0.1:$OURS --https_listen= --admin_listen=127.0.0.1:$ADMIN --access_log=off \
  --state_dir="$TMP/dp" 2>"$TMP/dp.log" & PIDS+=($!)
wait_port $OURS
wait_ready $ADMIN

load() {
  taskset -c 1 "$BIN/bench/fixed_rate_load" --target=127.0.0.1:$OURS --host=bench.local --rate="$RATE" \
    --connections=32 --duration_s="$DURATION" --warmup_s=2
}
field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1==k {print $2}'; }

idle=$(load)
published_before=$(grep -c 'config published' "$TMP/dp.log" || true)
# 20 app changes/s on one gRPC channel (a process per change cost more CPU than it drove, on
# the core the load generator runs on).
taskset -c 1 "$BIN/bench/churn_load" --controlplane=127.0.0.1:$CP_GRPC --rate=20 --apps=400 \
  --duration_s=$((DURATION + 2)) >"$TMP/churn.out" & CHURN=$!
busy=$(load)
wait $CHURN
published=$(( $(grep -c 'config published' "$TMP/dp.log" || true) - published_before ))
echo "| data plane, 1 worker, $RATE req/s offered | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors |"
echo "|---|---|---|---|---|---|---|"
for row in "idle:$idle" "20 changes/s ($published configs applied):$busy"; do
  name=${row%%:*}; r=${row#*:}
  echo "| $name | $(field "$r" p50_ms) | $(field "$r" p90_ms) | $(field "$r" p99_ms) | $(field "$r" p999_ms) | $(field "$r" max_ms) | $(field "$r" errors) |"
done
awk -v a="$(field "$busy" p99_ms)" -v b="$(field "$idle" p99_ms)" 'BEGIN {printf "p99 under churn / idle: %.2fx\n", a / b}'
