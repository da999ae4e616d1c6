#!/bin/bash
# Soak: one data plane (2 workers) under mixed traffic for MINUTES (default 30) while its config
# churns and its control plane restarts every 5 minutes. Traffic, all at once, open loop:
#   - HTTP/1.1 keep-alive to a reverse_proxy app (bench/fixed_rate_load, RATE req/s);
#   - TLS + HTTP/2 to the same app (h2load, 4 connections × 2 streams, 50 req/s each);
#   - WebSocket sessions through a reverse_proxy app to an echo origin (bench/soak_ws.py);
#   - an s3_static_website app served from the data plane's S3 cache (s3rver behind it).
# Config churn: 20 app updates per second (bench/churn_load, 20 apps updated in turn, so the
# config does not grow). The control plane is restarted every 5 minutes (a third of a shorter
# run). The first 5 minutes (a fifth of a shorter run) are a warm-up with the same load.
# Verdict: 0 errors in every traffic kind after the warm-up; the data plane's RSS at rest after
# the run < 5 % over its RSS at rest after the warm-up; no more open fds at rest than after the
# warm-up. Prints a Markdown table and "soak: PASS" or "soak: FAIL (<why>)".
#
#   bench/soak.sh [MINUTES] [RATE]    (needs nginx, h2load, node/npm, python3-websockets)
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-30}
RATE=${2:-500}
source bench/lib.sh
bench_init soak
bazel build --config=opt //bench:fixed_rate_load //bench:churn_load >/dev/null 2>&1
SECONDS_TOTAL=$((MINUTES * 60))
WARMUP=$((SECONDS_TOTAL / 5 < 300 ? SECONDS_TOTAL / 5 : 300))

BACKEND=$(free_port); CP_GRPC=$(free_port); CP_HTTP=$(free_port); S3=$(free_port)
HTTP=$(free_port); HTTPS=$(free_port); ADMIN=$(free_port)
make_bench_cert
write_backend_conf "$BACKEND"
taskset -c 1 nginx -c "$TMP/nginx-backend/nginx.conf" -p "$TMP/nginx-backend" & PIDS+=($!)
start_s3rver "$S3" soak
head -c 30000 /dev/urandom | base64 -w 76 >"$TMP/page.html"
curl -sf -X PUT -H 'Content-Type: text/html' --data-binary @"$TMP/page.html" \
  "http://127.0.0.1:$S3/soak/sites/site/v1/index.html" >/dev/null
/usr/bin/python3 dataplane/test/ws_tool.py server >"$TMP/ws.out" 2>&1 & PIDS+=($!)
for _ in $(seq 1 200); do grep -q "ws ready" "$TMP/ws.out" && break; sleep 0.05; done
WS_ORIGIN=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' "$TMP/ws.out")

