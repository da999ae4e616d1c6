#!/bin/bash
# Builds and runs the product on its embedded defaults: a control plane (gRPC 127.0.0.1:18000,
# metrics 127.0.0.1:18001, event log ./edgerouter-data) serving the demo apps, and a data plane
# (HTTP :80, admin 127.0.0.1:9901, last-good snapshot in ./edgerouter-dp-state). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
bazel build //controlplane:controlplane //controlplane:edgerouterctl //dataplane:dataplane
bazel shutdown
./.build/bin/controlplane/controlplane --apps_file=testdata/apps/demo-applications.json &
CP=$!
./.build/bin/dataplane/dataplane &
DP=$!
trap 'kill $CP $DP 2>/dev/null || true; wait $CP $DP 2>/dev/null || true' EXIT INT TERM
cat >&2 <<'HINT'
try:  curl -si -H 'Host: hello.localhost' http://127.0.0.1/          (302 from the redirect app)
      curl -s -u x:demo -H 'Host: admin.localhost' http://127.0.0.1/  (admin page, auth_v0)
      .build/bin/controlplane/edgerouterctl app ls
      .build/bin/controlplane/edgerouterctl nodes
      curl -s 127.0.0.1:9901/metrics
HINT
wait -n $CP $DP
