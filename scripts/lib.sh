# Shell helpers the scripts/*.sh source (". scripts/lib.sh" after cd to
# the repository).

# wait_roost SOCKET LOG PID: waits up to 30 s until the roost serve
# process PID answers on its admin SOCKET. When it exits or does not
# answer in time, prints its LOG and exits 1, so that a server that cannot
# start is reported with its reason rather than as a later admin
# command's "connection refused".
wait_roost() {
  local _
  for _ in $(seq 300); do
    # Without curl, the socket's existence has to do.
    if [ -S "$1" ] && { ! command -v curl >/dev/null || curl -sf --unix-socket "$1" -o /dev/null http://roost/metrics; }; then
      return 0
    fi
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  echo "roost serve (pid $3) is not answering on $1; its log ($2):" >&2
  tail -n 50 "$2" >&2 || true
  exit 1
}

# wait_port PORT: waits up to 30 s until something listens on 127.0.0.1:PORT.
wait_port() {
  local _
  for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $1 never opened" >&2
  return 1
}
