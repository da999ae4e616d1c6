#!/bin/bash
# scripts/package.sh builds the three Debian packages from the built binaries; they install
# with dpkg into a scratch root, their units verify there, and the installed binaries run from
# it: the control plane on its packaged default config, a data plane, and edgerouterctl
# importing an app that then serves traffic. Removal keeps the conffiles.
set -u
R="$TEST_SRCDIR/$TEST_WORKSPACE"
source "$R/scripts/test/lib.sh"
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/pkg.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
# package.sh wants the .build/bin layout; it copies from there.
bin=$tmp/bin
mkdir -p "$bin/controlplane" "$bin/dataplane" "$bin/cli"
ln -s "$R/controlplane/controlplane" "$bin/controlplane/controlplane"
ln -s "$R/dataplane/dataplane" "$bin/dataplane/dataplane"
ln -s "$R/cli/edgerouterctl" "$bin/cli/edgerouterctl"
version=$(tr -d ' \n' <"$R/VERSION")
arch=$(dpkg --print-architecture)

check "package.sh builds" bash "$R/scripts/package.sh" --bin-dir "$bin" --out "$tmp/debs"
ls -l "$tmp/debs"
for name in edgerouter-controlplane edgerouter-dataplane edgerouterctl; do
  deb=$tmp/debs/${name}_${version}_${arch}.deb
  check "$name: the .deb carries VERSION" test -s "$deb"
  check "$name: Depends lists libc6" bash -c "dpkg-deb -f '$deb' Depends | grep -q 'libc6 (>='"
done

check "control plane package contents" bash -c "c=\$(dpkg-deb -c '$tmp/debs/edgerouter-controlplane_${version}_${arch}.deb'); for f in ./usr/bin/edgerouter-controlplane ./lib/systemd/system/edgerouter-controlplane.service ./etc/default/edgerouter-controlplane ./etc/edgerouter/applications.json; do grep -q \" \$f\$\" <<<\"\$c\" || exit 1; done"
check "conffiles" bash -c "dpkg-deb --ctrl-tarfile '$tmp/debs/edgerouter-controlplane_${version}_${arch}.deb' | tar -xO ./conffiles | grep -qx /etc/edgerouter/applications.json"

# Install into a scratch root. Its dpkg database lacks the libraries, hence --force-depends;
# the binaries then run from the root with the host's libraries.
root=$tmp/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
check "dpkg -i into the scratch root" \
  dpkg --root="$root" --log=/dev/null --force-depends -i "$tmp"/debs/*.deb
check "dpkg knows them" bash -c "dpkg --root='$root' -l edgerouter-controlplane edgerouter-dataplane edgerouterctl | grep -c '^ii' | grep -qx 3"
for b in edgerouter-controlplane edgerouter-dataplane edgerouterctl; do
  check "$b --version" bash -c "'$root/usr/bin/$b' --version | grep -qE ' ${version//./\\.}\$'"
done

cp /lib/systemd/system/*.target /lib/systemd/system/*.slice "$root/lib/systemd/system/" 2>/dev/null
for unit in edgerouter-controlplane edgerouter-dataplane; do
  check "installed $unit.service verifies" bash -c \
    "out=\$(systemd-analyze verify --root='$root' /lib/systemd/system/$unit.service 2>&1) && [[ -z \$out ]]"
done

# Run what was installed: the control plane on the packaged applications.json.
read -r grpc http dp_http dp_admin < <(free_ports 4)
"$root/usr/bin/edgerouter-controlplane" --apps_file="$root/etc/edgerouter/applications.json" \
  --grpc_listen=127.0.0.1:$grpc --http_listen=127.0.0.1:$http --data_dir="$tmp/cp-data" \
  --docker_url=off 2>"$tmp/cp.log" &
pids+=($!)
"$root/usr/bin/edgerouter-dataplane" --controlplane=127.0.0.1:$grpc --http_listen=127.0.0.1:$dp_http \
  --https_listen= --admin_listen=127.0.0.1:$dp_admin --state_dir="$tmp/dp-state" --workers=1 \
  --turbocharger_cache_dir="$tmp/tc" 2>"$tmp/dp.log" &
pids+=($!)
check "installed data plane gets a snapshot" poll 20 curl -fso /dev/null http://127.0.0.1:$dp_admin/ready
ctl() { "$root/usr/bin/edgerouterctl" --controlplane=127.0.0.1:$grpc "$@"; }
cat >"$tmp/apps.json" <<'JSON'
{"apps": [{"id": "hello", "frontends": [{"kind": "hostname", "hostname": "hello.example.com",
  "path_prefix": "/", "allow_insecure_http": true}],
  "backend": {"kind": "redirect", "redirect_opts": {"to": "https://example.com/"}}}]}
JSON
check "installed edgerouterctl imports an app" bash -c "$(declare -f ctl); root='$root' grpc=$grpc; ctl app import '$tmp/apps.json' 2>&1 | grep -q '^imported 1 apps'"
served() { [[ $(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: hello.example.com' http://127.0.0.1:$dp_http/) == "302 https://example.com/" ]]; }
check "and the installed data plane serves it" poll 20 served
check "nodes -o json lists the data plane" bash -c "$(declare -f ctl); root='$root' grpc=$grpc; ctl nodes -o json | grep -q '\"lastAckedVersion\"'"

comp=$root/usr/share/bash-completion/completions/edgerouterctl
complete_words() {  # the completions bash offers for the words given
  bash -c "source '$comp'; COMP_WORDS=($*); COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1)); _edgerouterctl; echo \"\${COMPREPLY[*]}\""
}
check "bash completion: app i -> import" test "$(complete_words edgerouterctl app i)" == import
check "bash completion: first words" bash -c "[[ ' $(complete_words edgerouterctl '""') ' == *' nodes '* ]]"

check "dpkg -r removes the binaries" dpkg --root="$root" --log=/dev/null -r edgerouter-controlplane
check "binary gone" test ! -e "$root/usr/bin/edgerouter-controlplane"
check "conffile kept" test -s "$root/etc/edgerouter/applications.json"
[[ $fails -eq 0 ]] || tail -20 "$tmp/cp.log" "$tmp/dp.log"
exit $fails
