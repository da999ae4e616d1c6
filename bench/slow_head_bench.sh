#!/bin/bash
# Slow request heads: the data plane's CPU for one 60 KB request head sent in one write, and
# the same head sent one byte per TCP segment (paced ~20 µs apart, so the data plane reads
# about one byte per read; and unpaced, as fast as the client can write), proxied to the nginx
# backend. Reports CPU milliseconds per request (utime+stime from /proc/PID/stat) and the ratios.
#
#   bench/slow_head_bench.sh [ONE_WRITE_REQUESTS]   (DATAPLANE=PATH: another data-plane binary)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}
source bench/lib.sh
bench_init slowhead
DATAPLANE=${DATAPLANE:-$BIN/dataplane/dataplane}  # e.g. another commit's, for a before/after comparison

BACKEND=$(free_port); OURS=$(free_port); CP_GRPC=$(free_port); CP_HTTP=$(free_port); ADMIN=$(free_port)
start_backend_and_controlplane ',"allow_insecure_http":true'
taskset -c 0 "$DATAPLANE" --workers=1 --controlplane=127.0.0.1:$CP_GRPC \
  --http_listen=127.0.0.1:$OURS --https_listen= --admin_listen=127.0.0.1:$ADMIN --state_dir="$TMP/dp" \
  --header_timeout_ms=120000 2>"$TMP/dp.log" & OURS_PID=$!; PIDS+=($OURS_PID)
wait_port $OURS
wait_ready $ADMIN

# send.py MODE COUNT: MODE one | paced | unpaced; COUNT requests, each on its own connection.
cat >"$TMP/send.py" <<PY
import socket, sys, time
mode, count = sys.argv[1], int(sys.argv[2])
head = b"GET / HTTP/1.1\r\nHost: bench.local\r\nConnection: close\r\n"
i = 0
while len(head) + 720 < 60000:  # ~700-byte fields with long names, fewer than 100 of them
    head += b"X-Fill-%d-" % i + b"n" * 690 + b": v\r\n"
    i += 1
head += b"\r\n"
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", $OURS))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if mode == "one":
        s.sendall(head)
    else:
        for k in range(len(head)):
            s.send(head[k:k + 1])
            if mode == "paced":
                time.sleep(0.00002)
    reply = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        reply += d
    # nginx answers 400 to a 60 KB head (its header buffers are 4 x 8 KB by default): the data
    # plane's work up to the answer is the same as for a 200.
    assert reply.startswith(b"HTTP/1.1 200") or reply.startswith(b"HTTP/1.1 400"), reply[:100]
    s.close()
PY
measure() {  # MODE COUNT -> CPU ms per request in MS
  local before after
  before=$(cpu_ticks $OURS_PID)
  taskset -c 1 /usr/bin/python3 "$TMP/send.py" "$1" "$2"
  after=$(cpu_ticks $OURS_PID)
  MS=$(awk -v t=$((after - before)) -v n="$2" -v hz="$TICK" 'BEGIN {printf "%.3f", t / hz * 1000 / n}')
}
measure one 20  # warm-up
measure one "$N"; ONE=$MS
measure unpaced 3; UNPACED=$MS
measure paced 2; PACED=$MS
echo "| 60 KB head | data plane CPU ms/request | × one write |"
echo "|---|---|---|"
echo "| one write ($N requests) | $ONE | 1 |"
echo "| 1 byte per segment, unpaced (3) | $UNPACED | $(awk -v a=$UNPACED -v b=$ONE 'BEGIN {printf "%.0f", a / b}') |"
echo "| 1 byte per segment, paced 20 µs (2) | $PACED | $(awk -v a=$PACED -v b=$ONE 'BEGIN {printf "%.0f", a / b}') |"
