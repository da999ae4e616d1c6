#!/bin/bash
# Installs every Debian package the build, the tests and the demo need. Idempotent: when all
# are present it does nothing (no apt-get update), so it is cheap to call from every script.
set -euo pipefail

PACKAGES=(
  # build
  bazel-bootstrap bazel-rules-java g++ pkg-config protobuf-compiler protobuf-compiler-grpc
  libprotobuf-dev libgrpc++-dev libabsl-dev libre2-dev nlohmann-json3-dev libnghttp2-dev liburing-dev
  libcurl4-openssl-dev libssl-dev libgtest-dev libgmock-dev libarchive-dev libbrotli-dev libzstd-dev
  # tests, benchmarks and tools
  iproute2 util-linux curl ca-certificates openssl procps wrk nginx-light haproxy python3-websockets python3-botocore docker.io busybox-static
  openssh-client python3-cryptography nghttp2-client python3-h2 pebble etcd-server etcd-client
  python3-brotli zstd
  # packaging and monitoring checks: systemd-analyze, dpkg-shlibdeps, promtool
  systemd dpkg-dev prometheus
  # the control plane's HTTP engine; a real browser for the dashboard tests
  libmicrohttpd-dev chromium
  # fuzzing (libFuzzer, sanitizers)
  clang-14 libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -ne 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
  # We want only promtool from the prometheus package: a server that we just installed (and
  # that systemd started) is stopped and disabled again.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [[ -d /run/systemd/system ]]; then
    systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
  fi
fi

# The AWS emulators (pinned in testenv/aws/package-lock.json; Node 20 is the machine's
# nodejs package). A no-op once installed; the tests' harness runs the same script.
if command -v npm >/dev/null; then
  # Not fatal: the tests' harness runs it again and reports the npm error where it matters.
  "$(dirname "$0")/../testenv/aws/install.sh" >/dev/null ||
    echo "setup: could not install the AWS emulators (npm); the S3/Lambda tests will fail" >&2
  "$(dirname "$0")/../testenv/dynamodb/install.sh" >/dev/null ||
    echo "setup: could not install dynalite (npm); the EventHorizon tests will fail" >&2
else
  echo "setup: npm not found: the S3/Lambda emulator tests will fail" >&2
fi
