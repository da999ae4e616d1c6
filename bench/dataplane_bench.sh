#!/bin/bash
# Data-plane benchmark: our dataplane vs nginx vs HAProxy, each proxying to the same nginx
# backend (12-byte body), one worker each, the proxy pinned to core 0, backend and wrk pinned to
# core 1; wrk keep-alive with 64 connections. Reports req/s, p50, p99 and the proxy's CPU
# microseconds per request (utime+stime from /proc/PID/stat before and after the run).
# Then the same three at one fixed offered rate (open loop, bench/fixed_rate_load), so latency is
# compared at equal load, and one run of our dataplane with the default worker count (unpinned).
#
#   bench/dataplane_bench.sh [DURATION_SECONDS]    (needs: nginx haproxy wrk; see scripts/setup.sh)
#   ROUNDS=N interleaved rounds of each measurement (default 3), reported as medians
#   FIXED_RATE=N (default 15000 req/s; 0 skips the fixed-rate rows)
#   TIMELINES=DIR keeps each fixed-rate run's per-request due time and latency (DIR/<proxy>.txt)
#   BASELINE=/path/to/dataplane adds that build as a fourth row ("baseline dataplane") in the
#   same rounds: before/after figures for a change from one run
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
ROUNDS=${ROUNDS:-3}
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

# start_dataplane BINARY PORT ADMIN_PORT NAME: one worker on core 0, plain HTTP on PORT; sets DP_PID.
start_dataplane() {
  taskset -c 0 "$1" --workers=1 --controlplane=127.0.0.1:$CP_GRPC --http_listen=127.0.0.1:$2 --https_listen= \
    --admin_listen=127.0.0.1:$3 --state_dir="$TMP/$4" 2>"$TMP/$4.log" & DP_PID=$!
  PIDS+=($DP_PID)
  wait_port $2
  wait_ready $3
}
start_dataplane "$BIN/dataplane/dataplane" $OURS $ADMIN dp
OURS_PID=$DP_PID
taskset -c 0 nginx -c "$TMP/nginx-proxy/nginx.conf" -p "$TMP/nginx-proxy" & NGX=$!; PIDS+=($NGX)
wait_port $NGINX_PROXY
NGX_WORKER=$(pgrep -P $NGX | head -1)
taskset -c 0 haproxy -f "$TMP/haproxy.cfg" -db & HAP=$!; PIDS+=($HAP)
wait_port $HAPROXY
ROWS=("edgerouter dataplane:$OURS_PID:$OURS" "nginx 1.22:$NGX_WORKER:$NGINX_PROXY" "HAProxy 2.6:$HAP:$HAPROXY")
if [ -n "${BASELINE:-}" ]; then  # another build of the data plane, in the same rounds
  BASE_PORT=$(free_port)
  start_dataplane "$BASELINE" $BASE_PORT "$(free_port)" dp-base
  ROWS+=("baseline dataplane:$DP_PID:$BASE_PORT")
fi

# Closed loop, ROUNDS interleaved rounds (ours, nginx, HAProxy, ours, …): the VM's neighbours
# come and go, so each proxy gets a share of every period; the table is each one's median.
: >"$TMP/closed"
for round in $(seq 1 "$ROUNDS"); do
  for row in "${ROWS[@]}"; do
    IFS=: read -r name pid port <<<"$row"
    if [ "$round" = 1 ] && [ "$pid" = "$OURS_PID" ] && [ -n "${PROFILE:-}" ]; then
      # Software-clock sampling (no PMU in this VM): where the proxy's CPU goes under the same load.
      perf record -q -e cpu-clock -p $OURS_PID -o "$TMP/perf.data" -- sleep $((DURATION + 1)) 2>/dev/null &
      PERF_PID=$!
    fi
    if [ "$round" = 1 ] && [ "$pid" = "$OURS_PID" ] && [ -n "${SYSCALLS:-}" ]; then
      # Syscall counts per request (this round's timings are then not meaningful).
      timeout $((DURATION + 1)) strace -c -f -p $OURS_PID -o "$SYSCALLS" 2>/dev/null &
      STRACE_PID=$!
    fi
    wrk_measure "$pid" "http://127.0.0.1:$port/" bench.local 64
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$RPS" "$(to_ms "$P50")" "$(to_ms "$P99")" "$US" \
      "${ERRORS:-none}" "$US_USER" "$US_SYS" >>"$TMP/closed"
    if [ -n "${STRACE_PID:-}" ]; then wait $STRACE_PID || true; cp "$TMP/run.wrk" "$SYSCALLS.wrk"; STRACE_PID=; fi
    if [ -n "${PERF_PID:-}" ]; then
      wait $PERF_PID || true
      perf report -i "$TMP/perf.data" --stdio --no-children --sort symbol -g none --percent-limit 0.4 2>/dev/null | grep "%" >"$PROFILE"
      PERF_PID=
    fi
  done
