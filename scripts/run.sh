#!/bin/bash
# Builds and runs the product on its embedded defaults: a control plane (gRPC 127.0.0.1:18000,
# metrics 127.0.0.1:18001, event log ./edgerouter-data) serving the demo apps, and a data plane
# (HTTP :80, HTTPS :443 with a self-signed dev certificate made on first run in
# ./edgerouter-dp-state/dev-cert.pem, admin 127.0.0.1:9901, last-good snapshot in
# ./edgerouter-dp-state). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
bazel build //controlplane:controlplane //cli:edgerouterctl //dataplane:dataplane
bazel shutdown
./.build/bin/controlplane/controlplane --apps_file=testdata/apps/demo-applications.json &
CP=$!
DEV_CERT=./edgerouter-dp-state/dev-cert.pem
if [ ! -s "$DEV_CERT" ]; then
  # edgerouter's dev mode: one certificate (chain + key in one file) for every name.
  mkdir -p ./edgerouter-dp-state
  tmp=$(mktemp -d)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
    -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,DNS:hello.localhost,DNS:admin.localhost' \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
  (umask 077; cat "$tmp/cert.pem" "$tmp/key.pem" >"$DEV_CERT")
  rm -rf "$tmp"
  echo "run: made the dev certificate $DEV_CERT" >&2
fi
./.build/bin/dataplane/dataplane --dev_cert="$DEV_CERT" &
DP=$!
trap 'kill $CP $DP 2>/dev/null || true; wait $CP $DP 2>/dev/null || true' EXIT INT TERM
cat >&2 <<'HINT'
try:  curl -si -H 'Host: hello.localhost' http://127.0.0.1/          (302 from the redirect app)
      curl -ski --resolve hello.localhost:443:127.0.0.1 https://hello.localhost/   (the same over HTTPS, dev cert)
      curl -s -u x:demo -H 'Host: admin.localhost' http://127.0.0.1/  (admin page, auth_v0)
      .build/bin/cli/edgerouterctl app ls
      .build/bin/cli/edgerouterctl nodes
      curl -s 127.0.0.1:9901/metrics
HINT
wait -n $CP $DP
