#!/usr/bin/env bash
# Runs `roost bench imap` (the long-lived-session mix) and `roost bench
# lmtp` against Roost on SQLite and on PostgreSQL, taking turns, on this
# machine. Both store durably: SQLite with synchronous=FULL, PostgreSQL
# with fsync=on and synchronous_commit=on (its defaults). Everything
# listens on 127.0.0.1 and is removed afterwards.
#
#   scripts/bench-db.sh
#   ROUNDS=3 DURATION=10s DBS="postgres sqlite" BENCHES="imap lmtp" scripts/bench-db.sh
#   ROOST_BIN=/tmp/roost-before scripts/bench-db.sh    another build of roost
#   PG_URL=postgres://postgres@127.0.0.1:26432 PG_PID=@/path/data/postmaster.pid scripts/bench-db.sh
#       use a running PostgreSQL (fsync on!) instead of starting one; a
#       database roost_bench_N is created in it for each run and dropped;
#       PG_PID (a pid, or @file whose first line is one) names its
#       postmaster, whose process tree's CPU time then counts as the server's
#
# Besides the throughput each run reports the CPU time of the server per
# operation: Roost's process, plus on PostgreSQL the postmaster and all
# its backends. On a machine shared with other work the throughput varies
# with the load; the CPU per operation much less.
#
# Without PG_URL the script starts its own PostgreSQL cluster (initdb,
# fsync=on, as the postgres user when run as root) in the work directory.
# Each run starts from an empty database: IMAP with USERS users and CLIENTS
# clients, each INBOX filled to MESSAGES first; LMTP with CONNS connections
# delivering SIZE-byte messages to LMTP_USERS users (as scripts/bench-lmtp.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
rounds=${ROUNDS:-1}; duration=${DURATION:-10s}; dbs=${DBS:-sqlite postgres}; benches=${BENCHES:-imap lmtp}
users=${USERS:-10}; lusers=${LMTP_USERS:-100}; clients=${CLIENTS:-10}; msgs=${MESSAGES:-50}; conns=${CONNS:-8}; size=${SIZE:-10240}
mix=${MIX:-select=10,fetch=30,store=20,append=10,search=15,expunge=5,idle=10}
work=$(mktemp -d /tmp/roost-bench-db.XXXXXX)
chmod 755 "$work"
bin=${ROOST_BIN:-}
if [ -z "$bin" ]; then
  go build -o "$work/roost" ./cmd/roost
  bin=$work/roost
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
pg_user=postgres
run_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u "$pg_user" -- "$@"; else "$@"; fi; }
roost_pid=""; own_pg=""
cleanup() {
  [ -n "$roost_pid" ] && kill "$roost_pid" 2>/dev/null && wait "$roost_pid" 2>/dev/null || true
  [ -n "$own_pg" ] && run_pg "$pg_bin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

pg_url=${PG_URL:-}
if [[ " $dbs " == *" postgres "* ]] && [ -z "$pg_url" ]; then
  mkdir -p "$work/pg"
  [ "$(id -u)" -eq 0 ] && chown "$pg_user" "$work/pg"
  pport=$(free_port)
  run_pg "$pg_bin/initdb" -D "$work/pg/data" -U postgres -A trust >/dev/null
  run_pg "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pport -k $work/pg -c fsync=on -c max_connections=100" start >/dev/null
  own_pg=1
  pg_url="postgres://postgres@127.0.0.1:$pport"
  pg_pid=@$work/pg/data/postmaster.pid
fi
pg_pid=${pg_pid:-${PG_PID:-}}
pidof_file() { case $1 in @*) head -1 "${1#@}" ;; *) echo "$1" ;; esac; }
cpu_s() { "$bin" bench cpu --server-pid "$1" | sed 's/cpu_s=\([0-9.]*\).*/\1/'; }
psql_cmd() { PGOPTIONS="-c client_min_messages=warning" "$pg_bin/psql" -q -X -v ON_ERROR_STOP=1 "$pg_url/postgres?sslmode=disable" -c "$1" >/dev/null; }

