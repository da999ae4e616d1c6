#!/bin/bash
# Builds the product, then runs the demo (scripts/demo.sh): a static origin, a control plane
# (gRPC 127.0.0.1:18000, HTTP 127.0.0.1:18001 with the dashboard, event log ./edgerouter-data)
# and a data plane (HTTP :80, HTTPS :443 with a dev certificate made on first run, admin
# 127.0.0.1:9901, last-good snapshot in ./edgerouter-dp-state) proxying web.localhost to the
# origin. The three are independent processes; Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
bazel build //controlplane:controlplane //cli:edgerouterctl //dataplane:dataplane
bazel shutdown
exec ./scripts/demo.sh
