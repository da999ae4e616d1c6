#!/bin/bash
# HTTP/2 benchmark: our data plane vs nghttpx (Debian nghttp2-proxy) and h2o, each terminating
# TLS + HTTP/2 (ALPN h2) and proxying over HTTP/1.1 keep-alive to the same plain nginx backend
# (12-byte body). One worker/thread each, the proxy pinned to core 0; backend and h2load on
# core 1 (the pinning of bench/dataplane_bench.sh). Load: h2load -c16 -m10 (16 connections × 10
# concurrent streams).
#
# Two measures:
#  - CPU µs per request of the proxy process (/proc/<pid>/stat, user and system apart), in
#    ROUNDS interleaved rounds (ours, nghttpx, h2o, ours, …) and reported as the median: a
#    single run on a shared VM swings ±15 %.
#  - with INSTRUCTIONS=1, user-space instructions per request under callgrind (40 000 requests
#    after a warm-up; our builds also over plain HTTP/1.1 keep-alive, h2load --h1 -m1, proxied
#    like the HTTP/2 requests): not disturbed by neighbours, so code changes show up even when
#    they are smaller than the CPU-time noise. The kernel's share is not in it.
#
#  - PROXIES="ours baseline" runs a subset; KEEP_PROFILES=DIR keeps the callgrind profiles
#    (callgrind_annotate DIR/ours-h2/out.*.1; one directory per proxy and protocol) for finding where instructions went.
#  - with BASELINE=/path/to/dataplane, that build of our data plane runs as a fourth proxy
#    ("baseline") in the same rounds: before/after numbers for a change from one run.
#
#   bench/dataplane_h2_bench.sh [SECONDS_PER_RUN] [ROUNDS]   (installs nghttp2-client, nghttp2-proxy, h2o
#                                                            and, for INSTRUCTIONS=1, valgrind if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-8}
ROUNDS=${2:-3}
# The peers are only needed here, so they are installed here rather than by scripts/setup.sh.
PKGS="nghttp2-client nghttp2-proxy h2o"
[ "${INSTRUCTIONS:-0}" = 1 ] && PKGS="$PKGS valgrind"
for pkg in $PKGS; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
done
source bench/lib.sh
bench_init h2

BACKEND=$(free_port); CP_GRPC=$(free_port); CP_HTTP=$(free_port)
make_bench_cert
# Plain HTTP allowed so the HTTP/1.1 callgrind run measures proxying, not the 307 to https.
start_backend_and_controlplane ',"allow_insecure_http":true'

# start_proxy NAME PORT [WRAPPER...]: starts one proxy on PORT (pinned to core 0 unless wrapped),
# sets PROXY_MAIN to the process started and PROXY_PID to the one doing the work.
start_proxy() {
  local name=$1 port=$2; shift 2
  local wrap=("$@"); [ ${#wrap[@]} -eq 0 ] && wrap=(taskset -c 0)
  case $name in
    ours|baseline)
      local admin bin="$BIN/dataplane/dataplane"; admin=$(free_port); PROXY_HTTP=$(free_port)
      [ "$name" = baseline ] && bin=$BASELINE
      # Under valgrind (INSTRUCTIONS=1) without io_uring: valgrind 3.19 keeps its thread lock in
      # io_uring_enter, so a worker waiting on the ring stops every other thread.
      local extra=(); [ "${wrap[0]}" = valgrind ] && extra=(--io_uring=false)  # both builds
      "${wrap[@]}" "$bin" "${extra[@]}" --workers=1 --controlplane=127.0.0.1:$CP_GRPC \
        --http_listen=127.0.0.1:$PROXY_HTTP --https_listen=127.0.0.1:$port --default_cert="$TMP/bundle.pem" \
        --admin_listen=127.0.0.1:$admin --state_dir="$TMP/dp-$port" 2>"$TMP/dp-$port.log" & PROXY_PID=$!; PROXY_MAIN=$!
      PIDS+=($PROXY_PID); wait_port $port
      wait_ready $admin 400 ;;
    nghttpx)
      "${wrap[@]}" nghttpx --conf=/dev/null --single-thread --workers=1 --frontend="127.0.0.1,$port" \
        --backend="127.0.0.1,$BACKEND" --no-ocsp --errorlog-file="$TMP/nghttpx-$port.log" --add-x-forwarded-for \
        "$TMP/key.pem" "$TMP/cert.pem" 2>"$TMP/nghttpx-$port.err" & PROXY_PID=$!; PROXY_MAIN=$!
      PIDS+=($PROXY_PID); wait_port $port
      local worker; worker=$(pgrep -P $PROXY_PID | head -1)  # the master forks the worker that does the work
      PROXY_PID=${worker:-$PROXY_PID} ;;
    h2o)
      cat >"$TMP/h2o-$port.conf" <<CONF
