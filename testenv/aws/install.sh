#!/bin/bash
# Installs the pinned AWS emulators (S3 and Lambda; package-lock.json here) once per machine and
# prints their folder (see ../npm_install.sh).
here=$(dirname "$(readlink -f "$0")")
exec "$here/../npm_install.sh" "$here" aws