insecure='"allow_insecure_http":true'
cat >"$TMP/apps.json" <<CONF
{"apps":[
 {"id":"bench","frontends":[{"kind":"hostname","hostname":"bench.local","path_prefix":"/",$insecure}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://127.0.0.1:$BACKEND"],"pass_host_header":true}}},
 {"id":"ws","frontends":[{"kind":"hostname","hostname":"ws.local","path_prefix":"/",$insecure}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://127.0.0.1:$WS_ORIGIN"]}}},
 {"id":"site","frontends":[{"kind":"hostname","hostname":"site.local","path_prefix":"/",$insecure}],
  "backend":{"kind":"s3_static_website","s3_static_website_opts":{"bucket_name":"soak","region_id":"us-east-1","deployed_version":"v1"}}}]}
CONF
start_controlplane() {
  "$BIN/controlplane/controlplane" --grpc_listen=127.0.0.1:$CP_GRPC --http_listen=127.0.0.1:$CP_HTTP \
    --data_dir="$TMP/cp" --apps_file="$TMP/apps.json" 2>>"$TMP/cp.log" & CP_PID=$!; PIDS+=($CP_PID)
  wait_port "$CP_GRPC"
}
start_controlplane
AWS_ENDPOINT_URL_S3=http://127.0.0.1:$S3 AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
  "$BIN/dataplane/dataplane" --workers=2 --controlplane=127.0.0.1:$CP_GRPC --http_listen=127.0.0.1:$HTTP \
  --https_listen=127.0.0.1:$HTTPS --default_cert="$TMP/bundle.pem" --admin_listen=127.0.0.1:$ADMIN \
  --access_log=off --state_dir="$TMP/dp" 2>"$TMP/dp.log" & DP=$!; PIDS+=($DP)
wait_port $HTTP
wait_ready $ADMIN 200
curl -sf -H 'Host: site.local' "http://127.0.0.1:$HTTP/" | cmp - "$TMP/page.html"
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$DP/status"; }
fds() { find "/proc/$DP/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# at_rest: "RSS fds" once the clients have gone (the 3 s let closing connections finish: they
# are not awaited one by one).
at_rest() { sleep 3; echo "$(rss_kb) $(fds)"; }

# traffic SECONDS TAG: every kind of load at once for SECONDS, the control plane restarted every
# RESTART_S; samples "t rss fds" every 10 s into $TMP/samples-TAG; outputs in $TMP/*-TAG.out.
RESTART_S=$((SECONDS_TOTAL / 3 < 300 ? SECONDS_TOTAL / 3 : 300))
RESTARTS=0
traffic() {
  local seconds=$1 tag=$2 gens=() start now next_restart
  taskset -c 1 "$BIN/bench/fixed_rate_load" --target=127.0.0.1:$HTTP --host=bench.local --rate="$RATE" \
    --connections=16 --duration_s="$seconds" --warmup_s=0 >"$TMP/h1-$tag.out" 2>&1 & gens+=($!)
  taskset -c 1 "$BIN/bench/fixed_rate_load" --target=127.0.0.1:$HTTP --host=site.local --rate=100 \
    --connections=4 --duration_s="$seconds" --warmup_s=0 >"$TMP/s3-$tag.out" 2>&1 & gens+=($!)
  taskset -c 1 h2load -c4 -m2 --rps=50 -D "$seconds" -H ':authority: bench.local' \
    "https://127.0.0.1:$HTTPS/" >"$TMP/h2-$tag.out" 2>&1 & gens+=($!)
  /usr/bin/python3 bench/soak_ws.py "$HTTP" ws.local "$seconds" 4 20 >"$TMP/ws-$tag.out" 2>&1 & gens+=($!)
  "$BIN/bench/churn_load" --controlplane=127.0.0.1:$CP_GRPC --rate=20 --duration_s="$seconds" \
    >"$TMP/churn-$tag.out" 2>&1 & gens+=($!)
  PIDS+=("${gens[@]}")
  start=$(date +%s); next_restart=$((start + RESTART_S)); : >"$TMP/samples-$tag"
  while [ "$(date +%s)" -lt $((start + seconds)) ]; do
    now=$(date +%s)
    if [ "$tag" = soak ] && [ "$now" -ge "$next_restart" ]; then
      kill "$CP_PID"; wait "$CP_PID" 2>/dev/null || true
      start_controlplane; RESTARTS=$((RESTARTS + 1)); next_restart=$((now + RESTART_S))
    fi
    echo "$((now - start)) $(rss_kb) $(fds)" >>"$TMP/samples-$tag"
    sleep 10  # the sampling period
  done
  wait "${gens[@]}" || true
}

traffic "$WARMUP" warmup
read -r RSS_START FDS_START <<<"$(at_rest)"
traffic $((SECONDS_TOTAL - WARMUP)) soak
read -r RSS_END FDS_END <<<"$(at_rest)"

field() { tr ' ' '\n' <"$1" | awk -F= -v k="$2" '$1==k {print $2}' | tail -1; }
h1_err=$(field "$TMP/h1-soak.out" errors); h1_done=$(field "$TMP/h1-soak.out" completed)
s3_err=$(field "$TMP/s3-soak.out" errors); s3_done=$(field "$TMP/s3-soak.out" completed)
h2_ok=$(awk '/^requests:/ {print $8}' "$TMP/h2-soak.out"); h2_err=$(awk '/^requests:/ {print $10 + $12}' "$TMP/h2-soak.out")
ws_line=$(grep '^ws sessions' "$TMP/ws-soak.out" || echo "ws sessions=0 messages=0 errors=1")
ws_err=$(sed 's/.*errors=\([0-9]*\).*/\1/' <<<"$ws_line")
puts=$(field "$TMP/churn-soak.out" puts); puts_failed=$(field "$TMP/churn-soak.out" failed)
rss_max=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$TMP/samples-soak")
fds_max=$(awk 'BEGIN {m = 0} $3 > m {m = $3} END {print m}' "$TMP/samples-soak")
growth=$(awk -v a="$RSS_START" -v b="$RSS_END" 'BEGIN {printf "%.1f", (b - a) * 100 / a}')
echo "| soak: $MINUTES min ($WARMUP s warm-up, then $((SECONDS_TOTAL - WARMUP)) s measured) | result |"
echo "|---|---|"
echo "| HTTP/1.1 keep-alive, $RATE req/s | ${h1_done:-0} completed, ${h1_err:-?} errors |"
echo "| S3 static website (cache), 100 req/s | ${s3_done:-0} completed, ${s3_err:-?} errors |"
echo "| TLS + HTTP/2, 4 × 50 req/s | ${h2_ok:-0} succeeded, ${h2_err:-?} failed or errored |"
echo "| WebSocket, 4 clients × 20 messages per session | ${ws_line#ws } |"
echo "| config churn, 20 app updates/s | ${puts:-0} puts, ${puts_failed:-?} refused (control plane restarting: $RESTARTS restarts) |"
echo "| data-plane RSS at rest (KiB): after warm-up → end (max under load) | $RSS_START → $RSS_END ($growth %) (max $rss_max) |"
echo "| data-plane open fds at rest: after warm-up → end (max under load) | $FDS_START → $FDS_END (max $fds_max) |"
grep '^ws error' "$TMP/ws-soak.out" | head -3 || true
why=""
[ "${h1_err:-1}" = 0 ] && [ "${h1_done:-0}" -gt 0 ] || why+="HTTP/1.1 errors; "
[ "${s3_err:-1}" = 0 ] && [ "${s3_done:-0}" -gt 0 ] || why+="S3 errors; "
[ "${h2_err:-1}" = 0 ] && [ "${h2_ok:-0}" -gt 0 ] || why+="HTTP/2 errors; "
[ "$ws_err" = 0 ] || why+="WebSocket errors; "
awk -v g="$growth" 'BEGIN {exit !(g < 5)}' || why+="RSS grew ${growth} %; "
[ "$FDS_END" -le "$FDS_START" ] || why+="fds $FDS_START -> $FDS_END; "
if [ -z "$why" ]; then echo "soak: PASS"; else echo "soak: FAIL ($why)"; exit 1; fi
