#!/bin/bash
# Installs the pinned DynamoDB emulator, dynalite (package-lock.json), once per machine into a cache folder
# keyed by the lock file's hash, and prints that folder. Quick when already installed;
# concurrent callers (parallel tests, setup.sh) serialise on a lock file.
# Outside the source tree on purpose: node_modules may hold files named BUILD, which
# Bazel would otherwise try to read as packages.
set -euo pipefail
here=$(dirname "$0")
key=$(sha256sum "$here/package-lock.json" | cut -c1-16)
dest="${EDGEROUTER_TESTENV_CACHE:-${HOME:-/root}/.cache/edgerouter-testenv}/dynamodb-$key"
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
