#!/bin/bash
# The demo, from built binaries (./scripts/run.sh builds them, then runs this): a static origin,
# a control plane and a data plane as three independent processes. The data plane proxies
# web.localhost to the origin; stopping the control plane leaves it serving its last snapshot.
# Ctrl-C (or SIGTERM to this script) stops all three.
#
# Environment, with defaults:
#   BIN=.build/bin            holds controlplane/controlplane, dataplane/dataplane, cli/edgerouterctl
#   DEMO_STATE=.              under it: edgerouter-data/ (event log), edgerouter-dp-state/ (last
#                             snapshot, dev certificate), edgerouter-demo/ (apps file, logs)
#   CP_GRPC_PORT=18000 CP_HTTP_PORT=18001 DP_HTTP_PORT=80 DP_HTTPS_PORT=443 DP_ADMIN_PORT=9901
#   ORIGIN_PORT=18080         the origin (busybox httpd) serving testdata/demo/site
#   DOCKER_URL                as the control plane's --docker_url=auto reads it ("off" disables)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/.build/bin}
STATE=${DEMO_STATE:-.}
CP_GRPC_PORT=${CP_GRPC_PORT:-18000} CP_HTTP_PORT=${CP_HTTP_PORT:-18001}
DP_HTTP_PORT=${DP_HTTP_PORT:-80} DP_HTTPS_PORT=${DP_HTTPS_PORT:-443} DP_ADMIN_PORT=${DP_ADMIN_PORT:-9901}
ORIGIN_PORT=${ORIGIN_PORT:-18080}
# Loopback only: no proxy may sit between curl and the local processes.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

DEMO=$STATE/edgerouter-demo
DP_STATE=$STATE/edgerouter-dp-state
mkdir -p "$DEMO" "$DP_STATE"
say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

pids=()
stop_all() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Polls `curl ARGS` until it succeeds (at most 20 s): each process is awaited on what it serves.
await() {
  local what=$1; shift
  local deadline=$((SECONDS + 20))
  until curl -fso /dev/null --max-time 2 "$@"; do
    ((SECONDS < deadline)) || die "$what did not come up (logs in $DEMO)"
    sleep 0.1
  done
}

# edgerouter's dev mode: one certificate (chain + key in one file) for every name.
DEV_CERT=$DP_STATE/dev-cert.pem
if [[ ! -s $DEV_CERT ]]; then
  tmp=$(mktemp -d)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
    -subj /CN=localhost \
    -addext 'subjectAltName=DNS:localhost,DNS:web.localhost,DNS:hello.localhost,DNS:admin.localhost' \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null || die "openssl could not make $DEV_CERT"
  (umask 077; cat "$tmp/cert.pem" "$tmp/key.pem" >"$DEV_CERT")
  rm -rf "$tmp"
  say "made the dev certificate $DEV_CERT"
fi

# The apps, with the origin's port.
sed "s/127\.0\.0\.1:18080/127.0.0.1:$ORIGIN_PORT/" "$ROOT/testdata/apps/demo-applications.json" \
  >"$DEMO/applications.json"

busybox httpd -f -p "127.0.0.1:$ORIGIN_PORT" -h "$ROOT/testdata/demo/site" 2>"$DEMO/origin.log" &
ORIGIN=$!
pids+=("$ORIGIN")
await origin "http://127.0.0.1:$ORIGIN_PORT/"

# --docker_url=auto reads $DOCKER_URL, which must then be a URL; "off" is the flag's own word.
docker_flag=auto
[[ ${DOCKER_URL:-} == off ]] && docker_flag=off
"$BIN/controlplane/controlplane" --grpc_listen="127.0.0.1:$CP_GRPC_PORT" \
  --http_listen="127.0.0.1:$CP_HTTP_PORT" --data_dir="$STATE/edgerouter-data" \
  --apps_file="$DEMO/applications.json" --docker_url="$docker_flag" 2>"$DEMO/controlplane.log" &
