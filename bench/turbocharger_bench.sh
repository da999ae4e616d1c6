#!/bin/bash
# Turbocharger benchmark: CPU microseconds per request of the data plane (one worker, core 0)
# serving a hot file from a turbocharger site (worker memory cache hit) vs nginx serving the
# same file from disk (one worker, core 0), in the same run:
#  1. a 4 KiB stylesheet, client accepts gzip (the stored gzip bytes are sent);
#  2. the same stylesheet, client without gzip (the inflated copy from the worker cache);
#  3. a 4 KiB incompressible file (stored and sent raw).
# The site is deployed with `edgerouterctl turbocharger tar-deploy-to-store` into s3rver.
# wrk and s3rver run on core 1. CPU = utime+stime from /proc/PID/stat.
#
#   bench/turbocharger_bench.sh [DURATION_SECONDS]    (needs nginx, wrk, node/npm)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
source bench/lib.sh
bench_init tc
NODE_DIR=$(testenv/aws/install.sh)

S3=$(free_port); NGINX=$(free_port); OURS=$(free_port); CP_GRPC=$(free_port); CP_HTTP=$(free_port); ADMIN=$(free_port)

mkdir -p "$TMP/www"
chmod 755 "$TMP" "$TMP/www"  # nginx workers run as www-data
head -c 3072 /dev/urandom | base64 -w 64 | head -c 4096 >"$TMP/www/style.css"
head -c 4096 /dev/urandom >"$TMP/www/blob.bin"
echo '<h1>bench</h1>' >"$TMP/www/index.html"

start_s3rver $S3 bench
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$S3 AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
export TURBOCHARGER_STORE=s3://us-east-1/bench
MANIFEST=$(tar -C "$TMP/www" -cf - index.html style.css blob.bin | "$BIN/cli/edgerouterctl" turbocharger tar-deploy-to-store bench 2>/dev/null)

cat >"$TMP/apps.json" <<CONF
{"apps":[
 {"id":"site","frontends":[{"kind":"hostname","hostname":"site.local","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"turbocharger","turbocharger_opts":{"manifest":"$MANIFEST"}}}]}
CONF
"$BIN/controlplane/controlplane" --grpc_listen=127.0.0.1:$CP_GRPC --http_listen=127.0.0.1:$CP_HTTP \
  --data_dir="$TMP/cp" --apps_file="$TMP/apps.json" 2>"$TMP/cp.log" & PIDS+=($!)
wait_port $CP_GRPC

cat >"$TMP/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log stderr error; pid $TMP/nginx.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; types { text/css css; } etag on;
  server { listen 127.0.0.1:$NGINX; root $TMP/www; } }
CONF

run() {  # NAME PID HOST PORT PATH CONNECTIONS
  local name=$1 pid=$2 host=$3 port=$4 path=$5 conns=$6
  wrk_measure "$pid" "http://127.0.0.1:$port$path" "$host" "$conns"
  echo "| $name | $RPS | $P50 | $P99 | $US | ${ERRORS:-none} |"
}

taskset -c 0 "$BIN/dataplane/dataplane" --workers=1 --controlplane=127.0.0.1:$CP_GRPC \
  --http_listen=127.0.0.1:$OURS --https_listen= --admin_listen=127.0.0.1:$ADMIN --state_dir="$TMP/dp" \
  --turbocharger_cache_dir="$TMP/cache" 2>>"$TMP/dp.log" &
OURS_PID=$!; PIDS+=($OURS_PID)
wait_port $OURS
for _ in $(seq 1 100); do curl -s -o /dev/null -w '%{http_code}' -H 'Host: site.local' "http://127.0.0.1:$OURS/" | grep -q 200 && break; sleep 0.05; done
curl -sf -H 'Host: site.local' "http://127.0.0.1:$OURS/style.css" | cmp - "$TMP/www/style.css"
curl -sf -H 'Host: site.local' "http://127.0.0.1:$OURS/blob.bin" | cmp - "$TMP/www/blob.bin"
taskset -c 0 nginx -c "$TMP/nginx.conf" -p "$TMP" & NGX=$!; PIDS+=($NGX)
wait_port $NGINX
NGX_WORKER=$(pgrep -P $NGX | head -1)

echo "manifest $MANIFEST; gzip stylesheet $(curl -s -H 'Host: site.local' -H 'Accept-Encoding: gzip' "http://127.0.0.1:$OURS/style.css" | wc -c) bytes"
echo "| server (1 worker, core 0) | req/s | p50 | p99 | CPU µs/req | errors |"
echo "|---|---|---|---|---|---|"
WRK_HEADER="Accept-Encoding: gzip" run "dataplane, turbocharger hit, 4 KiB css, gzip accepted" $OURS_PID site.local $OURS /style.css 64
run "dataplane, turbocharger hit, 4 KiB css, no gzip (inflated copy cached)" $OURS_PID site.local $OURS /style.css 64
run "nginx 1.22, same css from disk" "$NGX_WORKER" site.local $NGINX /style.css 64
run "dataplane, turbocharger hit, 4 KiB raw file" $OURS_PID site.local $OURS /blob.bin 64
run "nginx 1.22, same raw file from disk" "$NGX_WORKER" site.local $NGINX /blob.bin 64