done
echo "| proxy (1 worker, core 0), median of $ROUNDS rounds | req/s | p50 ms | p99 ms | CPU µs/req | CPU range | user | system | errors |"
echo "|---|---|---|---|---|---|---|---|---|"
for row in "${ROWS[@]}"; do
  IFS=: read -r name _ _ <<<"$row"
  echo "| $name | $(median "$TMP/closed" 3 "$name") | $(median "$TMP/closed" 4 "$name") | $(median "$TMP/closed" 5 "$name") |" \
    "**$(median "$TMP/closed" 6 "$name")** | $(spread "$TMP/closed" 6 "$name") | $(median "$TMP/closed" 8 "$name") |" \
    "$(median "$TMP/closed" 9 "$name") | $(errors_of "$TMP/closed" 7 "$name") |"
done
awk -v o="$(median "$TMP/closed" 6 "edgerouter dataplane")" -v a="$(median "$TMP/closed" 6 "nginx 1.22")" \
  -v b="$(median "$TMP/closed" 6 "HAProxy 2.6")" \
  'BEGIN {best = a < b ? a : b; if (best > 0) printf "\nCPU per request, ours ÷ better peer (medians): %.2f\n", o / best}'
# The same ratio within each round (the VM's level moves between rounds, less within one).
awk -F'\t' '$2 == "edgerouter dataplane" {o[$1] = $6} $2 == "nginx 1.22" {n[$1] = $6} $2 == "HAProxy 2.6" {h[$1] = $6}
  END {for (r = 1; r in o; ++r) printf "%.2f\n", o[r] / (n[r] < h[r] ? n[r] : h[r])}' "$TMP/closed" >"$TMP/ratios"
echo "per round: $(tr '\n' ' ' <"$TMP/ratios")(median $(sort -g "$TMP/ratios" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'))"

FIXED_RATE=${FIXED_RATE:-15000}
if [ "$FIXED_RATE" != 0 ]; then
  bazel build --config=opt //bench:fixed_rate_load >/dev/null 2>&1
  : >"$TMP/fixed"
  for round in $(seq 1 "$ROUNDS"); do
    for row in "${ROWS[@]}"; do
      IFS=: read -r name pid port <<<"$row"
      fixed_measure "$pid" "$port" bench.local "$FIXED_RATE" \
        "${TIMELINES:+$TIMELINES/${name%% *}-$round.txt}"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$(fixed_field p50_ms)" "$(fixed_field p90_ms)" \
        "$(fixed_field p99_ms)" "$(fixed_field p999_ms)" "$(fixed_field max_ms)" "$(fixed_field errors)" "$US" >>"$TMP/fixed"
    done
  done
  echo
  echo "| proxy (1 worker, core 0), $FIXED_RATE req/s offered, median of $ROUNDS rounds | p50 ms | p90 ms | p99 ms | p99 range | p99.9 ms | max ms | errors | CPU µs/req |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for row in "${ROWS[@]}"; do
    IFS=: read -r name _ _ <<<"$row"
    echo "| $name | $(median "$TMP/fixed" 3 "$name") | $(median "$TMP/fixed" 4 "$name") | **$(median "$TMP/fixed" 5 "$name")** |" \
      "$(spread "$TMP/fixed" 5 "$name") | $(median "$TMP/fixed" 6 "$name") | $(median "$TMP/fixed" 7 "$name") |" \
      "$(awk -F'\t' -v who="$name" '$2 == who {s += $8} END {print s + 0}' "$TMP/fixed") | $(median "$TMP/fixed" 9 "$name") |"
  done
fi
echo
echo "per-round rows, closed loop (round proxy req/s p50 p99 µs errors user-µs system-µs):"; sed 's/^/    /' "$TMP/closed"
[ "$FIXED_RATE" != 0 ] && { echo "per-round rows, fixed rate (round proxy p50 p90 p99 p99.9 max errors µs):"; sed 's/^/    /' "$TMP/fixed"; }
kill $OURS_PID; wait $OURS_PID 2>/dev/null || true

echo
echo "| dataplane, default workers ($(nproc)), unpinned | req/s | p50 | p99 | CPU µs/req | errors |"
echo "|---|---|---|---|---|---|"
"$BIN/dataplane/dataplane" --controlplane=127.0.0.1:$CP_GRPC \
  --http_listen=127.0.0.1:$OURS --https_listen= --admin_listen=127.0.0.1:$ADMIN --state_dir="$TMP/dp" 2>>"$TMP/dp.log" & OURS_PID=$!; PIDS+=($OURS_PID)
wait_port $OURS
wrk_measure $OURS_PID "http://127.0.0.1:$OURS/" bench.local 64
echo "| edgerouter dataplane | $RPS | $P50 | $P99 | $US | ${ERRORS:-none} |"
