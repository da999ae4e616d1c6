#!/bin/bash
# Cumulative fuzzing per target from the ledger scripts/fuzz.sh keeps when FUZZ_CORPUS is set
# (one line per target run: date, commit, target, seconds, executions, edges, corpus files, exit).
#   bench/fuzz_ledger.sh [LEDGER]   (default ~/.cache/edgerouter-fuzz-corpus/ledger.tsv)
ledger=${1:-${FUZZ_CORPUS:-$HOME/.cache/edgerouter-fuzz-corpus}/ledger.tsv}
[ -f "$ledger" ] || { echo "no ledger at $ledger" >&2; exit 1; }
awk -F'\t' '
  { runs[$3]++; secs[$3] += $4; execs[$3] += $5; edges[$3] = $6; corpus[$3] = $7; last[$3] = $1
    if ($8 != 0) fails[$3]++ }
  END {
    printf "%-24s %5s %8s %14s %7s %7s %6s  %s\n", "target", "runs", "hours", "executions", "edges", "corpus", "fails", "last run"
    for (t in runs)
      printf "%-24s %5d %8.2f %14d %7d %7d %6d  %s%s\n", t, runs[t], secs[t] / 3600, execs[t], edges[t],
             corpus[t], fails[t], last[t], (execs[t] >= 1e7 ? "" : "  (< 10^7)")
  }' "$ledger" | { read -r header; echo "$header"; sort; }
