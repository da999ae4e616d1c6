#!/bin/sh
# Runs certbus_interop.py with Debian's python (the one with python3-cryptography), in a clean
# environment so no user site-packages can stand in for it.
set -eu
exec env -i PATH=/usr/bin:/bin HOME="${TEST_TMPDIR:-/tmp}" LANG=C.UTF-8 \
  TMPDIR="${TEST_TMPDIR:-/tmp}" /usr/bin/python3 common/certbus/certbus_interop.py "$1"
