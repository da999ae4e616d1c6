#!/bin/bash
# HTTPS benchmark: our dataplane vs nginx terminating TLS and proxying to the same plain nginx
# backend (12-byte body), one worker each, the proxy pinned to core 0, backend and wrk on core 1
# (same pinning as bench/dataplane_bench.sh). Both serve the same ECDSA P-256 certificate with
# the same policy (TLS 1.2–1.3, Mozilla intermediate, X25519 first).
#   1. keep-alive: wrk -c64 over https; the proxy's CPU µs per request.
#   2. full handshakes: 4 parallel `openssl s_time -new` (a new TLS 1.3 session on every
#      connection, no request; wrk would resume sessions) on core 1; full handshakes per second
#      of proxy CPU (= per core). The connection rate itself is capped by the s_time clients.
#
#   Both proxies run side by side; ROUNDS interleaved rounds (default 3: ours then nginx, each
#   measure) are reported as medians with their range, and per round: one pass per proxy could
#   not tell a ratio from the shared VM's drift between the two passes.
#   3. with INSTRUCTIONS=1: user-space instructions per full handshake under callgrind (one
#      s_time client for 10 s), unaffected by neighbours on a shared VM.
#
#   BASELINE=/path/to/dataplane adds that build as a third row ("baseline dataplane") in the
#   same rounds.
#
#   bench/dataplane_tls_bench.sh [DURATION_SECONDS]    (needs: nginx wrk openssl; scripts/setup.sh;
#                                                       valgrind for INSTRUCTIONS=1)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
ROUNDS=${ROUNDS:-3}
source bench/lib.sh
bench_init tls

BACKEND=$(free_port); NGINX_TLS=$(free_port); OURS=$(free_port)
CP_GRPC=$(free_port); CP_HTTP=$(free_port); ADMIN=$(free_port)

make_bench_cert

mkdir -p "$TMP/nginx-tls"
cat >"$TMP/nginx-tls/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log stderr error; pid $TMP/nginx-tls/pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$BACKEND; keepalive 128; }
  server { listen 127.0.0.1:$NGINX_TLS ssl;
    ssl_certificate $TMP/cert.pem; ssl_certificate_key $TMP/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3; ssl_prefer_server_ciphers off; ssl_ecdh_curve X25519:prime256v1:secp384r1;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
                 proxy_set_header X-Forwarded-Proto https; } } }
CONF
start_backend_and_controlplane

