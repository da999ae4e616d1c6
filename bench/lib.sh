# Shared set-up of the bench/*.sh scripts (sourced): an --config=opt build, a temp dir and the
# processes started (both cleaned up on exit), free loopback ports, readiness, CPU accounting,
# and the plain nginx backend every proxy benchmark forwards to.
#
#   source bench/lib.sh; bench_init NAME      → BIN, TMP, PIDS, TICK
bench_init() {
  bazel build --config=opt //dataplane:dataplane //controlplane:controlplane //cli:edgerouterctl >/dev/null 2>&1
  BIN=$(bazel info --config=opt bazel-bin 2>/dev/null)
  TMP=$(mktemp -d "/tmp/er-$1-bench.XXXXXX")
  PIDS=()
  TICK=$(getconf CLK_TCK)
  trap bench_cleanup EXIT
}

bench_cleanup() {
  # A process started in its own session (start_s3rver) is signalled with its whole group.
  for p in "${PIDS[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Polls a TCP connect (these peers have no readiness signal); 20 s at most.
wait_port() {
  for _ in $(seq 1 400); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done
  echo "port $1 not up" >&2
  return 1
}

# wait_ready ADMIN_PORT [TRIES]: until a data plane's /ready answers 200 (it has a snapshot),
# polled every 50 ms, TRIES times (default 100); a bench then measures whatever it serves.
wait_ready() {
  for _ in $(seq 1 "${2:-100}"); do
    curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/ready" | grep -q 200 && return 0
    sleep 0.05
  done
  return 0
}

# Over tab-separated rows "round<TAB>name<TAB>…" in FILE, for one NAME's rows:
#   median FILE COLUMN NAME   the median of a numeric column
#   spread FILE COLUMN NAME   "min–max" of it
#   errors_of FILE COLUMN NAME  "none", or the non-"none" values joined
median() { awk -F'\t' -v c="$2" -v who="$3" '$2 == who {print $c}' "$1" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
spread() { awk -F'\t' -v c="$2" -v who="$3" '$2 == who {print $c}' "$1" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "–" hi}'; }
errors_of() { awk -F'\t' -v c="$2" -v who="$3" '$2 == who && $c != "none" {e = e $c " "} END {print e == "" ? "none" : e}' "$1"; }

# wrk's latency ("850.00us", "1.42ms", "1.20s") in milliseconds.
to_ms() { awk -v v="$1" 'BEGIN {n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/) n *= 1000; print n}'; }

# utime+stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
user_ticks() { awk '{print $14}' "/proc/$1/stat"; }  # utime alone

# nginx answering "hello world\n" (12 bytes) on 127.0.0.1:$1, config under $TMP/nginx-backend.
write_backend_conf() {
  mkdir -p "$TMP/nginx-backend"
  cat >"$TMP/nginx-backend/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log stderr error; pid $TMP/nginx-backend/pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$1; location / { return 200 "hello world\n"; } } }
CONF
}

# wrk_measure PID URL HOST CONNECTIONS: a 2 s warm-up, then DURATION seconds of keep-alive load
# from core 1 (wrk output in $TMP/run.wrk). Sets RPS, P50, P99, ERRORS ("" when none), US
# (CPU µs per request of process PID) and its parts US_USER and US_SYS. $WRK_HEADER, when set, is one more request field.
wrk_measure() {
  local pid=$1 url=$2 host=$3 conns=$4
  local extra=(-H "Host: $host")
  if [ -n "${WRK_HEADER:-}" ]; then extra+=(-H "$WRK_HEADER"); fi
  taskset -c 1 wrk -t1 -c"$conns" -d2s "${extra[@]}" "$url" >/dev/null
  local before user0; before=$(cpu_ticks "$pid"); user0=$(user_ticks "$pid")
  taskset -c 1 wrk -t1 -c"$conns" -d"${DURATION}s" --latency "${extra[@]}" "$url" >"$TMP/run.wrk"
  local after user1; after=$(cpu_ticks "$pid"); user1=$(user_ticks "$pid")
  local requests; requests=$(awk '/requests in/ {print $1}' "$TMP/run.wrk")
  RPS=$(awk '/Requests\/sec/ {print $2}' "$TMP/run.wrk")
  P50=$(awk '$1=="50%" {print $2}' "$TMP/run.wrk")
  P99=$(awk '$1=="99%" {print $2}' "$TMP/run.wrk")
  ERRORS=$(awk '/Non-2xx|Socket errors/ {print}' "$TMP/run.wrk" | tr '\n' ' ')
  US=$(awk -v t=$((after - before)) -v r="$requests" -v hz="$TICK" 'BEGIN {printf "%.1f", t / hz * 1e6 / r}')
  US_USER=$(awk -v t=$((user1 - user0)) -v r="$requests" -v hz="$TICK" 'BEGIN {printf "%.1f", t / hz * 1e6 / r}')
  US_SYS=$(awk -v a="$US" -v u="$US_USER" 'BEGIN {printf "%.1f", a - u}')
}

# fixed_measure PID PORT HOST RATE [TIMELINE_FILE]: open-loop load at RATE req/s
# (bench/fixed_rate_load, core 1, 64 keep-alive connections, 2 s warm-up) so every proxy is
# offered the same work; sets FIXED (its one-line result) and US (CPU µs per request of PID over
# the measured part). TIMELINE_FILE gets each request's due time and latency.
fixed_measure() {
  local pid=$1 port=$2 host=$3 rate=$4 timeline=${5:-}
  local before; before=$(cpu_ticks "$pid")
  FIXED=$(taskset -c 1 "$BIN/bench/fixed_rate_load" --target="127.0.0.1:$port" --host="$host" --rate="$rate" \
    --connections=64 --duration_s="$DURATION" --warmup_s=2 --timeline="$timeline")
  local after; after=$(cpu_ticks "$pid")
  local sent; sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$FIXED")
  # The CPU window includes the warm-up's requests: count them at the offered rate.
  US=$(awk -v t=$((after - before)) -v r="$sent" -v w=$((2 * rate)) -v hz="$TICK" \
    'BEGIN {printf "%.1f", t / hz * 1e6 / (r + w)}')
}
fixed_field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$FIXED"; }

# A self-signed ECDSA P-256 certificate for bench.local: $TMP/cert.pem, key.pem, bundle.pem.
make_bench_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$TMP/key.pem" \
    -out "$TMP/cert.pem" -days 2 -subj /CN=bench.local -addext subjectAltName=DNS:bench.local 2>/dev/null
  cat "$TMP/cert.pem" "$TMP/key.pem" >"$TMP/bundle.pem"
}

# start_backend_and_controlplane [FRONTEND_EXTRA_JSON]: the nginx backend on $BACKEND (core 1)
# and a control plane on $CP_GRPC/$CP_HTTP serving one app, bench.local -> the backend
# (FRONTEND_EXTRA_JSON e.g. ',"allow_insecure_http":true'); returns once both listen.
start_backend_and_controlplane() {
  write_backend_conf "$BACKEND"
  cat >"$TMP/apps.json" <<CONF
{"apps":[{"id":"bench","frontends":[{"kind":"hostname","hostname":"bench.local","path_prefix":"/"${1:-}}],
 "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://127.0.0.1:$BACKEND"],"pass_host_header":true}}}]}
