#!/bin/bash
# Builds the Debian packages (dpkg-deb, no debhelper):
#   edgerouter-controlplane  /usr/bin/edgerouter-controlplane, its systemd unit,
#                            /etc/default/edgerouter-controlplane, /etc/edgerouter/applications.json
#   edgerouter-dataplane     /usr/bin/edgerouter-dataplane, its systemd unit,
#                            /etc/default/edgerouter-dataplane
#   edgerouterctl            /usr/bin/edgerouterctl and its bash completion
# The version is the repository's VERSION file (the one the binaries print for --version);
# library dependencies come from dpkg-shlibdeps.
#
# usage: scripts/package.sh [--bin-dir DIR] [--out DIR]
#   --bin-dir DIR  take the binaries from DIR (controlplane/controlplane, dataplane/dataplane,
#                  cli/edgerouterctl, as under .build/bin) instead of building them (-c opt)
#   --out DIR      where the .deb files go (default: dist/)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN_DIR="" OUT=$ROOT/dist
while (($#)); do
  case $1 in
    --bin-dir) BIN_DIR=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--bin-dir DIR] [--out DIR]" >&2; exit 2 ;;
  esac
done
if [[ -z $BIN_DIR ]]; then
  cd "$ROOT"
  ./scripts/setup.sh
  bazel build --config=opt //controlplane:controlplane //dataplane:dataplane //cli:edgerouterctl
  BIN_DIR=$ROOT/.build/bin
fi
VERSION=$(tr -d ' \n' <"$ROOT/VERSION")
ARCH=$(dpkg --print-architecture)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The binary's library dependencies, as a Depends value.
shlib_depends() {
  mkdir -p "$work/shlibs/debian"
  printf 'Source: edgerouter\n\nPackage: edgerouter\nArchitecture: any\n' >"$work/shlibs/debian/control"
  (cd "$work/shlibs" && dpkg-shlibdeps -O "$1" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
}

# build_deb NAME DESCRIPTION BINARY INSTALLED_NAME [conffile...]; the tree is $work/NAME.
build_deb() {
  local name=$1 description=$2 binary=$3 installed=$4; shift 4
  local tree=$work/$name
  install -D -m 0755 "$binary" "$tree/usr/bin/$installed"
  strip --strip-debug "$tree/usr/bin/$installed"
  install -D -m 0644 "$ROOT/README.md" "$tree/usr/share/doc/$name/README.md"
  mkdir -p "$tree/DEBIAN"
  local depends
  depends=$(shlib_depends "$tree/usr/bin/$installed")
  [[ -n $depends ]] || { echo "package: no library dependencies found for $binary" >&2; exit 1; }
  cat >"$tree/DEBIAN/control" <<CONTROL
Package: $name
Version: $VERSION
Architecture: $ARCH
Maintainer: edgerouter maintainers <edgerouter@localhost>
Section: net
Priority: optional
Depends: $depends
Installed-Size: $(du -sk --exclude=DEBIAN "$tree" | cut -f1)
Homepage: https://github.com/function61/edgerouter
Description: $description
CONTROL
  if (($#)); then printf '%s\n' "$@" >"$tree/DEBIAN/conffiles"; fi
  dpkg-deb --root-owner-group --build "$tree" "$OUT/${name}_${VERSION}_${ARCH}.deb" >/dev/null
  echo "$OUT/${name}_${VERSION}_${ARCH}.deb"
}

t=$work/edgerouter-controlplane
install -D -m 0644 "$ROOT/deploy/systemd/edgerouter-controlplane.service" "$t/lib/systemd/system/edgerouter-controlplane.service"
install -D -m 0644 "$ROOT/deploy/default/edgerouter-controlplane" "$t/etc/default/edgerouter-controlplane"
install -D -m 0644 "$ROOT/deploy/default/applications.json" "$t/etc/edgerouter/applications.json"
build_deb edgerouter-controlplane "edge load balancer: control plane
 Builds versioned config snapshots from its event log, applications.json and Docker
 discovery, and pushes them to edgerouter data planes over gRPC." \
  "$BIN_DIR/controlplane/controlplane" edgerouter-controlplane \
  /etc/default/edgerouter-controlplane /etc/edgerouter/applications.json

t=$work/edgerouter-dataplane
install -D -m 0644 "$ROOT/deploy/systemd/edgerouter-dataplane.service" "$t/lib/systemd/system/edgerouter-dataplane.service"
install -D -m 0644 "$ROOT/deploy/default/edgerouter-dataplane" "$t/etc/default/edgerouter-dataplane"
build_deb edgerouter-dataplane "edge load balancer: data plane (the proxy)
 Serves HTTP/1.1, HTTP/2 and TLS for the apps of the snapshot its control plane pushes:
 reverse proxy, redirects, S3 static websites, AWS Lambda." \
  "$BIN_DIR/dataplane/dataplane" edgerouter-dataplane /etc/default/edgerouter-dataplane

t=$work/edgerouterctl
mkdir -p "$t/usr/share/bash-completion/completions"
"$BIN_DIR/cli/edgerouterctl" completion bash >"$t/usr/share/bash-completion/completions/edgerouterctl"
build_deb edgerouterctl "edge load balancer: operator CLI
 Talks to the edgerouter control plane's Admin API: apps, streams, snapshots, nodes,
 certificates, S3 and Lambda apps." \
  "$BIN_DIR/cli/edgerouterctl" edgerouterctl
