#!/bin/bash
# Control-plane replicas on a 3-member etcd: one-app change → every node received, at 10,000
# apps with 100 nodes and with 1,000 light nodes spread over 3 replicas; then the failover
# distribution on etcd. Results go to docs/benchmarks.md.
#   bench/cluster_bench.sh [APPS] [CHANGES]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
APPS=${1:-10000}
CHANGES=${2:-60}
bazel build --config=opt //bench:controlplane_bench //bench:failover_bench //controlplane:controlplane >/dev/null 2>&1
BIN=$(bazel info --config=opt bazel-bin 2>/dev/null)
TMP=$(mktemp -d /tmp/er-cluster-bench.XXXXXX)
PIDS=()
trap bench_cleanup EXIT

# Three etcd members on loopback, fast elections as in the tests.
cluster=""; endpoints=""; ports=()
for i in 1 2 3; do
  c=$(free_port); p=$(free_port); ports+=("$c:$p")
  cluster+="${cluster:+,}m$i=http://127.0.0.1:$p"; endpoints+="${endpoints:+,}127.0.0.1:$c"
done
for i in 1 2 3; do
  c=${ports[$((i-1))]%%:*}; p=${ports[$((i-1))]##*:}
  etcd --name "m$i" --data-dir "$TMP/etcd$i" --listen-client-urls "http://127.0.0.1:$c" \
    --advertise-client-urls "http://127.0.0.1:$c" --listen-peer-urls "http://127.0.0.1:$p" \
    --initial-advertise-peer-urls "http://127.0.0.1:$p" --initial-cluster "$cluster" \
    --initial-cluster-state new --heartbeat-interval 50 --election-timeout 250 >"$TMP/etcd$i.log" 2>&1 &
  PIDS+=($!)
done
for _ in $(seq 1 100); do ETCDCTL_API=3 etcdctl --endpoints "$endpoints" endpoint health >/dev/null 2>&1 && break; sleep 0.1; done

flags="--event_log=etcd --etcd_endpoints=$endpoints"
for nodes in ${NODES:-100 1000}; do
  echo "### $APPS apps, $nodes nodes, 3 replicas on etcd"
  "$BIN/bench/controlplane_bench" --controlplane_binary="$BIN/controlplane/controlplane" --apps="$APPS" \
    --nodes="$nodes" --changes="$CHANGES" --replicas=3 \
    --controlplane_flags="$flags --etcd_prefix=/bench-$nodes" 2>/dev/null
  echo
done
echo "### failover on etcd"
"$BIN/bench/failover_bench" --controlplane_binary="$BIN/controlplane/controlplane" --replicas=3 --rounds=30 \
  --controlplane_flags="$flags --etcd_prefix=/bench-failover" 2>/dev/null
