#!/bin/bash
# Builds and runs the product on its embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
bazel build //controlplane:edgerouterctl
exec ./.build/bin/controlplane/edgerouterctl app validate testdata/apps/sample-applications.json
