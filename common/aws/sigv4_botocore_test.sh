#!/bin/sh
# Runs botocore_compare.py with Debian's python (the only one with botocore) in a clean AWS
# environment, so no local config or instance metadata can change what botocore does.
set -eu
exec env -i PATH=/usr/bin:/bin HOME="${TEST_TMPDIR:-/tmp}" LANG=C.UTF-8 \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
  /usr/bin/python3 common/aws/botocore_compare.py "$1"
