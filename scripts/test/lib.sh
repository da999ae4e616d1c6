# shellcheck shell=bash
# Shared by the shell tests of scripts/ and deploy/: checks, free ports, polling.
fails=0
check() {  # check NAME COMMAND...: runs it, counts a failure
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
  return 0
}
free_ports() {  # free_ports N: N distinct free loopback TCP ports (all held open while picked)
  /usr/bin/python3 -c '
import socket, sys
held = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in held: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))' "$1"
}
poll() {  # poll SECONDS COMMAND...: until COMMAND succeeds, or false after SECONDS
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do ((SECONDS < deadline)) || return 1; sleep 0.1; done
}
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY grpc_proxy all_proxy ALL_PROXY
