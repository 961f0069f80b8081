#!/usr/bin/env bash
# Measures the memory one idle IMAP connection costs a Roost server: starts
# roost serve on 127.0.0.1, holds CONNS connections in IDLE with
# `roost bench idle`, and reports the growth of the server's RSS per
# connection.
#
#   CONNS=2000 scripts/bench-idle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
conns=${CONNS:-2000}; users=${USERS:-20}
ulimit -n $(( conns * 2 + 1024 )) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/roost-idle.XXXXXX)
go build -o "$work/roost" ./cmd/roost
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; sleep 1; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cat > "$work/roost.toml" <<CONF
data_dir = "$work/data"
imap_listen = "127.0.0.1:$port"
allow_plaintext_auth = true
max_connections_per_ip = 0
max_connections_per_user = 0
imaps_listen = "off"
pop3_listen = "off"
pop3s_listen = "off"
lmtp_listen = "off"
http_listen = "off"
https_listen = "off"
submission_listen = "off"
submissions_listen = "off"
managesieve_listen = "off"
CONF
"$work/roost" serve --config "$work/roost.toml" > "$work/roost.log" 2>&1 &
pid=$!
wait_roost "$work/data/admin.sock" "$work/roost.log" "$pid"
for i in $(seq 0 $((users - 1))); do
  echo bench | "$work/roost" admin --config "$work/roost.toml" user create "bench$i" --email "bench$i@bench.test" --name "Bench $i" --password-stdin >/dev/null
done
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
# Warm up: a few logins grow the heap that password hashing needs.
"$work/roost" bench idle --addr "127.0.0.1:$port" --users "$users" --conns 16 --hold 1s >/dev/null
sleep 3
before=$(rss)
"$work/roost" bench idle --addr "127.0.0.1:$port" --users "$users" --conns "$conns" --hold 20s > "$work/idle.out" &
bpid=$!
while ! grep -q "connections idle" "$work/idle.out" 2>/dev/null; do sleep 1; done
sleep 8
after=$(rss)
cat "$work/idle.out"
wait "$bpid" || true
echo "server RSS: ${before} KiB before, ${after} KiB with ${conns} idle connections: $(( (after - before) * 1024 / conns )) bytes per connection"
