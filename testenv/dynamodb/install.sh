#!/bin/bash
# Installs the pinned DynamoDB emulator, dynalite (package-lock.json here), once per machine and
# prints its folder (see ../npm_install.sh).
here=$(dirname "$(readlink -f "$0")")
exec "$here/../npm_install.sh" "$here" dynamodb