rport=$(free_port); lport=$(free_port); n=0
start_roost() { # db users
  n=$((n + 1))
  rm -rf "$work/data"; mkdir -p "$work/data"
  local dbline=""
  if [ "$1" = postgres ]; then
    psql_cmd "DROP DATABASE IF EXISTS roost_bench_$n"
    psql_cmd "CREATE DATABASE roost_bench_$n"
    dbline="database = \"$pg_url/roost_bench_$n?sslmode=disable\""
  fi
  cat > "$work/roost.toml" <<CONF
data_dir = "$work/data"
$dbline
imap_listen = "127.0.0.1:$rport"
lmtp_listen = "127.0.0.1:$lport"
allow_plaintext_auth = true
imaps_listen = "off"
pop3_listen = "off"
pop3s_listen = "off"
http_listen = "off"
https_listen = "off"
submission_listen = "off"
submissions_listen = "off"
managesieve_listen = "off"
CONF
  "$bin" serve --config "$work/roost.toml" >> "$work/roost.log" 2>&1 &
  roost_pid=$!
  wait_roost "$work/data/admin.sock" "$work/roost.log" "$roost_pid"
  wait_port "$rport"
  "$bin" admin --config "$work/roost.toml" domain add bench.test >/dev/null
  for i in $(seq 0 $(($2 - 1))); do
    echo bench | "$bin" admin --config "$work/roost.toml" user create "bench$i" --email "bench$i@bench.test" --name "Bench $i" --password-stdin >/dev/null
  done
}
stop_roost() {
  kill "$roost_pid" 2>/dev/null || true
  wait "$roost_pid" 2>/dev/null || true
  roost_pid=""
  if [ "$1" = postgres ]; then psql_cmd "DROP DATABASE IF EXISTS roost_bench_$n"; fi
}

echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); roost $bin; PostgreSQL $("$pg_bin/postgres" --version | cut -d' ' -f3)"
echo "== imap: $clients clients, $users users, $msgs messages per INBOX, mix $mix; lmtp: $conns connections, $lusers users, $size bytes; $duration per run, $rounds rounds"
: > "$work/results"
for r in $(seq "$rounds"); do
  turns=$dbs
  [ $((r % 2)) -eq 0 ] && turns=$(echo "$turns" | tr ' ' '\n' | tac | tr '\n' ' ')
  for b in $benches; do
    for db in $turns; do
      u=$users; [ "$b" = lmtp ] && u=$lusers
      start_roost "$db" "$u"
      echo "== $db $b (round $r), load $(cut -d' ' -f1-3 /proc/loadavg)"
      pids=$roost_pid
      [ "$db" = postgres ] && [ -n "$pg_pid" ] && pids="$pids,$(pidof_file "$pg_pid")"
      c0=$(cpu_s "$pids")
      case $b in
        imap)
          "$bin" bench imap --addr "127.0.0.1:$rport" --users "$users" --clients "$clients" --messages "$msgs" \
            --duration "$duration" --mix "$mix" | tee "$work/out"
          total=$(grep -o 'ops_per_s=[0-9.]*' "$work/out" | cut -d= -f2) ;;
        lmtp)
          "$bin" bench lmtp --addr "127.0.0.1:$lport" --users "$lusers" --conns "$conns" --size "$size" \
            --duration "$duration" | tee "$work/out"
          total=$(awk '$1 == "delivery" { print $3 }' "$work/out") ;;
      esac
      c1=$(cpu_s "$pids")
      ops=$(case $b in imap) grep -o ' ops=[0-9]*' "$work/out" | cut -d= -f2 ;; lmtp) awk '$1 == "delivery" { print $2 }' "$work/out" ;; esac)
      cpu=$(awk -v a="$c0" -v b="$c1" -v n="${ops:-0}" 'BEGIN { if (n > 0) printf "%.3f", (b - a) * 1000 / n; else print "?" }')
      echo "$b $db $r ${total:-?} $cpu" >> "$work/results"
      stop_roost "$db"
    done
  done
done
echo "== results (bench db round per-second server-CPU-ms-per-op)"
cat "$work/results"
