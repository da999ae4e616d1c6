#!/bin/bash
# Long fuzzing runs: every target (or the ones named) for SECONDS each, keeping the corpora in
# ~/.cache/edgerouter-fuzz-corpus so runs accumulate. Each target run is appended to the
# corpus folder's ledger.tsv; the cumulative executions per target are printed at the end.
# Figures go to docs/reliability.md.
#   bench/fuzz.sh [SECONDS] [TARGET...]
cd "$(dirname "$0")/.."
export FUZZ_CORPUS=${FUZZ_CORPUS:-$HOME/.cache/edgerouter-fuzz-corpus}
mkdir -p "$FUZZ_CORPUS"
./scripts/fuzz.sh "${1:-600}" "${@:2}"
rc=$?
echo
bench/fuzz_ledger.sh "$FUZZ_CORPUS/ledger.tsv"
exit $rc