R=$TMP/results  # tab-separated rows: round proxy keepalive-µs req/s p99 errors handshakes/CPU-s conn/s
# measure ROUND NAME PID PORT: one keep-alive run and one handshake run of a proxy, one row of $R.
measure() {
  local round=$1 name=$2 pid=$3 port=$4
  wrk_measure "$pid" "https://127.0.0.1:$port/" bench.local 64
  local us=$US rps=$RPS p99=$P99 errors=${ERRORS:-none}
  taskset -c 1 openssl s_time -connect 127.0.0.1:$port -new -time 2 >/dev/null 2>&1  # warm-up
  local before; before=$(cpu_ticks "$pid")
  for i in 1 2 3 4; do
    taskset -c 1 openssl s_time -connect 127.0.0.1:$port -new -time "$DURATION" >"$TMP/st$i.txt" 2>&1 &
  done
  wait $(jobs -p | tail -4)
  local after; after=$(cpu_ticks "$pid")
  local conns; conns=$(awk '/connections in .* real seconds/ {n += $1} END {print n}' "$TMP"/st?.txt)
  local secs; secs=$(awk '/connections in .* real seconds/ {print $4; exit}' "$TMP"/st1.txt)
  local cpu; cpu=$(awk -v t=$((after - before)) -v hz="$TICK" 'BEGIN {printf "%.2f", t / hz}')
  local per_core; per_core=$(awk -v c="$cpu" -v n="$conns" 'BEGIN {printf "%.0f", n / c}')
  local rate; rate=$(awk -v s="$secs" -v n="$conns" 'BEGIN {printf "%.0f", n / s}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$us" "$rps" "$p99" "$errors" "$per_core" "$rate" >>"$R"
}

# start_ours BINARY HTTPS_PORT ADMIN_PORT NAME: a data plane on core 0; sets STARTED.
start_ours() {
  taskset -c 0 "$1" --workers=1 --controlplane=127.0.0.1:$CP_GRPC \
    --http_listen=127.0.0.1:$(free_port) --https_listen=127.0.0.1:$2 --default_cert="$TMP/bundle.pem" \
    --admin_listen=127.0.0.1:$3 --state_dir="$TMP/$4" 2>"$TMP/$4.log" & STARTED=$!; PIDS+=($STARTED)
  wait_port "$2"
  wait_ready "$3"
  curl -sk --fail -o /dev/null -H 'Host: bench.local' "https://127.0.0.1:$2/" || { echo "$4 does not answer" >&2; exit 1; }
}
start_ours "$BIN/dataplane/dataplane" $OURS $ADMIN dp; OURS_PID=$STARTED
NAMES="ours nginx"
if [ -n "${BASELINE:-}" ]; then
  BASE_PORT=$(free_port)
  start_ours "$BASELINE" $BASE_PORT "$(free_port)" dp-base; BASE_PID=$STARTED
  NAMES="ours baseline nginx"
fi
taskset -c 0 nginx -c "$TMP/nginx-tls/nginx.conf" -p "$TMP/nginx-tls" & NGX=$!; PIDS+=($NGX)
wait_port $NGINX_TLS
NGX_WORKER=$(pgrep -P $NGX | head -1)
NGINX_NAME="nginx $(nginx -v 2>&1 | sed 's|.*/||')"

for round in $(seq 1 "$ROUNDS"); do
  measure "$round" ours $OURS_PID $OURS
  [ -z "${BASELINE:-}" ] || measure "$round" baseline $BASE_PID $BASE_PORT
  measure "$round" nginx "$NGX_WORKER" $NGINX_TLS
done
kill $OURS_PID ${BASE_PID:-} $NGX; wait $OURS_PID ${BASE_PID:-} $NGX 2>/dev/null || true

echo "| proxy (1 worker, core 0), median of $ROUNDS rounds | keep-alive (wrk -c64) CPU | range | req/s | p99 | errors | full TLS 1.3 handshakes (s_time -new ×4) per CPU-s | range | conn/s |"
echo "|---|---|---|---|---|---|---|---|---|"
for name in $NAMES; do
  label="edgerouter dataplane"; [ "$name" = nginx ] && label=$NGINX_NAME; [ "$name" = baseline ] && label="baseline dataplane"
  echo "| $label | **$(median "$R" 3 $name) µs/req** | $(spread "$R" 3 $name) | $(median "$R" 4 $name) | $(median "$R" 5 $name) | $(errors_of "$R" 6 $name) | **$(median "$R" 7 $name)** | $(spread "$R" 7 $name) | $(median "$R" 8 $name) |"
done
awk -v o="$(median "$R" 3 ours)" -v n="$(median "$R" 3 nginx)" -v ho="$(median "$R" 7 ours)" -v hn="$(median "$R" 7 nginx)" \
  'BEGIN {if (n > 0 && hn > 0) printf "\nkeep-alive CPU ours ÷ nginx (medians): %.2f; handshakes per CPU-s ours ÷ nginx: %.2f\n", o / n, ho / hn}'
# The same ratios within each round (the VM's level moves between rounds, less within one),
# and their medians.
per_round() {  # COLUMN: "r1 r2 … (median m)" of ours ÷ nginx in that column
  awk -F'\t' -v c="$1" '$2 == "ours" {o[$1] = $c} $2 == "nginx" {n[$1] = $c}
    END {for (r = 1; r in o; ++r) if (n[r] > 0) printf "%.2f\n", o[r] / n[r]}' "$R" >"$TMP/ratios"
  echo "$(tr '\n' ' ' <"$TMP/ratios")(median $(sort -g "$TMP/ratios" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'))"
}
echo "per round, keep-alive ours ÷ nginx: $(per_round 3)"
echo "per round, handshakes ours ÷ nginx: $(per_round 7)"
echo "per-round rows (round proxy keepalive-µs req/s p99 errors handshakes/CPU-s conn/s):"
sed 's/^/    /' "$R"

[ "${INSTRUCTIONS:-0}" = 1 ] || exit 0
# instructions NAME COMMAND...: starts COMMAND under callgrind on $PORT, prints one table row.
instructions() {
  local name=$1; shift
  mkdir -p "$TMP/cg-$name"
  valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$TMP/cg-$name/out.%p" "$@" 2>"$TMP/cg-$name.log" &
  local pid=$!
  wait_port "$PORT"
  for _ in $(seq 1 400); do openssl s_time -connect 127.0.0.1:$PORT -new -time 1 >/dev/null 2>&1 && break; sleep 0.1; done  # warm-up
  callgrind_control -z >/dev/null 2>&1
  openssl s_time -connect 127.0.0.1:$PORT -new -time 10 >"$TMP/cg-st.txt" 2>&1
  callgrind_control -d >/dev/null 2>&1
  for _ in $(seq 1 100); do compgen -G "$TMP/cg-$name/out.*.*" >/dev/null && break; sleep 0.1; done
  local conns; conns=$(awk '/connections in .* real seconds/ {print $1; exit}' "$TMP/cg-st.txt")
  local total=0 t
  for f in "$TMP/cg-$name"/out.*.*; do t=$(awk '/^(summary|totals):/ {v = $2} END {print v + 0}' "$f"); total=$((total + t)); done
  echo "| $name | $((total / conns)) | $conns |"
  kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
}
echo
echo "| proxy | user-space instructions per full TLS 1.3 handshake (callgrind) | handshakes measured |"
echo "|---|---|---|"
PORT=$(free_port); ADMIN2=$(free_port)
# --io_uring=false: valgrind 3.19 keeps its thread lock in io_uring_enter, so a worker waiting
# on the ring would stop every other thread (the data plane never gets its config).
instructions edgerouter "$BIN/dataplane/dataplane" --io_uring=false --workers=1 --controlplane=127.0.0.1:$CP_GRPC \
  --http_listen=127.0.0.1:$(free_port) --https_listen=127.0.0.1:$PORT --default_cert="$TMP/bundle.pem" \
  --admin_listen=127.0.0.1:$ADMIN2 --state_dir="$TMP/dp-cg"
sed -i "s/127.0.0.1:$NGINX_TLS ssl/127.0.0.1:$PORT ssl/; s/daemon off;/daemon off; master_process off;/" "$TMP/nginx-tls/nginx.conf"
instructions nginx nginx -c "$TMP/nginx-tls/nginx.conf" -p "$TMP/nginx-tls"
