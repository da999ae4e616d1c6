#!/bin/bash
# Data-plane benchmark: our dataplane vs nginx vs HAProxy, each proxying to the same nginx
# backend (12-byte body), one worker each, the proxy pinned to core 0, backend and wrk pinned to
# core 1; wrk keep-alive with 64 connections. Reports req/s, p50, p99 and the proxy's CPU
# microseconds per request (utime+stime from /proc/PID/stat before and after the run).
# Then the same three at one fixed offered rate (open loop, bench/fixed_rate_load), so latency is
# compared at equal load, and one run of our dataplane with the default worker count (unpinned).
#
#   bench/dataplane_bench.sh [DURATION_SECONDS]    (needs: nginx haproxy wrk; see scripts/setup.sh)
#   FIXED_RATE=N (default 15000 req/s; 0 skips the fixed-rate rows)
#   TIMELINES=DIR keeps each fixed-rate run's per-request due time and latency (DIR/<proxy>.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
source bench/lib.sh
bench_init dp

BACKEND=$(free_port); NGINX_PROXY=$(free_port); HAPROXY=$(free_port); OURS=$(free_port)
CP_GRPC=$(free_port); CP_HTTP=$(free_port); ADMIN=$(free_port)

mkdir -p "$TMP/nginx-proxy"
cat >"$TMP/nginx-proxy/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log stderr error; pid $TMP/nginx-proxy/pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$BACKEND; keepalive 128; }
  server { listen 127.0.0.1:$NGINX_PROXY;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; } } }
CONF
cat >"$TMP/haproxy.cfg" <<CONF
global
  nbthread 1
  ulimit-n 10000
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option forwardfor
  http-reuse always
frontend f
  bind 127.0.0.1:$HAPROXY
  default_backend b
backend b
  server s1 127.0.0.1:$BACKEND
CONF
start_backend_and_controlplane ',"allow_insecure_http":true'

# run NAME PID PORT: prints one Markdown table row.
run() {
  local name=$1 pid=$2 port=$3
  wrk_measure "$pid" "http://127.0.0.1:$port/" bench.local 64
  echo "| $name | $RPS | $P50 | $P99 | $US | ${ERRORS:-none} |"
}

echo "| proxy (1 worker, core 0) | req/s | p50 | p99 | CPU µs/req | errors |"
echo "|---|---|---|---|---|---|"
taskset -c 0 "$BIN/dataplane/dataplane" --workers=1 --controlplane=127.0.0.1:$CP_GRPC \
  --http_listen=127.0.0.1:$OURS --https_listen= --admin_listen=127.0.0.1:$ADMIN --state_dir="$TMP/dp" 2>"$TMP/dp.log" & OURS_PID=$!; PIDS+=($OURS_PID)
wait_port $OURS
for _ in $(seq 1 100); do curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN/ready" | grep -q 200 && break; sleep 0.05; done
if [ -n "${PROFILE:-}" ]; then
  # Software-clock sampling (no PMU in this VM): where the proxy's CPU goes under the same load.
  perf record -q -e cpu-clock -p $OURS_PID -o "$TMP/perf.data" -- sleep $((DURATION + 1)) 2>/dev/null &
  PERF_PID=$!
fi
if [ -n "${SYSCALLS:-}" ]; then
  # Syscall counts per request (this run's timings are then not meaningful).
  timeout $((DURATION + 1)) strace -c -f -p $OURS_PID -o "$SYSCALLS" 2>/dev/null &
  STRACE_PID=$!
fi
run "edgerouter dataplane" $OURS_PID $OURS
if [ -n "${SYSCALLS:-}" ]; then wait $STRACE_PID || true; cp "$TMP/edgerouter dataplane.wrk" "$SYSCALLS.wrk"; fi
if [ -n "${PROFILE:-}" ]; then
  wait $PERF_PID || true
  perf report -i "$TMP/perf.data" --stdio --no-children --sort symbol -g none --percent-limit 0.4 2>/dev/null | grep "%" >"$PROFILE"
fi
taskset -c 0 nginx -c "$TMP/nginx-proxy/nginx.conf" -p "$TMP/nginx-proxy" & NGX=$!; PIDS+=($NGX)
wait_port $NGINX_PROXY
NGX_WORKER=$(pgrep -P $NGX | head -1)
run "nginx 1.22" "$NGX_WORKER" $NGINX_PROXY
taskset -c 0 haproxy -f "$TMP/haproxy.cfg" -db & HAP=$!; PIDS+=($HAP)
wait_port $HAPROXY
run "HAProxy 2.6" $HAP $HAPROXY

FIXED_RATE=${FIXED_RATE:-15000}
if [ "$FIXED_RATE" != 0 ]; then
  bazel build --config=opt //bench:fixed_rate_load >/dev/null 2>&1
  echo
  echo "| proxy (1 worker, core 0), $FIXED_RATE req/s offered | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | CPU µs/req |"
  echo "|---|---|---|---|---|---|---|---|"
  for row in "edgerouter dataplane:$OURS_PID:$OURS" "nginx 1.22:$NGX_WORKER:$NGINX_PROXY" "HAProxy 2.6:$HAP:$HAPROXY"; do
    IFS=: read -r name pid port <<<"$row"
    fixed_measure "$pid" "$port" bench.local "$FIXED_RATE" \
      "${TIMELINES:+$TIMELINES/${name%% *}.txt}"
    echo "| $name | $(fixed_field p50_ms) | $(fixed_field p90_ms) | $(fixed_field p99_ms) | $(fixed_field p999_ms) | $(fixed_field max_ms) | $(fixed_field errors) | $US |"
  done
fi
kill $OURS_PID; wait $OURS_PID 2>/dev/null || true

echo
echo "| dataplane, default workers ($(nproc)), unpinned | req/s | p50 | p99 | CPU µs/req | errors |"
echo "|---|---|---|---|---|---|"
"$BIN/dataplane/dataplane" --controlplane=127.0.0.1:$CP_GRPC \
  --http_listen=127.0.0.1:$OURS --https_listen= --admin_listen=127.0.0.1:$ADMIN --state_dir="$TMP/dp" 2>>"$TMP/dp.log" & OURS_PID=$!; PIDS+=($OURS_PID)
wait_port $OURS
run "edgerouter dataplane" $OURS_PID $OURS
