#!/usr/bin/env bash
# Measures what JMAP push costs a Roost server: starts roost serve on
# 127.0.0.1, holds CONNS EventSource streams with `roost bench
# eventsource` (USERS users, at most 4 streams each by default), reports
# the growth of the server's RSS and heap per stream, then delivers
# ROUNDS messages over LMTP, each to every user in one transaction, and
# reports the time from the end of DATA to the StateChange on every
# stream.
#
#   CONNS=1000 USERS=250 ROUNDS=5 SETTLE=5s scripts/bench-eventsource.sh
#   PROFILE=/tmp/es scripts/bench-eventsource.sh   # also /tmp/es.heap, /tmp/es.goroutines
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
conns=${CONNS:-1000}; users=${USERS:-250}; rounds=${ROUNDS:-5}; settle=${SETTLE:-5s}
ulimit -n $(( conns * 2 + 1024 )) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/roost-es.XXXXXX)
go build -o "$work/roost" ./cmd/roost
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; sleep 1; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
hport=$(free_port); lport=$(free_port)
cat > "$work/roost.toml" <<CONF
data_dir = "$work/data"
http_listen = "127.0.0.1:$hport"
lmtp_listen = "127.0.0.1:$lport"
allow_plaintext_auth = true
max_connections_per_ip = 0
max_connections_per_user = 0
imap_listen = "off"
imaps_listen = "off"
pop3_listen = "off"
pop3s_listen = "off"
https_listen = "off"
submission_listen = "off"
submissions_listen = "off"
managesieve_listen = "off"
CONF
"$work/roost" serve --config "$work/roost.toml" > "$work/roost.log" 2>&1 &
pid=$!
wait_roost "$work/data/admin.sock" "$work/roost.log" "$pid"
"$work/roost" admin --config "$work/roost.toml" domain add bench.test >/dev/null
for i in $(seq 0 $((users - 1))); do
  echo bench | "$work/roost" admin --config "$work/roost.toml" user create "bench$i" --email "bench$i@bench.test" --name "Bench $i" --password-stdin >/dev/null
done
"$work/roost" bench eventsource --url "http://127.0.0.1:$hport" --lmtp "127.0.0.1:$lport" --users "$users" --conns "$conns" \
  --deliveries "$rounds" --pid "$pid" --admin-sock "$work/data/admin.sock" --settle "$settle" ${PROFILE:+--profile "$PROFILE"} || { tail -n 20 "$work/roost.log"; exit 1; }
