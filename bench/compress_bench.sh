#!/bin/bash
# Response compression: CPU per MB of our dataplane compressing proxied responses (gzip level 6,
# brotli quality 4, zstd level 3; policies.compress) vs nginx's gzip filter at level 6, in the
# same run. Both proxy the same nginx backend serving a 1 MB text file (the project's C++
# sources and docs, concatenated); one worker each, the proxy pinned to core 0, backend and wrk
# on core 1, wrk keep-alive with 8 connections. CPU µs per request / 1 MB = µs per MB.
#
#   bench/compress_bench.sh [DURATION_SECONDS]    (needs: nginx wrk; see scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
source bench/lib.sh
bench_init compress

BACKEND=$(free_port); NGINX_PROXY=$(free_port); OURS=$(free_port)
CP_GRPC=$(free_port); CP_HTTP=$(free_port); ADMIN=$(free_port)

mkdir -p "$TMP/www" "$TMP/nginx-backend" "$TMP/nginx-proxy"
head -c 1000000 < <(cat $(git ls-files '*.cc' '*.h' '*.md' | sort)) >"$TMP/www/page.txt"
chmod 755 "$TMP" "$TMP/www"; chmod 644 "$TMP/www/page.txt"  # nginx workers run as www-data
cat >"$TMP/nginx-backend/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log stderr error; pid $TMP/nginx-backend/pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; include /etc/nginx/mime.types;
  server { listen 127.0.0.1:$BACKEND; root $TMP/www; } }
CONF
cat >"$TMP/nginx-proxy/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log stderr error; pid $TMP/nginx-proxy/pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  gzip on; gzip_comp_level 6; gzip_types text/plain; gzip_min_length 1024;
  upstream backend { server 127.0.0.1:$BACKEND; keepalive 128; }
  server { listen 127.0.0.1:$NGINX_PROXY;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
app() {  # app ID HOST ENCODINGS_JSON
  echo "{\"id\":\"$1\",\"frontends\":[{\"kind\":\"hostname\",\"hostname\":\"$2\",\"path_prefix\":\"/\",\"allow_insecure_http\":true}],
 \"backend\":{\"kind\":\"reverse_proxy\",\"reverse_proxy_opts\":{\"origins\":[\"http://127.0.0.1:$BACKEND\"]}}$3}"
}
cat >"$TMP/apps.json" <<CONF
{"apps":[$(app plain plain.local ''),
 $(app gzip gzip.local ',"policies":{"compress":{"encodings":["gzip"]}}'),
 $(app br br.local ',"policies":{"compress":{"encodings":["br"]}}'),
 $(app zstd zstd.local ',"policies":{"compress":{"encodings":["zstd"]}}')]}
CONF
taskset -c 1 nginx -c "$TMP/nginx-backend/nginx.conf" -p "$TMP/nginx-backend" & PIDS+=($!)
"$BIN/controlplane/controlplane" --grpc_listen=127.0.0.1:$CP_GRPC --http_listen=127.0.0.1:$CP_HTTP \
  --data_dir="$TMP/cp" --apps_file="$TMP/apps.json" 2>"$TMP/cp.log" & PIDS+=($!)
wait_port "$BACKEND"; wait_port "$CP_GRPC"

taskset -c 0 "$BIN/dataplane/dataplane" --workers=1 --controlplane=127.0.0.1:$CP_GRPC \
  --http_listen=127.0.0.1:$OURS --https_listen= --admin_listen=127.0.0.1:$ADMIN --state_dir="$TMP/dp" 2>"$TMP/dp.log" & OURS_PID=$!; PIDS+=($OURS_PID)
wait_port $OURS
wait_ready $ADMIN
taskset -c 0 nginx -c "$TMP/nginx-proxy/nginx.conf" -p "$TMP/nginx-proxy" & NGX=$!; PIDS+=($NGX)
wait_port $NGINX_PROXY
NGX_WORKER=$(pgrep -P $NGX | head -1)

MB=$(awk -v b="$(stat -c %s "$TMP/www/page.txt")" 'BEGIN {printf "%.3f", b / 1048576}')
echo "Body: $(stat -c %s "$TMP/www/page.txt") bytes of text; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| proxy (1 worker, core 0) | coding | compressed bytes | req/s | CPU µs/req | CPU ms per MB | errors |"
echo "|---|---|---|---|---|---|---|"
# run NAME PID PORT HOST CODING
run() {
  local name=$1 pid=$2 port=$3 host=$4 coding=$5
  local size; size=$(curl -s -H "Host: $host" -H "Accept-Encoding: $coding" -o "$TMP/out" -w '%{size_download}' "http://127.0.0.1:$port/page.txt")
  local ce; ce=$(curl -s -o /dev/null -D - -H "Host: $host" -H "Accept-Encoding: $coding" "http://127.0.0.1:$port/page.txt" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-encoding" {print $2}')
  WRK_HEADER="Accept-Encoding: $coding" wrk_measure "$pid" "http://127.0.0.1:$port/page.txt" "$host" 8
  local per_mb; per_mb=$(awk -v us="$US" -v mb="$MB" 'BEGIN {printf "%.2f", us / mb / 1000}')
  echo "| $name | ${ce:-identity} | $size | $RPS | $US | $per_mb | ${ERRORS:-none} |"
}
run "edgerouter dataplane" $OURS_PID $OURS plain.local identity
run "edgerouter dataplane" $OURS_PID $OURS gzip.local gzip
run "edgerouter dataplane" $OURS_PID $OURS br.local br
run "edgerouter dataplane" $OURS_PID $OURS zstd.local zstd
run "nginx 1.22" "$NGX_WORKER" $NGINX_PROXY bench.local identity
run "nginx 1.22" "$NGX_WORKER" $NGINX_PROXY bench.local gzip
echo
echo "Reference, single-shot CLI on the same body: gzip -6 $(gzip -6 -c "$TMP/www/page.txt" | wc -c) bytes, zstd -3 $(zstd -3 -c -q "$TMP/www/page.txt" | wc -c) bytes, brotli q4 $(/usr/bin/python3 -c 'import brotli,sys; print(len(brotli.compress(open(sys.argv[1],"rb").read(), quality=4, lgwin=19)))' "$TMP/www/page.txt") bytes"
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
