#!/bin/bash
# AWS backends benchmark: CPU microseconds per request of the data plane (one worker, core 0)
#  1. a hot static file through s3_static_website (per-worker cache hit) vs nginx serving the
#     same file from disk (one worker, core 0);
#  2. the same file with the cache off (every request a signed GET to the S3 emulator);
#  3. aws_lambda: a small function through the Invoke API emulator (serverless-offline).
# wrk, s3rver and serverless-offline run on core 1. CPU = utime+stime from /proc/PID/stat.
#
#   bench/aws_bench.sh [DURATION_SECONDS]    (needs nginx, wrk, node/npm; see scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
source bench/lib.sh
bench_init aws
NODE_DIR=$(testenv/aws/install.sh)

S3=$(free_port); LAMBDA=$(free_port); LAMBDA_HTTP=$(free_port); NGINX=$(free_port); OURS=$(free_port)
CP_GRPC=$(free_port); CP_HTTP=$(free_port); ADMIN=$(free_port)

# The hot file: a 4 KiB stylesheet.
mkdir -p "$TMP/www"
chmod 755 "$TMP" "$TMP/www"  # nginx workers run as www-data
head -c 3072 /dev/urandom | base64 -w 64 | head -c 4096 >"$TMP/www/style.css"

# Emulators (own sessions, so cleanup signals exactly their groups).
start_s3rver $S3 bench
mkdir -p "$TMP/lambda"
cp testenv/aws/lambda/serverless.yml testenv/aws/lambda/handler.js "$TMP/lambda/"
ln -s "$NODE_DIR/node_modules" "$TMP/lambda/node_modules"
(cd "$TMP/lambda" && exec setsid env ER_LAMBDA_PORT=$LAMBDA ER_HTTP_PORT=$LAMBDA_HTTP SLS_TELEMETRY_DISABLED=1 \
  SLS_NOTIFICATIONS_MODE=off taskset -c 1 node node_modules/serverless/bin/serverless.js offline >"$TMP/lambda.log" 2>&1) & PIDS+=($!)
curl -sf -X PUT -H 'Content-Type: text/css' -H 'Cache-Control: public, max-age=31536000' \
  --data-binary @"$TMP/www/style.css" "http://127.0.0.1:$S3/bench/sites/site/v1/style.css" >/dev/null

cat >"$TMP/apps.json" <<CONF
{"apps":[
 {"id":"site","frontends":[{"kind":"hostname","hostname":"site.local","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"s3_static_website","s3_static_website_opts":{"bucket_name":"bench","region_id":"us-east-1","deployed_version":"v1"}}},
 {"id":"fn","frontends":[{"kind":"hostname","hostname":"fn.local","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"aws_lambda","aws_lambda_opts":{"function_name":"ertest-dev-raw","region_id":"us-east-1","payload_format_version":"2.0"}}}]}
CONF
"$BIN/controlplane/controlplane" --grpc_listen=127.0.0.1:$CP_GRPC --http_listen=127.0.0.1:$CP_HTTP \
  --data_dir="$TMP/cp" --apps_file="$TMP/apps.json" 2>"$TMP/cp.log" & PIDS+=($!)
wait_port $CP_GRPC

cat >"$TMP/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log stderr error; pid $TMP/nginx.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; types { text/css css; }
  server { listen 127.0.0.1:$NGINX; root $TMP/www; } }
CONF

# run NAME PID HOST PORT PATH CONNECTIONS: one Markdown table row.
run() {
  local name=$1 pid=$2 host=$3 port=$4 path=$5 conns=$6
  wrk_measure "$pid" "http://127.0.0.1:$port$path" "$host" "$conns"
  echo "| $name | $RPS | $P50 | $P99 | $US | ${ERRORS:-none} |"
}

start_dataplane() {  # extra flags...
  AWS_ENDPOINT_URL_S3=http://127.0.0.1:$S3 AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:$LAMBDA \
  AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
  taskset -c 0 "$BIN/dataplane/dataplane" --workers=1 --controlplane=127.0.0.1:$CP_GRPC \
    --http_listen=127.0.0.1:$OURS --https_listen= --admin_listen=127.0.0.1:$ADMIN --state_dir="$TMP/dp" "$@" 2>>"$TMP/dp.log" &
  OURS_PID=$!; PIDS+=($OURS_PID)
  wait_port $OURS
  wait_ready $ADMIN
}
stop_dataplane() { kill $OURS_PID; wait $OURS_PID 2>/dev/null || true; }

echo "| server (1 worker, core 0) | req/s | p50 | p99 | CPU µs/req | errors |"
echo "|---|---|---|---|---|---|"
start_dataplane
curl -sf -H 'Host: site.local' "http://127.0.0.1:$OURS/style.css" | cmp - "$TMP/www/style.css"
run "dataplane, s3_static_website, cache hit (4 KiB)" $OURS_PID site.local $OURS /style.css 64
taskset -c 0 nginx -c "$TMP/nginx.conf" -p "$TMP" & NGX=$!; PIDS+=($NGX)
wait_port $NGINX
run "nginx 1.22, same file from disk" "$(pgrep -P $NGX | head -1)" site.local $NGINX /style.css 64
run "dataplane, aws_lambda (serverless-offline)" $OURS_PID fn.local $OURS /x 32
stop_dataplane
start_dataplane --s3_cache_bytes=0
if [ -n "${PROFILE:-}" ]; then
  # Software-clock sampling of the cache-off run: where an S3 round trip's CPU goes.
  perf record -q -e cpu-clock -g -p $OURS_PID -o "$TMP/perf.data" -- sleep $((DURATION + 2)) 2>/dev/null &
  PERF_PID=$!
fi
if [ -n "${SYSCALLS:-}" ]; then
  # Syscall counts of the cache-off run (its timings are then not meaningful).
  timeout $((DURATION + 3)) strace -c -f -p $OURS_PID -o "$SYSCALLS" 2>/dev/null &
  STRACE_PID=$!
fi
run "dataplane, s3_static_website, cache off (signed GET each)" $OURS_PID site.local $OURS /style.css 32
if [ -n "${SYSCALLS:-}" ]; then wait $STRACE_PID || true; cp "$TMP/run.wrk" "$SYSCALLS.wrk"; fi
if [ -n "${PROFILE:-}" ]; then
  wait $PERF_PID || true
  { perf report -i "$TMP/perf.data" --stdio --no-children --sort comm,dso -g none 2>/dev/null; perf report -i "$TMP/perf.data" --stdio --no-children --sort dso,symbol -g none --percent-limit 0.7 2>/dev/null; } | grep "%" >"$PROFILE"
fi
stop_dataplane
