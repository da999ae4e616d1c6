#!/bin/bash
# HTTP/2 benchmark: our data plane vs nghttpx (Debian nghttp2-proxy) and h2o, each terminating
# TLS + HTTP/2 (ALPN h2) and proxying over HTTP/1.1 keep-alive to the same plain nginx backend
# (12-byte body). One worker/thread each, the proxy pinned to core 0; backend and h2load on
# core 1 (the pinning of bench/dataplane_bench.sh). Load: h2load -c16 -m10 (16 connections × 10
# concurrent streams); the proxy's CPU µs per request from /proc/<pid>/stat.
#
#   bench/dataplane_h2_bench.sh [DURATION_SECONDS]   (installs nghttp2-client, nghttp2-proxy, h2o if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
# The peers are only needed here, so they are installed here rather than by scripts/setup.sh.
for pkg in nghttp2-client nghttp2-proxy h2o; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
done
source bench/lib.sh
bench_init h2

BACKEND=$(free_port); OURS=$(free_port); OURS_HTTP=$(free_port); NGHTTPX=$(free_port); H2O=$(free_port)
CP_GRPC=$(free_port); CP_HTTP=$(free_port); ADMIN=$(free_port)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$TMP/key.pem" \
  -out "$TMP/cert.pem" -days 2 -subj /CN=bench.local -addext subjectAltName=DNS:bench.local 2>/dev/null
cat "$TMP/cert.pem" "$TMP/key.pem" >"$TMP/bundle.pem"

write_backend_conf "$BACKEND"
cat >"$TMP/apps.json" <<CONF
{"apps":[{"id":"bench","frontends":[{"kind":"hostname","hostname":"bench.local","path_prefix":"/"}],
 "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://127.0.0.1:$BACKEND"],"pass_host_header":true}}}]}
CONF
cat >"$TMP/h2o.conf" <<CONF
num-threads: 1
error-log: $TMP/h2o-error.log
user: root  # h2o otherwise switches to nobody when started as root
listen:
  host: 127.0.0.1
  port: $H2O
  ssl:
    certificate-file: $TMP/cert.pem
    key-file: $TMP/key.pem
    minimum-version: TLSv1.2
hosts:
  "bench.local:$H2O":
    paths:
      "/":
        proxy.reverse.url: http://127.0.0.1:$BACKEND/
        proxy.preserve-host: ON
CONF

taskset -c 1 nginx -c "$TMP/nginx-backend/nginx.conf" -p "$TMP/nginx-backend" & PIDS+=($!)
"$BIN/controlplane/controlplane" --grpc_listen=127.0.0.1:$CP_GRPC --http_listen=127.0.0.1:$CP_HTTP \
  --data_dir="$TMP/cp" --apps_file="$TMP/apps.json" 2>"$TMP/cp.log" & PIDS+=($!)

wait_port $BACKEND; wait_port $CP_GRPC

# run NAME PID PORT: one Markdown table row.
run() {
  local name=$1 pid=$2 port=$3
  local url="https://127.0.0.1:$port/"
  local out="$TMP/$port.h2load"
  taskset -c 1 h2load -c16 -m10 -D 2 -H ':authority: bench.local' "$url" >/dev/null 2>&1  # warm-up
  local before; before=$(cpu_ticks "$pid")
  taskset -c 1 h2load -c16 -m10 -D "$DURATION" -H ':authority: bench.local' "$url" >"$out" 2>&1
  local after; after=$(cpu_ticks "$pid")
  local done_n; done_n=$(awk '/^requests:/ {print $8}' "$out")
  local failed; failed=$(awk '/^requests:/ {print $10", errored "$12}' "$out")
  local codes; codes=$(awk '/^status codes:/ {print $3" 2xx"}' "$out")
  local rps; rps=$(awk '/^finished in/ {print $4}' "$out")
  local p_mean; p_mean=$(awk '/^time for request:/ {print $6}' "$out")
  local cpu; cpu=$(awk -v t=$((after - before)) -v hz="$TICK" 'BEGIN {printf "%.2f", t / hz}')
  local us; us=$(awk -v c="$cpu" -v r="$done_n" 'BEGIN {printf "%.1f", c * 1e6 / r}')
  echo "| $name | $rps | $p_mean | $codes, failed $failed | **$us µs/req** |"
}

echo "| proxy (1 worker, core 0) | req/s | mean request time | responses | proxy CPU |"
echo "|---|---|---|---|---|"
taskset -c 0 "$BIN/dataplane/dataplane" --workers=1 --controlplane=127.0.0.1:$CP_GRPC \
  --http_listen=127.0.0.1:$OURS_HTTP --https_listen=127.0.0.1:$OURS --default_cert="$TMP/bundle.pem" \
  --admin_listen=127.0.0.1:$ADMIN --state_dir="$TMP/dp" 2>"$TMP/dp.log" & OURS_PID=$!; PIDS+=($OURS_PID)
wait_port $OURS
for _ in $(seq 1 100); do curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN/ready" | grep -q 200 && break; sleep 0.05; done
nghttp -H ':authority: bench.local' "https://127.0.0.1:$OURS/" | grep -q hello || { echo "dataplane does not answer over h2" >&2; exit 1; }
run "edgerouter dataplane" $OURS_PID $OURS
kill $OURS_PID; wait $OURS_PID 2>/dev/null || true

taskset -c 0 nghttpx --conf=/dev/null --single-thread --workers=1 --frontend="127.0.0.1,$NGHTTPX" --backend="127.0.0.1,$BACKEND" \
  --no-ocsp --errorlog-file="$TMP/nghttpx.log" --add-x-forwarded-for "$TMP/key.pem" "$TMP/cert.pem" & NGX=$!; PIDS+=($NGX)
wait_port $NGHTTPX
NGX_WORKER=$(pgrep -P $NGX | head -1)  # the master forks one worker process that does the work
run "nghttpx $(nghttpx --version | awk '{print $2}')" "${NGX_WORKER:-$NGX}" $NGHTTPX
kill $NGX; wait $NGX 2>/dev/null || true

taskset -c 0 h2o -c "$TMP/h2o.conf" & H2O_PID=$!; PIDS+=($H2O_PID)
wait_port $H2O
run "h2o $(h2o --version | awk 'NR==1 {print $3}')" $H2O_PID $H2O