CONF
  taskset -c 1 nginx -c "$TMP/nginx-backend/nginx.conf" -p "$TMP/nginx-backend" & PIDS+=($!)
  "$BIN/controlplane/controlplane" --grpc_listen=127.0.0.1:$CP_GRPC --http_listen=127.0.0.1:$CP_HTTP \
    --data_dir="$TMP/cp" --apps_file="$TMP/apps.json" 2>"$TMP/cp.log" & PIDS+=($!)
  wait_port "$BACKEND"; wait_port "$CP_GRPC"
}

# start_s3rver PORT BUCKET: the S3 emulator of testenv/aws on 127.0.0.1:PORT (core 1) with BUCKET,
# data under $TMP/s3, in its own session (node forks; cleanup signals the group); returns once
# it listens.
start_s3rver() {
  NODE_DIR=${NODE_DIR:-$(testenv/aws/install.sh)}
  setsid env NODE_PATH="$NODE_DIR/node_modules" taskset -c 1 node -e \
    "require('@20minutes/s3rver/lib/cli').parseAsync(process.argv.slice(1),{from:'user'})" -- \
    -d "$TMP/s3" -a 127.0.0.1 -p "$1" --silent --no-vhost-buckets --configure-bucket "$2" >"$TMP/s3.log" 2>&1 & PIDS+=($!)
  wait_port "$1"
}
