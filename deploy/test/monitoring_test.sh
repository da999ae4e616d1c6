#!/bin/bash
# Prometheus conventions, checked on what the binaries really export: a control plane and a data
# plane run (with traffic through an app), both /metrics pass `promtool check metrics` (HELP on
# every family, counters end in _total, base units in names), deploy/prometheus/alerts.yml passes
# `promtool check rules`, the Grafana dashboard is valid JSON, and every metric that the alerts and
# the dashboard query is one the binaries export.
set -u
R="$TEST_SRCDIR/$TEST_WORKSPACE"
source "$R/scripts/test/lib.sh"
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/mon.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
read -r grpc http dp_http dp_admin origin < <(free_ports 5)
mkdir -p "$tmp/site" && echo hi >"$tmp/site/index.html"
busybox httpd -f -p 127.0.0.1:$origin -h "$tmp/site" &
pids+=($!)
cat >"$tmp/apps.json" <<JSON
{"apps": [{"id": "web", "frontends": [{"kind": "hostname", "hostname": "web.example.com",
  "path_prefix": "/", "allow_insecure_http": true}],
  "backend": {"kind": "reverse_proxy", "reverse_proxy_opts": {"origins": ["http://127.0.0.1:$origin"]}}}]}
JSON
"$R/controlplane/controlplane" --apps_file="$tmp/apps.json" --grpc_listen=127.0.0.1:$grpc \
  --http_listen=127.0.0.1:$http --data_dir="$tmp/cp" --docker_url=off 2>"$tmp/cp.log" &
pids+=($!)
# TURBOCHARGER_STORE: the turbocharger families are exported (and linted) too; no store call is made.
TURBOCHARGER_STORE=s3://us-east-1/mon "$R/dataplane/dataplane" --controlplane=127.0.0.1:$grpc --http_listen=127.0.0.1:$dp_http \
  --https_listen= --admin_listen=127.0.0.1:$dp_admin --state_dir="$tmp/dp" --workers=1 \
  --turbocharger_cache_dir="$tmp/tc" 2>"$tmp/dp.log" &
pids+=($!)
web() { [[ $(curl -s -H 'Host: web.example.com' http://127.0.0.1:$dp_http/) == hi ]]; }
check "traffic through the data plane" poll 20 web
curl -s -o /dev/null -H 'Host: nowhere' http://127.0.0.1:$dp_http/   # a 404 too
# The ACK (and its convergence sample) may trail the first request by a moment.
acked() { curl -s http://127.0.0.1:$http/metrics | grep -q '^er_cp_acks_total [1-9]'; }
check "the control plane counted the ACK" poll 10 acked
curl -s http://127.0.0.1:$http/metrics >"$tmp/cp.prom"
curl -s http://127.0.0.1:$dp_admin/metrics >"$tmp/dp.prom"

lint() {  # lint FILE: promtool's findings, minus the documented exception
  # er_requests_ok / er_requests_fail keep edgerouter's names (its dashboards work unchanged).
  promtool check metrics <"$1" 2>&1 | grep -vE '^er_requests_(ok|fail) counter metrics should have "_total" suffix$'
}
for f in cp dp; do
  check "$f /metrics is not empty" grep -q '^# TYPE ' "$tmp/$f.prom"
  findings=$(lint "$tmp/$f.prom")
  check "$f /metrics passes promtool check metrics" test -z "$findings"
  [[ -z $findings ]] || echo "$findings" | sed 's/^/     /'
  no_help=$(awk '/^# HELP / && NF < 4 {print $3}' "$tmp/$f.prom")
  check "$f: every family has HELP text" test -z "$no_help"
  [[ -z $no_help ]] || echo "     no help: $no_help"
done

check "dp exports the turbocharger families" grep -q '^# TYPE er_dp_turbocharger_disk_cache_prunes_total counter' "$tmp/dp.prom"

check "promtool check rules alerts.yml" promtool check rules "$R/deploy/prometheus/alerts.yml"
check "the Grafana dashboard is valid JSON with panels" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["panels"] and all(p["targets"] for p in d["panels"])' "$R/deploy/grafana/edgerouter.json"

# Families exported, with the series names histograms add.
exported=$(awk '/^# TYPE / {print $3; if ($4 == "histogram") {print $3 "_bucket"; print $3 "_sum"; print $3 "_count"}}' "$tmp"/*.prom | sort -u)
# Registered only in some modes, so absent here: --event_log=eventhorizon, Docker discovery on.
conditional="er_cp_event_log_stale er_cp_docker_stale"
used=$(cat "$R/deploy/prometheus/alerts.yml" <(/usr/bin/python3 -c '
import json, sys
for p in json.load(open(sys.argv[1]))["panels"]:
    for t in p["targets"]: print(t["expr"])' "$R/deploy/grafana/edgerouter.json") |
  grep -oE '\b(er|edgerouter)_[a-z0-9_]+' | sort -u)
check "alerts and dashboard query metrics" test -n "$used"
for m in $used; do
  if [[ " $conditional " == *" $m "* ]]; then
    echo "skip $m (registered only with the event log / Docker mode that reports it)"
  else
    check "$m is exported" grep -qx "$m" <<<"$exported"
  fi
done
[[ $fails -eq 0 ]] || tail -5 "$tmp/cp.log" "$tmp/dp.log"
exit $fails