num-threads: 1
error-log: $TMP/h2o-$port.log
user: root  # h2o otherwise switches to nobody when started as root
listen:
  host: 127.0.0.1
  port: $port
  ssl:
    certificate-file: $TMP/cert.pem
    key-file: $TMP/key.pem
    minimum-version: TLSv1.2
hosts:
  "bench.local:$port":
    paths:
      "/":
        proxy.reverse.url: http://127.0.0.1:$BACKEND/
        proxy.preserve-host: ON
CONF
      "${wrap[@]}" h2o -c "$TMP/h2o-$port.conf" 2>/dev/null & PROXY_PID=$!; PROXY_MAIN=$!
      PIDS+=($PROXY_PID); wait_port $port ;;
  esac
  local probe; probe=$(nghttp -H ':authority: bench.local' "https://127.0.0.1:$port/" 2>/dev/null || true)
  [[ $probe == *hello* ]] || { echo "$name does not answer over h2" >&2; exit 1; }
}

# measure PID PORT → "µs/req user sys req/s failed" for one run.
measure() {
  local pid=$1 port=$2 out="$TMP/run.h2load"
  local url="https://127.0.0.1:$port/"
  taskset -c 1 h2load -c16 -m10 -D 2 -H ':authority: bench.local' "$url" >/dev/null 2>&1  # warm-up
  local u0 s0 u1 s1
  read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  taskset -c 1 h2load -c16 -m10 -D "$DURATION" -H ':authority: bench.local' "$url" >"$out" 2>&1
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  local n; n=$(awk '/^requests:/ {print $8}' "$out")
  local failed; failed=$(awk '/^requests:/ {print $10 + $12}' "$out")
  local rps; rps=$(awk '/^finished in/ {print $4}' "$out")
  awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v n="$n" -v hz="$TICK" -v rps="$rps" -v f="$failed" \
    'BEGIN {printf "%.1f %.1f %.1f %s %s\n", (u + s) / hz * 1e6 / n, u / hz * 1e6 / n, s / hz * 1e6 / n, rps, f}'
}

read -r -a NAMES <<<"${PROXIES:-ours nghttpx h2o}"  # PROXIES="ours baseline": a subset
[ -n "${BASELINE:-}" ] && [[ " ${NAMES[*]} " != *" baseline "* ]] && NAMES+=(baseline)
declare -A PORT_OF PID_OF MAIN_OF
for name in "${NAMES[@]}"; do
  PORT_OF[$name]=$(free_port)
  start_proxy "$name" "${PORT_OF[$name]}"
  PID_OF[$name]=$PROXY_PID
  MAIN_OF[$name]=$PROXY_MAIN
done
: >"$TMP/results"
for round in $(seq 1 "$ROUNDS"); do
  for name in "${NAMES[@]}"; do
    echo "$round $name $(measure "${PID_OF[$name]}" "${PORT_OF[$name]}")" | tr ' ' '\t' >>"$TMP/results"
  done
done

R=$TMP/results  # tab-separated rows: round proxy µs user sys req/s failed (median/spread: bench/lib.sh)

