#!/bin/bash
# Runs the whole test suite: installs packages, proves the build needs no network, runs every
# Bazel test, and ends with "N passed, N failed" (counting individual test cases).
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

BAZEL_FLAGS=(${EDGEROUTER_BAZEL_FLAGS:-})
passed=0
failed=0

# 1. Offline build check: a fresh Bazel server inside a network namespace with only loopback
#    builds everything (objects come from the disk cache, so this is quick after a first build).
offline_base=$(mktemp -d /tmp/edgerouter-offline.XXXXXX)
if unshare -n bash -c 'ip link set lo up && bazel --output_base="$0" build --symlink_prefix=/ "${@}" //... >"$0.log" 2>&1' \
    "$offline_base" "${BAZEL_FLAGS[@]}"; then
  echo "PASS offline build (no network namespace access)"
  passed=$((passed + 1))
else
  echo "FAIL offline build; log follows"; tail -30 "$offline_base.log"
  failed=$((failed + 1))
fi
unshare -n bash -c 'ip link set lo up && bazel --output_base="$0" shutdown' "$offline_base" >/dev/null 2>&1
rm -rf "$offline_base" "$offline_base.log"

# 2. No repository rule that downloads is part of the build graph.
downloads=$(bazel query "${BAZEL_FLAGS[@]}" 'kind("http_archive|http_file|git_repository|http_jar", deps(//...))' 2>/dev/null)
if [ -z "$downloads" ]; then
  echo "PASS no downloading repository in deps(//...)"
  passed=$((passed + 1))
else
  echo "FAIL downloading repositories in the build graph: $downloads"
  failed=$((failed + 1))
fi

# 3. Every test target.
bazel test "${BAZEL_FLAGS[@]}" //... 2>&1 | grep -vE 'linux-sandbox|^\s*$' | tail -60
for target in $(bazel query 'tests(//...)' 2>/dev/null); do
  path=${target#//}; path=${path/://}
  xml=".build/testlogs/$path/test.xml"
  if [ ! -f "$xml" ]; then
    echo "FAIL $target (no result: build failure?)"; failed=$((failed + 1)); continue
  fi
  line=$(grep -m1 -o '<testsuites[^>]*>' "$xml")
  tests=$(echo "$line" | grep -o ' tests="[0-9]*"' | grep -o '[0-9]*')
  fails=$(echo "$line" | grep -o ' failures="[0-9]*"' | grep -o '[0-9]*')
  errors=$(echo "$line" | grep -o ' errors="[0-9]*"' | grep -o '[0-9]*')
  tests=${tests:-1}; fails=${fails:-0}; errors=${errors:-0}
  # A non-gtest target (sh_test) reports one case; trust the target status for it.
  if grep -q '<failure' "$xml" && [ $((fails + errors)) -eq 0 ]; then fails=1; fi
  passed=$((passed + tests - fails - errors))
  failed=$((failed + fails + errors))
done

bazel shutdown >/dev/null 2>&1

# 4. Every libFuzzer target for a bounded time (clang, own output base; see scripts/fuzz.sh).
while IFS= read -r line; do
  echo "$line"
  case "$line" in
    "PASS fuzz "*) passed=$((passed + 1)) ;;
    "FAIL fuzz "*) failed=$((failed + 1)) ;;
  esac
done < <(./scripts/fuzz.sh "${EDGEROUTER_FUZZ_SECONDS:-12}" 2>&1)

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
