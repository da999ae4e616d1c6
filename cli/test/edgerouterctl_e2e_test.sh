#!/bin/bash
# End to end: a real controlplane process on loopback ports, driven by the real edgerouterctl
# binary (every command), plus the control plane's /metrics, /healthz, the applications.json
# watch and SIGTERM shutdown. Exits with the number of failed checks.
set -u
CP="$TEST_SRCDIR/$TEST_WORKSPACE/controlplane/controlplane"
CTL="$TEST_SRCDIR/$TEST_WORKSPACE/cli/edgerouterctl"
APPS="$TEST_SRCDIR/$TEST_WORKSPACE/testdata/apps"
LB=/t-1/loadbalancer
# Loopback only: no proxy may sit between us and the control plane.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY grpc_proxy all_proxy ALL_PROXY

fails=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then
    echo "ok   $name"
  else
    echo "FAIL $name"
    fails=$((fails + 1))
    # The last command's output, to see why.
    [[ -s $tmp/out ]] && sed 's/^/     out| /' "$tmp/out"
    [[ -s $tmp/err ]] && sed 's/^/     err| /' "$tmp/err"
  fi
  return 0
}
ctl() {  # ctl ARGS...: runs edgerouterctl; stdout in $tmp/out, stderr in $tmp/err, exit code in $rc
  "$CTL" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}
has() { grep -qF -- "$2" "$1"; }           # has FILE TEXT
lacks() { ! grep -qF -- "$2" "$1"; }       # lacks FILE TEXT
err_is_one_line_with() {                   # exactly one stderr line, containing TEXT
  [[ $(wc -l <"$tmp/err") -eq 1 ]] && grep -qF -- "$1" "$tmp/err"
}
ls_ids() { awk 'NR > 1 && /^$/ {exit} NR > 1 {print $1}' "$tmp/out"; }  # app ls table IDs
ls_backend() { awk -v id="$1" 'NR > 1 && /^$/ {exit} $1 == id {print $NF}' "$tmp/out"; }
rejected_section() { sed -n '/^rejected:$/,$p' "$tmp/out"; }
stream_head() {  # the loadbalancer stream's last version (0 when empty)
  "$CTL" stream read "$LB" --versions | awk '/^# version / {v = $3} END {print v + 0}'
}

tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/e2e.XXXXXX")
cp_pid=""
drain_pid=""