echo "| proxy (1 worker, core 0) | CPU µs/req, median of $ROUNDS | range | user | system | req/s | failed |"
echo "|---|---|---|---|---|---|---|"
for name in "${NAMES[@]}"; do
  label=$name
  [ "$name" = ours ] && label="edgerouter dataplane"
  [ "$name" = nghttpx ] && label="nghttpx $(nghttpx --version | awk '{print $2}')"
  [ "$name" = h2o ] && label="h2o $(h2o --version | awk 'NR==1 {print $3}')"
  [ "$name" = baseline ] && label="edgerouter dataplane, baseline build"
  failed=$(awk -v who="$name" '$2 == who {f += $7} END {print f + 0}' "$TMP/results")
  echo "| $label | **$(median "$R" 3 "$name")** | $(spread "$R" 3 "$name") | $(median "$R" 4 "$name") | $(median "$R" 5 "$name") | $(median "$R" 6 "$name") | $failed |"
done
awk -v o="$(median "$R" 3 ours)" -v a="$(median "$R" 3 nghttpx)" -v b="$(median "$R" 3 h2o)" \
  'BEGIN {best = a < b ? a : b; if (best > 0) printf "\nours ÷ better peer (medians): %.2f\n", o / best}'
[ -n "${BASELINE:-}" ] && awk -v o="$(median "$R" 3 ours)" -v b="$(median "$R" 3 baseline)" -v ou="$(median "$R" 4 ours)" \
  -v bu="$(median "$R" 4 baseline)" 'BEGIN {if (b > 0 && bu > 0) printf "ours ÷ baseline (medians): CPU %.2f, user %.2f\n", o / b, ou / bu}'
echo "per-round rows (round proxy µs user sys req/s failed):"; sed 's/^/    /' "$TMP/results"

[ "${INSTRUCTIONS:-0}" = 1 ] || exit 0
echo
echo "| proxy | user-space instructions per request (callgrind, 40 000 requests) |"
echo "|---|---|"
for name in "${NAMES[@]}"; do kill "${MAIN_OF[$name]}" 2>/dev/null || true; wait "${MAIN_OF[$name]}" 2>/dev/null || true; done
# callgrind_per_request NAME LABEL PROTO: instructions per request of one proxy under callgrind;
# PROTO h2 (TLS + HTTP/2) or h1 (plain HTTP/1.1 keep-alive, our data planes only).
callgrind_per_request() {
  local name=$1 label=$2 proto=$3 port dir url flags=()
  port=$(free_port); dir="$TMP/cg-$name-$proto"; mkdir -p "$dir"
  start_proxy "$name" "$port" valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$dir/out.%p"
  url="https://127.0.0.1:$port/"
  # HTTP/1.1 without pipelining (-m1), as browsers and wrk send it.
  [ "$proto" = h1 ] && url="http://127.0.0.1:$PROXY_HTTP/" && flags=(--h1 -m1)
  h2load -c16 -m10 "${flags[@]}" -n 4000 -H ':authority: bench.local' "$url" >/dev/null 2>&1  # warm-up
  callgrind_control -z >/dev/null 2>&1
  h2load -c16 -m10 "${flags[@]}" -n 40000 -H ':authority: bench.local' "$url" >"$TMP/cg.h2load" 2>&1
  callgrind_control -d >/dev/null 2>&1
  for _ in $(seq 1 100); do compgen -G "$dir/out.*.*" >/dev/null && break; sleep 0.1; done
  local done_n total=0 t f
  done_n=$(awk '/^requests:/ {print $8}' "$TMP/cg.h2load")
  for f in "$dir"/out.*.*; do  # the dumps (one per process; threads are summed)
    t=$(awk '/^(summary|totals):/ {v = $2} END {print v + 0}' "$f")
    total=$((total + t))
  done
  echo "| $label | $((total / done_n)) |"
  [ -n "${KEEP_PROFILES:-}" ] && mkdir -p "$KEEP_PROFILES/$name-$proto" && cp "$dir"/out.* "$KEEP_PROFILES/$name-$proto/"
  kill "$PROXY_MAIN" 2>/dev/null || true; wait "$PROXY_MAIN" 2>/dev/null || true
}
for name in "${NAMES[@]}"; do
  callgrind_per_request "$name" "$name (TLS + HTTP/2)" h2
  case $name in ours|baseline) callgrind_per_request "$name" "$name (plain HTTP/1.1)" h1 ;; esac
done
