#!/bin/bash
# The demo as a user runs it (scripts/demo.sh, which ./scripts/run.sh runs after building):
# traffic reaches the real origin through the data plane, the dashboard URL is printed, the
# control plane can be stopped while the data plane keeps serving, and SIGTERM stops the rest.
set -u
R="$TEST_SRCDIR/$TEST_WORKSPACE"
source "$R/scripts/test/lib.sh"
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/demo.XXXXXX")
bin="$tmp/bin"
mkdir -p "$bin/controlplane" "$bin/dataplane" "$bin/cli"
ln -s "$R/controlplane/controlplane" "$bin/controlplane/controlplane"
ln -s "$R/dataplane/dataplane" "$bin/dataplane/dataplane"
ln -s "$R/cli/edgerouterctl" "$bin/cli/edgerouterctl"
export BIN=$bin DEMO_STATE=$tmp DOCKER_URL=off
read -r CP_GRPC_PORT CP_HTTP_PORT DP_HTTP_PORT DP_HTTPS_PORT DP_ADMIN_PORT ORIGIN_PORT < <(free_ports 6)
export CP_GRPC_PORT CP_HTTP_PORT DP_HTTP_PORT DP_HTTPS_PORT DP_ADMIN_PORT ORIGIN_PORT

"$R/scripts/demo.sh" >"$tmp/out" 2>"$tmp/err" &
demo=$!
cleanup() {
  kill -TERM "$demo" 2>/dev/null; wait "$demo" 2>/dev/null
  for p in ${cp:-} ${dp:-} ${origin:-}; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

ready() { grep -q '^demo: ready$' "$tmp/out"; }
check "demo starts and says ready" poll 60 ready
if ! ready; then cat "$tmp/out" "$tmp/err" "$tmp"/edgerouter-demo/*.log; exit 1; fi
cat "$tmp/out"
pid_of() { sed -n "s/^demo: $1 .*(pid \([0-9]*\).*/\1/p" "$tmp/out"; }
cp=$(pid_of "control plane") dp=$(pid_of "data plane") origin=$(pid_of origin)
check "prints the three pids" test -n "$cp" -a -n "$dp" -a -n "$origin"
check "prints the dashboard URL (the control plane's HTTP listener)" \
  grep -qx "demo: dashboard      http://127.0.0.1:$CP_HTTP_PORT/dashboard/" "$tmp/out"
check "the dashboard URL answers" curl -fso /dev/null "http://127.0.0.1:$CP_HTTP_PORT/dashboard/"
check "shows one proxied request" grep -q '^demo: proxied .* 200 "Hello from the demo origin"$' "$tmp/out"

web() { curl -s -H 'Host: web.localhost' "http://127.0.0.1:$DP_HTTP_PORT/"; }
origin_page=$(curl -s "http://127.0.0.1:$ORIGIN_PORT/")
check "the origin serves the demo site" grep -q 'Hello from the demo origin' <<<"$origin_page"
check "web.localhost through the data plane is the origin's page" test "$(web)" == "$origin_page"
check "hello.localhost redirects" \
  test "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: hello.localhost' "http://127.0.0.1:$DP_HTTP_PORT/")" == 302
check "the data plane counted the request" \
  poll 10 bash -c "curl -s http://127.0.0.1:$DP_ADMIN_PORT/metrics | grep -q '^er_dp_connections_accepted_total [1-9]'"
check "edgerouterctl sees the apps" \
  bash -c "'$bin/cli/edgerouterctl' --controlplane=127.0.0.1:$CP_GRPC_PORT app ls | grep -q '^web '"

# Stop the control plane: the data plane is its own process and keeps serving.
kill -TERM "$cp"
check "the control plane exits" poll 15 dead "$cp"
check "the demo reports it" poll 10 grep -q '^demo: control plane exited' "$tmp/out"
check "the data plane still runs" alive "$dp"
check "and still proxies to the origin" test "$(web)" == "$origin_page"
check "the demo script still runs" alive "$demo"

kill -TERM "$demo"
check "SIGTERM ends the demo" poll 20 dead "$demo"
check "and the data plane" poll 5 dead "$dp"
check "and the origin" poll 5 dead "$origin"
[[ $fails -eq 0 ]] || { cat "$tmp/err"; tail -20 "$tmp"/edgerouter-demo/*.log; }
exit $fails