# Waits up to $1 seconds for the control plane to exit: its only copy of the write end of the
# "alive" FIFO closes then, so the read sees EOF. Returns 0 if it exited in time.
await_cp_exit() {
  read -r -t "$1" -u 4 _
  [[ $? -le 128 ]]
}
cleanup() {
  if [[ -n $cp_pid ]]; then
    kill -TERM "$cp_pid" 2>/dev/null
    await_cp_exit 5 || kill -KILL "$cp_pid" 2>/dev/null
    wait "$cp_pid" 2>/dev/null
  fi
  [[ -n $drain_pid ]] && wait "$drain_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- start the control plane -----------------------------------------------------------------
cp "$APPS/sample-applications.json" "$tmp/applications.json"
mkfifo "$tmp/cp.stderr" "$tmp/cp.alive"
# Only the control plane holds the write ends of both FIFOs: its stderr (read here until the
# ready line, then drained into cp.log) and fd 4, whose EOF tells us it has exited.
"$CP" --grpc_listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --data_dir="$tmp/data" \
  --apps_file="$tmp/applications.json" 2>"$tmp/cp.stderr" 4>"$tmp/cp.alive" &
cp_pid=$!
exec 3<"$tmp/cp.stderr" 4<"$tmp/cp.alive"

ready=""
deadline=$((SECONDS + 20))
while ((SECONDS < deadline)) && IFS= read -r -t $((deadline - SECONDS)) -u 3 line; do
  printf '%s\n' "$line" >>"$tmp/cp.log"
  if [[ $line == *'msg="control plane ready"'* ]]; then
    ready=$line
    break
  fi
done
cat <&3 >>"$tmp/cp.log" &
drain_pid=$!
exec 3<&-

if [[ -z $ready ]]; then
  echo "FAIL control plane did not report ready (it exited, or 20 s passed); its stderr:"
  sed 's/^/     cp| /' "$tmp/cp.log"
  exit 1
fi
grpc_addr=${ready#*grpc=}; grpc_addr=${grpc_addr%% *}
http_addr=${ready#*http=}; http_addr=${http_addr%% *}
check "ready line has the bound gRPC port" bash -c "[[ '$grpc_addr' =~ ^127\.0\.0\.1:[1-9][0-9]*$ ]]"
check "ready line has the bound HTTP port" bash -c "[[ '$http_addr' =~ ^127\.0\.0\.1:[1-9][0-9]*$ ]]"
export EDGEROUTER_CONTROLPLANE=$grpc_addr

# --- app ls / put / cat / rm -----------------------------------------------------------------
ctl app ls
check "app ls exits 0" test $rc -eq 0
check "app ls header" test "$(head -n 1 "$tmp/out")" = "ID                Frontends                                 Backend"
check "app ls lists the two sample apps" test "$(ls_ids | tr '\n' ' ')" = "acme-validations hello "
check "app ls: hello redirects" test "$(ls_backend hello)" = "redirect:https://github.com/function61/edgerouter"
check "app ls: nothing rejected" lacks "$tmp/out" "rejected:"

# The flag wins over $EDGEROUTER_CONTROLPLANE.
EDGEROUTER_CONTROLPLANE=127.0.0.1:1 ctl --controlplane="$grpc_addr" app ls
check "--controlplane overrides the environment" bash -c "test $rc -eq 0 && grep -q '^hello ' '$tmp/out'"

head0=$(stream_head)
check "loadbalancer stream starts empty" test "$head0" -eq 0

ctl app put --new "$APPS/readme-s3-website.json"
check "app put --new exits 0" test $rc -eq 0
check "app put --new reports creation" test "$(cat "$tmp/err")" = "created example.com (stream version 1)"
ctl app ls
check "app ls has example.com on s3 v1" test "$(ls_backend example.com)" = "s3_static_website:v1"
check "app ls keeps the sample apps" test "$(ls_ids | tr '\n' ' ')" = "acme-validations example.com hello "

ctl app put --new "$APPS/readme-s3-website.json"
check "second app put --new exits 1" test $rc -eq 1
check "second app put --new: one ALREADY_EXISTS line" err_is_one_line_with "ALREADY_EXISTS"
check "second app put --new: exact error" test "$(cat "$tmp/err")" = \
  "edgerouterctl: app put: ALREADY_EXISTS: app example.com already exists"
check "nothing on stdout for a failed put" test ! -s "$tmp/out"

sed 's/"id": "example.com"/"id": "not-there.example.com"/' "$APPS/readme-s3-website.json" >"$tmp/not-there.json"
ctl app put "$tmp/not-there.json"
check "update of a missing app exits 1" test $rc -eq 1
check "update of a missing app: one NOT_FOUND line" err_is_one_line_with "NOT_FOUND"
check "update of a missing app suggests --new" has "$tmp/err" "did you mean to create new with '--new'?"

sed 's/"deployed_version": "v1"/"deployed_version": "v2"/' "$APPS/readme-s3-website.json" >"$tmp/example-v2.json"
check "test setup: v2 file differs" bash -c "! cmp -s '$tmp/example-v2.json' '$APPS/readme-s3-website.json'"
ctl app put - <"$tmp/example-v2.json"
check "app put (update, from stdin) exits 0" test $rc -eq 0
check "app put reports the update" test "$(cat "$tmp/err")" = "updated example.com (stream version 2)"
ctl app cat example.com
check "app cat exits 0" test $rc -eq 0
check "app cat shows v2" has "$tmp/out" '"deployed_version": "v2"'
check "app cat prints the app" bash -c "test \"\$(head -n 1 '$tmp/out')\" = '{' && grep -q '^  \"id\": \"example.com\",\$' '$tmp/out'"
ctl app ls
check "app ls shows s3 v2" test "$(ls_backend example.com)" = "s3_static_website:v2"

# Invalid apps are refused locally with every problem listed, and the server never sees them.
printf '%s' '{"id":"x","frontends":[{"kind":"hostname"}],"backend":{"kind":"redirect"}}' >"$tmp/invalid.json"
cat >"$tmp/want" <<'WANT'
app x: frontends[0].hostname is required
app x: backend.redirect_opts is required
WANT
head_before=$(stream_head)
ctl app put --new "$tmp/invalid.json"
check "invalid app put exits 1" test $rc -eq 1
check "invalid app put prints every validation error" diff "$tmp/want" "$tmp/err"
check "invalid app put: nothing on stdout" test ! -s "$tmp/out"
check "invalid app put appended nothing" test "$(stream_head)" -eq "$head_before"
ctl app put --new "$APPS/readme-docker-peer-set.verbatim.json"
check "app put of a JSON syntax error exits 1" test $rc -eq 1
check "syntax error names the line" grep -q '^invalid JSON at line 15, column' "$tmp/err"
check "syntax error: no RPC error" lacks "$tmp/err" "edgerouterctl:"
check "syntax error appended nothing" test "$(stream_head)" -eq "$head_before"

ctl app put /nonexistent/app.json
check "app put of a missing file: exit 1, one line" bash -c \
  "test $rc -eq 1 && test \$(wc -l <'$tmp/err') -eq 1 && grep -q 'cannot read /nonexistent/app.json' '$tmp/err'"

# A legacy peer_set app is normalised before it is sent.
ctl app put --new "$APPS/readme-docker-peer-set.json"
check "app put --new of a peer_set app exits 0" test $rc -eq 0
ctl app cat app.example.com
check "stored peer_set app became reverse_proxy" bash -c \
  "grep -q '\"kind\": \"reverse_proxy\"' '$tmp/out' && ! grep -q peer_set '$tmp/out'"
ctl app rm app.example.com
check "app rm of the peer_set app exits 0" test $rc -eq 0

ctl app cat no-such-app
check "app cat of a missing app exits 1" test $rc -eq 1
check "app cat of a missing app: one NOT_FOUND line" err_is_one_line_with "NOT_FOUND"
check "app cat of a missing app: exact error" test "$(cat "$tmp/err")" = \
  "edgerouterctl: app cat: NOT_FOUND: app no-such-app not found"
check "app cat of a missing app: nothing on stdout" test ! -s "$tmp/out"

ctl app rm example.com
check "app rm exits 0" test $rc -eq 0
check "app rm reports the deletion" has "$tmp/err" "deleted example.com (stream version"
ctl app ls
check "app ls lacks example.com after rm" test "$(ls_ids | tr '\n' ' ')" = "acme-validations hello "
ctl app rm example.com
check "second app rm exits 1" test $rc -eq 1
check "second app rm: one NOT_FOUND line" err_is_one_line_with "NOT_FOUND"
check "second app rm: app to delete not found" has "$tmp/err" "app to delete not found"

# --- stream read / append --------------------------------------------------------------------
ts_re='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
ctl stream read "$LB"
check "stream read exits 0" test $rc -eq 0
check "stream read: put, update, put, rm, rm in order" test \
  "$(awk '{printf "%s ", $2}' "$tmp/out")" = "AppUpdated AppUpdated AppUpdated AppDeleted AppDeleted "
check "stream read: every line is <ts> <Type>, 3 empty fields, JSON" bash -c \
  "! grep -Evq '^$ts_re [A-Za-z]+    \\{.*\\}\$' '$tmp/out'"
check "stream read: the v1 and v2 updates of example.com" bash -c \
  "grep -E '^$ts_re AppUpdated    \\{' '$tmp/out' | grep '\"example.com\"' | grep -q '\"v1\"' &&
   grep -E '^$ts_re AppUpdated    \\{' '$tmp/out' | grep '\"example.com\"' | grep -q '\"v2\"'"
check "stream read: the deletion of example.com" grep -Eq "^$ts_re AppDeleted    \\{\"[Ii]d\":\"example.com\"\\}\$" "$tmp/out"
ctl stream read "$LB" --after 4 --versions
check "stream read --after 4 --versions" bash -c \
  "test $rc -eq 0 && test \"\$(sed -n 1p '$tmp/out')\" = '# version 5' && test \$(wc -l <'$tmp/out') -eq 2 &&
   grep -q ' AppDeleted ' '$tmp/out'"
ctl stream read /t-1/never-written
check "stream read of an unwritten stream: empty, exit 0" bash -c "test $rc -eq 0 && test ! -s '$tmp/out'"
ctl stream read not-a-stream
check "stream read of a bad name: exit 1, INVALID_ARGUMENT" bash -c \
  "test $rc -eq 1 && test \$(wc -l <'$tmp/err') -eq 1 && grep -q INVALID_ARGUMENT '$tmp/err'"

app_line() {  # app_line ID: an AppUpdated event line for a valid redirect app
  printf '2026-03-05T10:00:00.000Z AppUpdated    {"application":{"id":"%s","frontends":[{"kind":"hostname","hostname":"%s.localhost","path_prefix":"/"}],"backend":{"kind":"redirect","redirect_opts":{"to":"https://example.org/%s"}}}}' "$1" "$1" "$1"
}
head_before=$(stream_head)
line=$(app_line appended)
ctl stream append "$LB" "$line"
check "stream append exits 0" test $rc -eq 0
check "stream append prints the new version" test "$(cat "$tmp/out")" = "$((head_before + 1))"
ctl app ls
check "appended app shows in app ls" test "$(ls_backend appended)" = "redirect:https://example.org/appended"
ctl stream read "$LB" --after "$head_before"
check "appended line reads back verbatim" test "$(cat "$tmp/out")" = "$line"

ctl stream append "$LB" '2026-03-05T10:00:00.000Z SomethingElse    {}'
check "appending an unknown event type succeeds" bash -c "test $rc -eq 0 && test \"\$(cat '$tmp/out')\" = $((head_before + 2))"
ctl stream append "$LB" "$(app_line appended2)"
check "append after the unknown event succeeds" bash -c "test $rc -eq 0 && test \"\$(cat '$tmp/out')\" = $((head_before + 3))"
ctl app ls
check "app appended after the unknown event shows in app ls" test "$(ls_backend appended2)" = "redirect:https://example.org/appended2"
check "earlier appended app is still there" test "$(ls_backend appended)" = "redirect:https://example.org/appended"

head_before=$(stream_head)
ctl stream append "$LB" '2026-03-05T10:00:00.000Z AppUpdated {}'
check "appending a malformed line exits 1" test $rc -eq 1
check "malformed line: one INVALID_ARGUMENT line" err_is_one_line_with "INVALID_ARGUMENT"
check "malformed line: exact error" test "$(cat "$tmp/err")" = \
  'edgerouterctl: stream append: INVALID_ARGUMENT: line 1: event line: want "<ts> <Type> <userId> <impersonatorId> <backdateTs> <JSON>", got 3 field(s)'
check "malformed line: nothing on stdout" test ! -s "$tmp/out"
ctl stream append "$LB" 'garbage'
check "one-word line: INVALID_ARGUMENT" bash -c "test $rc -eq 1 && grep -q INVALID_ARGUMENT '$tmp/err'"
ctl stream append "$LB" '2026-03-05T10:00:00.000Z AppUpdated    '
check "line with empty payload: INVALID_ARGUMENT" bash -c "test $rc -eq 1 && grep -q INVALID_ARGUMENT '$tmp/err'"
ctl stream append "$LB" 'this is not an event line'
check "line without an RFC 3339 timestamp: exact error" test "$(cat "$tmp/err")" = \
  'edgerouterctl: stream append: INVALID_ARGUMENT: line 1: event line: timestamp "this" is not RFC 3339'
check "malformed lines appended nothing" test "$(stream_head)" -eq "$head_before"

# Apps from applications.json belong to the file: the stream commands say so.
ctl app rm hello
check "rm of a file app: FAILED_PRECONDITION naming the file" bash -c \
  "test $rc -eq 1 && grep -q 'FAILED_PRECONDITION: app hello is defined by file:.*applications.json; change it there' '$tmp/err'"

# Events of the types the reducers read are checked as they would be read (and apps as PutApp
# checks them) before they are stored; --force stores them as given.
broken_line='2026-03-05T10:00:00.000Z AppUpdated    {"application":{"id":"broken","frontends":[{"kind":"hostname","hostname":"broken.localhost","path_prefix":"/"}],"backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":[]}}}}'
head_before=$(stream_head)
ctl stream append "$LB" "$broken_line"
check "appending an invalid app exits 1" test $rc -eq 1
check "invalid app: exact error naming the line, the type and the problem" test "$(cat "$tmp/err")" = \
  'edgerouterctl: stream append: INVALID_ARGUMENT: line 1: AppUpdated: app broken: backend.reverse_proxy_opts.origins is required (force stores it anyway)'
ctl stream append "$LB" '2026-03-05T10:00:00.000Z AppUpdated    {"Application":"nope"}'
check "undecodable AppUpdated payload: INVALID_ARGUMENT" bash -c \
  "test $rc -eq 1 && grep -q 'INVALID_ARGUMENT: line 1: AppUpdated: ' '$tmp/err'"
ctl stream append "$LB" '2026-03-05T10:00:00.000Z AppUpdated    {"Application":{"frontends":[]}}'
check "AppUpdated without an id: INVALID_ARGUMENT" bash -c \
  "test $rc -eq 1 && grep -q 'line 1: AppUpdated: Application.id is required' '$tmp/err'"
ctl stream append "$LB" '2026-03-05T10:00:00.000Z AppDeleted    {}'
check "AppDeleted without an id: INVALID_ARGUMENT" bash -c \
  "test $rc -eq 1 && grep -q 'line 1: AppDeleted: Id is required' '$tmp/err'"
ctl stream append /t-1/certbus '2026-03-05T10:00:00.000Z CertificateObtained    {"Id":"c1"}'
check "incomplete CertificateObtained: INVALID_ARGUMENT" bash -c \
  "test $rc -eq 1 && grep -q 'line 1: CertificateObtained: Domains is empty' '$tmp/err'"
ctl stream append /t-1/certbus '2026-03-05T10:00:00.000Z CertificateRemoved    {"Id":7}'
check "undecodable CertificateRemoved: INVALID_ARGUMENT" bash -c \
  "test $rc -eq 1 && grep -q 'line 1: CertificateRemoved: ' '$tmp/err'"
check "refused events appended nothing" test "$(stream_head)" -eq "$head_before"
check "refused events were never read (no skip warnings)" bash -c \
  "! grep -Eq 'msg=\"event skipped\" .* type=(AppUpdated|AppDeleted|CertificateObtained|CertificateRemoved)' '$tmp/cp.log'"
ctl stream append --force "$LB" "$broken_line"
check "appending an invalid app with --force is accepted by the log" test $rc -eq 0
ctl app ls
check "app ls still lists the others" test "$(ls_ids | tr '\n' ' ')" = "acme-validations appended appended2 hello "
rejected_section >"$tmp/rejected"
check "app ls shows broken as rejected with the reason" \
  grep -qE "^  $LB@[0-9]+ broken: backend\.reverse_proxy_opts\.origins is required\$" "$tmp/rejected"
ctl app cat broken
check "app cat of the rejected app: FAILED_PRECONDITION with the reason" bash -c \
  "test $rc -eq 1 && grep -q 'FAILED_PRECONDITION: app broken is rejected' '$tmp/err' &&
   grep -q 'origins is required' '$tmp/err'"

# --- snapshot show / nodes -------------------------------------------------------------------
ctl snapshot show
check "snapshot show exits 0" test $rc -eq 0
check "snapshot show: version line" grep -Eq '^version [0-9a-f]{32}$' "$tmp/out"
check "snapshot show: resources 4" test "$(sed -n 2p "$tmp/out")" = "resources 4"
check "snapshot show: one app/<id> line per app" test \
  "$(awk '/^app\// {printf "%s ", $1}' "$tmp/out")" = "app/acme-validations app/appended app/appended2 app/hello "
check "snapshot show: resource lines carry a version" bash -c "! grep '^app/' '$tmp/out' | grep -Evq '^app/[^ ]+ [0-9a-f]+$'"
check "snapshot show: rejected section" has "$tmp/out" "broken: backend.reverse_proxy_opts.origins is required"
snapshot_version=$(awk '$1 == "version" {print $2; exit}' "$tmp/out")

ctl snapshot show --json
check "snapshot show --json exits 0" test $rc -eq 0
if [[ -x /usr/bin/python3 ]]; then
  check "snapshot show --json is valid JSON" /usr/bin/python3 -m json.tool "$tmp/out" /dev/null
else
  check "snapshot show --json has resources" grep -q '"resources"' "$tmp/out"
fi
check "snapshot show --json carries the same version" has "$tmp/out" "\"$snapshot_version\""

ctl nodes
check "nodes exits 0" test $rc -eq 0
check "nodes header" test "$(sed -n 1p "$tmp/out")" = "NODE  STATE  PEER  SINCE  SERVING  ACKED  PENDING  REPORT  CONNS  RPS  5XX/S  P99  ORIGINS DOWN  CERTS  LAST NACK"
check "nodes: current version line (no nodes connected)" bash -c \
  "test \$(wc -l <'$tmp/out') -eq 2 && test \"\$(sed -n 2p '$tmp/out')\" = 'current version $snapshot_version'"

# --- applications.json is watched ------------------------------------------------------------
cat >"$tmp/applications.json.new" <<'JSON'
{
  "apps": [
    {
      "id": "hello",
      "frontends": [{"kind": "hostname", "hostname": "hello.localhost", "path_prefix": "/", "allow_insecure_http": true}],
      "backend": {"kind": "redirect", "redirect_opts": {"to": "https://github.com/function61/edgerouter"}}
    },
    {
      "id": "acme-validations",
      "frontends": [{"kind": "path_prefix", "path_prefix": "/.well-known/acme-challenge/", "strip_path_prefix": true, "allow_insecure_http": true}],
      "backend": {"kind": "reverse_proxy", "reverse_proxy_opts": {"origins": ["http://127.0.0.1:8089/acme-challenge"]}}
    },
    {
      "id": "from-file",
      "frontends": [{"kind": "hostname", "hostname": "from-file.localhost", "path_prefix": "/"}],
      "backend": {"kind": "redirect", "redirect_opts": {"to": "https://example.org/from-file"}}
    }
  ]
}
JSON
mv "$tmp/applications.json.new" "$tmp/applications.json"
# The reload is asynchronous (inotify, then a coalesced rebuild): retry for up to ~5 s.
for _ in $(seq 50); do
  ctl app ls
  [[ $rc -eq 0 && $(ls_backend from-file) == "redirect:https://example.org/from-file" ]] && break
  sleep 0.1
done
check "app added to applications.json shows in app ls" test "$(ls_backend from-file)" = "redirect:https://example.org/from-file"
check "stream apps survive the file reload" test \
  "$(ls_ids | tr '\n' ' ')" = "acme-validations appended appended2 from-file hello "

# --- metrics and health ----------------------------------------------------------------------
curl -sS --noproxy '*' --max-time 5 "http://$http_addr/metrics" >"$tmp/out" 2>"$tmp/err"
check "GET /metrics succeeds" test $? -eq 0
check "metrics: er_cp_snapshot_resources 5" grep -qx 'er_cp_snapshot_resources 5' "$tmp/out"
check "metrics: er_cp_skipped_events_total 1 (the unknown event)" grep -qx 'er_cp_skipped_events_total 1' "$tmp/out"
check "metrics: er_cp_rejected_items 1 (broken)" grep -qx 'er_cp_rejected_items 1' "$tmp/out"
check "metrics: no connected nodes" grep -qx 'er_cp_connected_nodes 0' "$tmp/out"
code=$(curl -sS --noproxy '*' --max-time 5 -o "$tmp/out" -w '%{http_code}' "http://$http_addr/healthz" 2>"$tmp/err")
check "/healthz is 200 ok" bash -c "test '$code' = 200 && test \"\$(cat '$tmp/out')\" = ok"

# --- app import, -o json, --version, completion ---------------------------------------------
# 5,000 apps in one file: one ImportApps call, one append (the stream head moves by exactly 1).
awk 'BEGIN {
  printf "{\"apps\": ["
  for (i = 0; i < 5000; i++) {
    printf "%s{\"id\": \"bulk-%d\", \"frontends\": [{\"kind\": \"hostname\", \"hostname\": \"bulk-%d.example.com\", \"path_prefix\": \"/\"}], \"backend\": {\"kind\": \"reverse_proxy\", \"reverse_proxy_opts\": {\"origins\": [\"http://127.0.0.1:%d\"]}}}", (i ? "," : ""), i, i, 10000 + i % 1000
  }
  print "]}"
}' >"$tmp/bulk.json"
head_before=$(stream_head)
start_ns=$(date +%s%N)
ctl app import "$tmp/bulk.json"
import_ms=$((($(date +%s%N) - start_ns) / 1000000))
echo "     app import of 5,000 apps: ${import_ms} ms (one process, one append)"
check "app import of 5,000 apps exits 0" test $rc -eq 0
check "app import reports the count" grep -qx "imported 5000 apps (stream version $((head_before + 1)))" "$tmp/out"
check "app import was one append" test "$(stream_head)" -eq $((head_before + 1))
ctl app ls -o json
check "app ls -o json exits 0" test $rc -eq 0
check "app ls -o json: 5,000 imported apps in valid JSON" /usr/bin/python3 -c '
import json, sys
apps = json.load(open(sys.argv[1]))["apps"]
assert sum(a["id"].startswith("bulk-") for a in apps) == 5000, len(apps)' "$tmp/out"
ctl app cat bulk-4999
check "an imported app reads back" has "$tmp/out" '"hostname": "bulk-4999.example.com"'

# A bad app and one owned by applications.json are left out and named; the rest go in.
cat >"$tmp/mixed.json" <<'JSON'
{"apps": [
  {"id": "mixed-ok", "frontends": [{"kind": "hostname", "hostname": "ok.example.com", "path_prefix": "/"}],
   "backend": {"kind": "redirect", "redirect_opts": {"to": "https://example.com/"}}},
  {"id": "mixed-bad", "frontends": [{"kind": "hostname", "hostname": "bad.example.com", "path_prefix": "/"}],
   "backend": {"kind": "reverse_proxy", "reverse_proxy_opts": {"origins": []}}},
  {"id": "hello", "frontends": [{"kind": "hostname", "hostname": "hello.example.com", "path_prefix": "/"}],
   "backend": {"kind": "redirect", "redirect_opts": {"to": "https://example.com/"}}}
]}
JSON
ctl app import "$tmp/mixed.json"
check "app import with bad apps exits 1" test $rc -eq 1
check "app import names the invalid app" has "$tmp/err" "skipped: app mixed-bad: backend.reverse_proxy_opts.origins is required"
check "app import names the app owned by applications.json" grep -q '^skipped #1 hello: app hello is defined by ' "$tmp/out"
check "app import still imported the good one" has "$tmp/out" "imported 1 apps"
ctl app cat mixed-ok
check "the good app is there" test $rc -eq 0
ctl app import -o json "$tmp/mixed.json"
check "app import -o json" /usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["imported"] == 1 and r["errors"][0]["id"] == "hello", r' "$tmp/out"
ctl nodes -o json
check "nodes -o json is JSON with the current version" /usr/bin/python3 -c '
import json, sys
assert json.load(open(sys.argv[1]))["currentVersion"]' "$tmp/out"
ctl discovery errors -o json
check "discovery errors -o json lists the rejected app" /usr/bin/python3 -c '
import json, sys
assert any(r["id"] == "broken" for r in json.load(open(sys.argv[1]))["rejected"])' "$tmp/out"
ctl cert ls -o json
check "cert ls -o json: certificates and acme" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert "certificates" in d and "acme" in d, d' "$tmp/out"
ctl cluster status -o json
check "cluster status -o json: this replica, ready" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d) == 1 and d[0]["error"] == "" and d[0]["status"]["ready"], d' "$tmp/out"
ctl --version
check "--version prints the version" grep -Eqx 'edgerouterctl [0-9]+\.[0-9]+\.[0-9]+.*' "$tmp/out"
ctl completion bash
check "completion bash completes app i to import" bash -c "source '$tmp/out'; COMP_WORDS=(edgerouterctl app i); COMP_CWORD=2; _edgerouterctl; [[ \${COMPREPLY[*]} == import ]]"
check "completion bash completes -o values" bash -c "source '$tmp/out'; COMP_WORDS=(edgerouterctl app ls -o j); COMP_CWORD=4; _edgerouterctl; [[ \${COMPREPLY[*]} == json ]]"
"$CP" --version >"$tmp/out" 2>&1
check "controlplane --version" grep -Eqx 'controlplane [0-9]+\.[0-9]+\.[0-9]+.*' "$tmp/out"

# --- shutdown --------------------------------------------------------------------------------
kill -TERM "$cp_pid"
if await_cp_exit 10; then
  wait "$cp_pid"; cp_rc=$?
  check "control plane exits 0 on SIGTERM" test $cp_rc -eq 0
else
  check "control plane exits within 10 s of SIGTERM" false
  kill -KILL "$cp_pid"; wait "$cp_pid"
fi
cp_pid=""
wait "$drain_pid"; drain_pid=""
check "control plane logged the shutdown" grep -q 'msg="shutting down" signal=15' "$tmp/cp.log"

ctl app ls
check "app ls after shutdown exits 1" test $rc -eq 1
check "app ls after shutdown: one UNAVAILABLE line" err_is_one_line_with "edgerouterctl: app ls: UNAVAILABLE: "
# With nothing listening, an invalid app still gets only its validation errors: the check is local.
ctl app put --new "$tmp/invalid.json"
check "invalid app put needs no control plane" bash -c "test $rc -eq 1 && diff '$tmp/want' '$tmp/err'"

if ((fails > 0)); then
  echo "control plane stderr:"
  sed 's/^/     cp| /' "$tmp/cp.log"
fi
exit $((fails > 255 ? 255 : fails))
