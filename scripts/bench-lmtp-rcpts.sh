#!/usr/bin/env bash
# Compares LMTP delivery with 1 and with RCPTS recipients per message
# between two builds of Roost (BEFORE, a git revision, and the working
# tree), in alternation in the same run so that both see the same machine
# load: ROUNDS × (before, after) × (1 recipient, RCPTS recipients) × SIZES.
# Each server gets a fresh data directory and USERS users. Loopback only;
# everything is removed afterwards.
#
#   BEFORE=main scripts/bench-lmtp-rcpts.sh
#   BEFORE=main ROUNDS=2 CONNS=4 SIZES="10240 204800" DURATION=10s scripts/bench-lmtp-rcpts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
before=${BEFORE:-main}; rounds=${ROUNDS:-2}; conns=${CONNS:-4}; users=${USERS:-30}
rcpts=${RCPTS:-30}; sizes=${SIZES:-"10240 204800"}; duration=${DURATION:-10s}
work=$(mktemp -d /tmp/roost-bench-rcpts.XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/src-before"
git archive "$before" | tar -x -C "$work/src-before"
(cd "$work/src-before" && go build -o "$work/roost-before" ./cmd/roost)
go build -o "$work/roost-after" ./cmd/roost
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

start() { # $1 = binary; sets pid, port, conf
  rm -rf "$work/data"; mkdir -p "$work/data"
  port=$(free_port)
  conf="$work/roost.toml"
  cat > "$conf" <<CONF
data_dir = "$work/data"
lmtp_listen = "127.0.0.1:$port"
imap_listen = "off"
imaps_listen = "off"
pop3_listen = "off"
pop3s_listen = "off"
http_listen = "off"
https_listen = "off"
submission_listen = "off"
submissions_listen = "off"
managesieve_listen = "off"
CONF
  "$1" serve --config "$conf" > "$work/roost.log" 2>&1 &
  pid=$!
  wait_roost "$work/data/admin.sock" "$work/roost.log" "$pid"
  "$1" admin --config "$conf" domain add bench.test >/dev/null
  for i in $(seq 0 $((users - 1))); do
    echo bench | "$1" admin --config "$conf" user create "bench$i" --email "bench$i@bench.test" --name "Bench $i" --password-stdin >/dev/null
  done
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); before=$before ($(git rev-parse --short "$before")), after=working tree ($(git rev-parse --short HEAD)); $conns connections, $users users, $duration each"
for round in $(seq "$rounds"); do
  for which in before after; do
    for size in $sizes; do
      for n in 1 "$rcpts"; do
        start "$work/roost-$which"
        printf '%s round %s size %s rcpts %s: ' "$which" "$round" "$size" "$n"
        "$work/roost-after" bench lmtp --addr "127.0.0.1:$port" --users "$users" --rcpts "$n" --conns "$conns" --size "$size" --duration "$duration" | awk '/^delivery/ {print "msg/s", $3, "rcpt/s", $4, "p50", $5, "p95", $6, "p99", $7, "errors", $8}'
        stop
      done
    done
  done
done
