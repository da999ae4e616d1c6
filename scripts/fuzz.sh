#!/bin/bash
# Builds every libFuzzer target (Bazel targets tagged `fuzz`, see bazel/fuzz.bzl) with clang in
# its own output base and runs each for a bounded time, starting from testdata/fuzz/<target>/.
# A `<target>.dict` next to the seeds is its dictionary; a `<target>.options` holds extra libFuzzer
# flags (whitespace-separated, `#` comments), e.g. -max_len=4096.
# Prints "PASS fuzz <target> …" or "FAIL fuzz <target> …" per target (a crash's reproducer is
# kept under $FUZZ_OUT and printed in hex) and exits non-zero on any failure.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# Environment: FUZZ_OUT (artifacts, default .build/fuzz), FUZZ_CORPUS (a folder that keeps the
# growing corpora between runs; default: a temp copy of the seeds, thrown away). With FUZZ_CORPUS
# set, every target run appends a line to $FUZZ_CORPUS/ledger.tsv (bench/fuzz_ledger.sh sums it).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
shift || true
base=${EDGEROUTER_FUZZ_BASE:-$HOME/.cache/edgerouter-fuzz-base}
out=${FUZZ_OUT:-.build/fuzz}
mkdir -p "$out"
bz() { bazel --output_base="$base" "$@"; }

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(bz query 'attr(tags, "\bfuzz\b", //...)' 2>/dev/null)
fi
if ! bz build --config=fuzz "${targets[@]}" >"$out/build.log" 2>&1; then
  echo "FAIL fuzz build; log follows"; tail -30 "$out/build.log"
  bz shutdown >/dev/null 2>&1
  exit 1
fi
bin=$(bz info --config=fuzz bazel-bin 2>/dev/null)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"

# ASan's default 256 MB quarantine makes every input's allocations land on cold, freshly
# faulted pages (half the time of the JSON targets went to page faults on this VM); 16 MB still
# holds far more than one input frees, so use-after-free within an input is still caught. The
# allocation stacks kept for reports are cut to 8 frames. A caller's ASAN_OPTIONS wins.
export ASAN_OPTIONS="quarantine_size_mb=16:malloc_context_size=8${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

failed=0
for target in "${targets[@]}"; do
  path=${target#//}; path=${path/://}
  name=${path##*/}
  corpus=${FUZZ_CORPUS:+$FUZZ_CORPUS/$name}
  if [ -z "$corpus" ]; then corpus=$(mktemp -d /tmp/er-fuzz-corpus.XXXXXX); fi
  mkdir -p "$corpus"
  [ -d "testdata/fuzz/$name" ] && cp -n testdata/fuzz/"$name"/* "$corpus"/ 2>/dev/null
  dict=()
  [ -f "testdata/fuzz/$name.dict" ] && dict=(-dict="testdata/fuzz/$name.dict")
  opts=()
  [ -f "testdata/fuzz/$name.options" ] &&
    mapfile -t opts < <(sed 's/#.*//' "testdata/fuzz/$name.options" | tr -s ' \t' '\n' | grep .)
  log="$out/$name.log"
  rm -f "$out/$name"-crash-* "$out/$name"-leak-* "$out/$name"-timeout-* "$out/$name"-oom-*
  "$bin/$path" "$corpus" "${dict[@]}" "${opts[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$out/$name-" >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  if [ -n "${FUZZ_CORPUS:-}" ]; then
    # date, commit, target, seconds, executions, edges, corpus files, exit status
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$commit" "$name" "$seconds" \
      "${runs:-0}" "${cov:-0}" "$(find "$corpus" -maxdepth 1 -type f | wc -l)" "$rc" >>"$FUZZ_CORPUS/ledger.tsv"
  fi
  if [ $rc -eq 0 ]; then
    echo "PASS fuzz $name (${runs:-?} runs in ${seconds}s, ${cov:-?} edges)"
  else
    failed=$((failed + 1))
    echo "FAIL fuzz $name (exit $rc); log: $log"
    grep -m1 -A12 -E 'ERROR: (libFuzzer|AddressSanitizer|UndefinedBehaviorSanitizer)|runtime error' "$log"
    for f in "$out/$name"-crash-* "$out/$name"-leak-* "$out/$name"-timeout-* "$out/$name"-oom-*; do
      [ -f "$f" ] && { echo "reproducer $f:"; xxd "$f" | head -20; }
    done
  fi
  [ -z "${FUZZ_CORPUS:-}" ] && rm -rf "$corpus"
done
bz shutdown >/dev/null 2>&1
[ $failed -eq 0 ]
