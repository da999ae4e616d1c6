#!/bin/bash
# End to end: the real edgerouterctl binary validating files and stdin, exit codes and output.
set -u
CTL="$TEST_SRCDIR/$TEST_WORKSPACE/cli/edgerouterctl"
APPS="$TEST_SRCDIR/$TEST_WORKSPACE/testdata/apps"
fails=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$CTL" app validate "$APPS/readme-s3-website.json" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "s3 example exits 0" test $rc -eq 0
check "s3 example printed as written" cmp -s "$tmp/out" "$APPS/readme-s3-website.json"

"$CTL" app validate - <"$APPS/readme-docker-peer-set.json" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "peer_set example exits 0" test $rc -eq 0
check "peer_set becomes reverse_proxy" grep -q '"kind": "reverse_proxy"' "$tmp/out"
check "addrs become origins" grep -q '"origins": \[' "$tmp/out"
check "no peer_set left" bash -c "! grep -q peer_set '$tmp/out'"

"$CTL" app validate "$APPS/readme-docker-peer-set.verbatim.json" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "verbatim README text (missing comma) exits 1" test $rc -eq 1
check "syntax error names the line" grep -q '^invalid JSON at line 15, column' "$tmp/err"

"$CTL" app validate "$APPS/sample-applications.json" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "applications.json exits 0" test $rc -eq 0
check "applications.json keeps both apps" test "$(grep -c '"id"' "$tmp/out")" -eq 2

printf '%s' '{"apps":[{"id":"x","frontends":[{"kind":"hostname"}],"backend":{"kind":"redirect"}},{"frontends":[{"kind":"hostname","hostname":"h","bogus":1}],"backend":{"kind":"prom_metrics"}}]}' \
  | "$CTL" app validate - >"$tmp/out" 2>"$tmp/err"; rc=$?
check "bad file exits 1" test $rc -eq 1
cat >"$tmp/want" <<'WANT'
app x: frontends[0].hostname is required
app x: backend.redirect_opts is required
app apps[1]: frontends[0].bogus: unknown field
app apps[1]: id is required
WANT
check "every error printed" diff "$tmp/want" "$tmp/err"
check "nothing on stdout for a bad file" test ! -s "$tmp/out"

"$CTL" app validate /nonexistent.json >"$tmp/out" 2>"$tmp/err"; rc=$?
check "missing file exits 1 with one line" bash -c "test $rc -eq 1 && test \$(wc -l <'$tmp/err') -eq 1"

"$CTL" bogus >"$tmp/out" 2>"$tmp/err"; rc=$?
check "unknown command exits 2 with usage" bash -c "test $rc -eq 2 && grep -q usage '$tmp/err'"

exit $fails
