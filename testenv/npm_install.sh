#!/bin/bash
# Installs the npm packages pinned by DIR/package-lock.json once per machine into a cache folder
# keyed by NAME and the lock file's hash, and prints that folder. Quick when already installed;
# concurrent callers (parallel tests, setup.sh) serialise on a lock file. Used by every
# testenv/<name>/install.sh.
# Outside the source tree on purpose: node_modules can be large and may hold files named BUILD,
# which Bazel would otherwise try to read as packages.
#   npm_install.sh DIR NAME
set -euo pipefail
here=$1
key=$(sha256sum "$here/package-lock.json" | cut -c1-16)
dest="${EDGEROUTER_TESTENV_CACHE:-${HOME:-/root}/.cache/edgerouter-testenv}/$2-$key"
if [ -f "$dest/.installed" ]; then
  echo "$dest"
  exit 0
fi
mkdir -p "$dest"
exec 9>"$dest.lock"
flock 9
if [ ! -f "$dest/.installed" ]; then
  cp -L "$here/package.json" "$here/package-lock.json" "$dest/"
  (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error >&2)
  touch "$dest/.installed"
fi
echo "$dest"
