#!/usr/bin/env bash
# Counts the fsync calls of a Roost server per delivered LMTP message, for
# two builds (BEFORE, a git revision, and the working tree), with 1 and with
# RCPTS recipients per message: strace -c attached to the server while
# `roost bench lmtp` runs one connection for DURATION. strace slows every
# system call, so only the counts per message mean something, not the rates.
#
#   BEFORE=main scripts/count-lmtp-fsyncs.sh
#   BEFORE=main SIZES="10240 204800" RCPTS=30 scripts/count-lmtp-fsyncs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
before=${BEFORE:-main}; rcpts=${RCPTS:-30}; sizes=${SIZES:-"10240 204800"}; duration=${DURATION:-5s}
command -v strace >/dev/null || { echo "needs strace" >&2; exit 1; }
work=$(mktemp -d /tmp/roost-fsyncs.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/src-before"
git archive "$before" | tar -x -C "$work/src-before"
(cd "$work/src-before" && go build -o "$work/roost-before" ./cmd/roost)
go build -o "$work/roost-after" ./cmd/roost
for which in before after; do
  for size in $sizes; do
    for n in 1 "$rcpts"; do
      bin="$work/roost-$which"
      rm -rf "$work/data"; mkdir -p "$work/data"
      port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
      cat > "$work/roost.toml" <<CONF
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
      "$bin" serve --config "$work/roost.toml" > "$work/roost.log" 2>&1 &
      pid=$!
      wait_roost "$work/data/admin.sock" "$work/roost.log" "$pid"
      "$bin" admin --config "$work/roost.toml" domain add bench.test >/dev/null
      for i in $(seq 0 $((rcpts - 1))); do
        echo bench | "$bin" admin --config "$work/roost.toml" user create "bench$i" --email "bench$i@bench.test" --password-stdin >/dev/null
      done
      strace -f -c -e trace=fsync,fdatasync -p "$pid" -o "$work/strace.out" 2>/dev/null &
      spid=$!
      sleep 1
      msgs=$("$work/roost-after" bench lmtp --addr "127.0.0.1:$port" --users "$rcpts" --rcpts "$n" --conns 1 --size "$size" --duration "$duration" | awk '/^delivery/ {print $2}')
      sleep 0.5
      kill -INT "$spid"; wait "$spid" 2>/dev/null || true
      kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
      syncs=$(awk '$NF == "total" {print $4}' "$work/strace.out")
      awk -v w="$which" -v s="$size" -v n="$n" -v m="$msgs" -v f="$syncs" \
        'BEGIN {printf "%s size %s rcpts %s: %d messages, %d fsyncs, %.1f per message\n", w, s, n, m, f, (m ? f/m : 0)}'
    done
  done
done
