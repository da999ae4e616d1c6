#!/bin/bash
# Builds and runs the product on its embedded defaults: a control plane on 127.0.0.1:18000
# (gRPC: discovery, admin, reflection) and 127.0.0.1:18001 (/metrics, /healthz), event log in
# ./edgerouter-data, serving the sample apps. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
bazel build //controlplane:controlplane //controlplane:edgerouterctl
bazel shutdown
echo "try: .build/bin/controlplane/edgerouterctl app ls" >&2
exec ./.build/bin/controlplane/controlplane --apps_file=testdata/apps/sample-applications.json