CP=$!
pids+=("$CP")
await "control plane" "http://127.0.0.1:$CP_HTTP_PORT/healthz"

"$BIN/dataplane/dataplane" --controlplane="127.0.0.1:$CP_GRPC_PORT" --dev_cert="$DEV_CERT" \
  --http_listen=":$DP_HTTP_PORT" --https_listen=":$DP_HTTPS_PORT" \
  --admin_listen="127.0.0.1:$DP_ADMIN_PORT" --state_dir="$DP_STATE" --workers=2 \
  2>"$DEMO/dataplane.log" &
DP=$!
pids+=("$DP")
await "data plane" "http://127.0.0.1:$DP_ADMIN_PORT/ready"
await "the web app" -H 'Host: web.localhost' "http://127.0.0.1:$DP_HTTP_PORT/"

say "origin         http://127.0.0.1:$ORIGIN_PORT/ (pid $ORIGIN, testdata/demo/site)"
say "control plane  gRPC 127.0.0.1:$CP_GRPC_PORT (pid $CP, log $DEMO/controlplane.log)"
say "data plane     HTTP :$DP_HTTP_PORT, HTTPS :$DP_HTTPS_PORT, admin 127.0.0.1:$DP_ADMIN_PORT (pid $DP, log $DEMO/dataplane.log)"
say "dashboard      http://127.0.0.1:$CP_HTTP_PORT/dashboard/"
# One real request through the data plane, shown as a person would see it.
status=$(curl -s -o "$DEMO/web.html" -w '%{http_code}' -H 'Host: web.localhost' "http://127.0.0.1:$DP_HTTP_PORT/")
say "proxied        GET http://web.localhost/ -> $status \"$(sed -n 's:.*<h1>\(.*\)</h1>.*:\1:p' "$DEMO/web.html")\""
docker_url=${DOCKER_URL:-}
if [[ -z $docker_url && -S /var/run/docker.sock ]]; then docker_url=unix:///var/run/docker.sock; fi
if [[ -n $docker_url && $docker_url != off ]]; then
  say "docker         discovery on ($docker_url): containers with edgerouter.* or traefik.* labels appear in 'edgerouterctl app ls'"
else
  say "docker         no engine found: discovery off (start dockerd, or set DOCKER_URL, and run again)"
fi
say "ready"
cat <<HINT
try:  curl -s -H 'Host: web.localhost' http://127.0.0.1:$DP_HTTP_PORT/       (proxied to the origin)
      curl -si -H 'Host: hello.localhost' http://127.0.0.1:$DP_HTTP_PORT/      (302 from the redirect app)
      curl -sk --resolve web.localhost:$DP_HTTPS_PORT:127.0.0.1 https://web.localhost:$DP_HTTPS_PORT/   (HTTPS, dev cert)
      curl -s -u x:demo -H 'Host: admin.localhost' http://127.0.0.1:$DP_HTTP_PORT/  (admin page, auth_v0)
      $BIN/cli/edgerouterctl --controlplane=127.0.0.1:$CP_GRPC_PORT app ls     (or: nodes, app import FILE)
      curl -s 127.0.0.1:$DP_ADMIN_PORT/metrics
      kill $CP     (stop the control plane: the data plane keeps serving its last snapshot)
HINT

# Until the data plane ends (or Ctrl-C): the control plane may come and go on its own.
live=("$DP" "$CP" "$ORIGIN")
while ((${#live[@]})); do
  done_pid=""
  wait -n -p done_pid "${live[@]}"
  rc=$?
  [[ -n $done_pid ]] || break
  case $done_pid in
    "$CP") say "control plane exited ($rc); the data plane keeps serving its last snapshot" ;;
    "$ORIGIN") say "origin exited ($rc)" ;;
    "$DP") say "data plane exited ($rc)"; break ;;
  esac
  next=()
  for pid in "${live[@]}"; do [[ $pid == "$done_pid" ]] || next+=("$pid"); done
  live=("${next[@]}")
done
