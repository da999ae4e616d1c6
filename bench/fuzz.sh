#!/bin/bash
# Long fuzzing runs: every target (or the ones named) for SECONDS each, keeping the corpora in
# ~/.cache/edgerouter-fuzz-corpus so runs accumulate. Figures go to docs/reliability.md.
#   bench/fuzz.sh [SECONDS] [TARGET...]
cd "$(dirname "$0")/.."
export FUZZ_CORPUS=${FUZZ_CORPUS:-$HOME/.cache/edgerouter-fuzz-corpus}
exec ./scripts/fuzz.sh "${1:-600}" "${@:2}"
