#!/usr/bin/env bash
# Full-text search, Roost side by side with Dovecot + fts-xapian (Debian
# dovecot-imapd and dovecot-fts-xapian) on the same generated corpus, over
# IMAP, on this machine (everything on 127.0.0.1, removed afterwards):
#
#   delivery   APPEND throughput of the corpus into one INBOX (CLIENTS
#              connections): Roost with its indexer running, and Roost with
#              search_index = false, for the ratio
#   indexing   messages/s: Roost rebuilding the user's index (roost admin
#              search reindex) until its backlog is 0; Dovecot's
#              doveadm index (fts_autoindex = no) on the same messages
#   size       index size against the mail's size
#   search     SEARCH TEXT "word" and SEARCH BODY "two words", QUERIES of
#              each, p50 and p99 (roost bench search), on both
#
#   scripts/bench-search.sh                   100,000 messages
#   MESSAGES=20000 QUERIES=200 scripts/bench-search.sh
#   SKIP_DOVECOT=1 scripts/bench-search.sh    Roost only
#   SKIP_ROOST=1 scripts/bench-search.sh      Dovecot only (a long run can go
#                                             in the background meanwhile)
#   DOVECOT_FSYNC=never                       Dovecot's mail_fsync (default
#                                             optimized, Dovecot's default):
#                                             never shortens a 100,000-message
#                                             corpus's appends on a slow disk;
#                                             indexing and SEARCH are unaffected
#   DOVECOT_FILL=maildir                      write the corpus into Dovecot's
#                                             Maildir as files instead of
#                                             APPENDing it (no Dovecot APPEND
#                                             figure; much faster on a loaded
#                                             machine)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
n=${MESSAGES:-100000}; clients=${CLIENTS:-4}; queries=${QUERIES:-200}
need_pkgs=()
command -v dovecot >/dev/null || need_pkgs+=(dovecot-imapd)
[ -f /usr/lib/dovecot/modules/lib21_fts_xapian_plugin.so ] || need_pkgs+=(dovecot-fts-xapian)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
work=$(mktemp -d /tmp/roost-bench-search.XXXXXX)
chmod 755 "$work"
go build -o "$work/roost" ./cmd/roost
roost_pid=""; dovecot_up=""
stop_roost() {
  [ -n "$roost_pid" ] || return 0
  kill "$roost_pid" 2>/dev/null || true
  wait "$roost_pid" 2>/dev/null || true
  roost_pid=""
}
stop_dovecot() {
  [ -n "$dovecot_up" ] || return 0
  local pid
  pid=$(cat "$work/dovecot/run/master.pid" 2>/dev/null || true)
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  dovecot_up=""
}
cleanup() {
  stop_roost; stop_dovecot
  if [ -n "${KEEP:-}" ]; then echo "== kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
bench() { "$work/roost" bench search "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# roost_run NAME INDEX: a fresh Roost with search_index = INDEX; appends
# the corpus and prints the append line.
roost_run() {
  local name=$1 index=$2
  rport=$(free_port)
  mkdir -p "$work/$name"
  cat > "$work/$name.toml" <<CONF
data_dir = "$work/$name"
imap_listen = "127.0.0.1:$rport"
allow_plaintext_auth = true
search_index = $index
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
  "$work/roost" serve --config "$work/$name.toml" >> "$work/$name.log" 2>&1 &
  roost_pid=$!
  wait_roost "$work/$name/admin.sock" "$work/$name.log" "$roost_pid"
  wait_port "$rport"
  echo bench | "$work/roost" admin --config "$work/$name.toml" user create bench --email bench@bench.test --password-stdin >/dev/null
  bench --addr "127.0.0.1:$rport" --append "$n" --clients "$clients"
}
admin() { "$work/roost" admin --config "$work/roost-idx.toml" "$@"; }

echo "== corpus: $n messages, $clients appending connections, $queries queries of each kind; load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -z "${SKIP_ROOST:-}" ]; then
echo "== Roost without the index"
roost_run roost-plain false > "$work/plain.out"; cat "$work/plain.out"; plain=$(cat "$work/plain.out")
stop_roost
echo "== Roost with the index"
roost_run roost-idx true > "$work/indexed.out"; cat "$work/indexed.out"; indexed=$(cat "$work/indexed.out")
# Let the indexer catch up with the deliveries, then time a full rebuild.
while [ "$(admin search status bench --json | json 'd["backlog"]')" != 0 ]; do sleep 1; done
t0=$(date +%s.%N)
admin search reindex bench --no-wait >/dev/null
while [ "$(admin search status bench --json | json 'd["backlog"]')" != 0 ]; do sleep 0.5; done
t1=$(date +%s.%N)
status=$(admin search status --json)
roost_index=$(echo "$status" | json 'd["index_bytes"]')
roost_mail=$(echo "$indexed" | sed -E 's/.*\(([0-9]+) bytes\).*/\1/')

echo "indexed $n messages in $(python3 -c "print(round($t1-$t0,1))") s: $(python3 -c "print(round($n/($t1-$t0)))") messages/s; index $roost_index bytes = $(python3 -c "print(round($roost_index/$roost_mail,2))") of the mail ($roost_mail bytes)"
bench --addr "127.0.0.1:$rport" --queries "$queries"
stop_roost
python3 -c "
import re
a=float(re.search(r'([0-9.]+) messages/s', '''$indexed''').group(1)); b=float(re.search(r'([0-9.]+) messages/s', '''$plain''').group(1))
print('delivery with the indexer running: %.0f/s, without: %.0f/s, ratio %.2f' % (a, b, a/b))"
fi

[ -n "${SKIP_DOVECOT:-}" ] && exit 0
echo "== Dovecot $(dovecot --version | cut -d' ' -f1) + fts-xapian"
mailuser=roost-bench
id "$mailuser" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$mailuser"
uid=$(id -u "$mailuser"); gid=$(id -g "$mailuser")
mkdir -p "$work/dovecot/home" "$work/dovecot/run"
chown -R "$uid:$gid" "$work/dovecot/home"
echo "bench:{PLAIN}bench" > "$work/dovecot/passwd"
dport=$(free_port)
cat > "$work/dovecot/dovecot.conf" <<CONF
base_dir = $work/dovecot/run
log_path = $work/dovecot/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = $work/dovecot/passwd
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$work/dovecot/home/%u
}
mail_location = maildir:~/Maildir
mail_fsync = ${DOVECOT_FSYNC:-optimized}
mail_plugins = \$mail_plugins fts fts_xapian
plugin {
  fts = xapian
  fts_xapian = partial=3 full=20 verbose=0
  fts_autoindex = no
  fts_enforced = yes
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $dport
  }
  inet_listener imaps {
    port = 0
  }
}
service indexer-worker {
  process_limit = 1
}
CONF
dovecot -c "$work/dovecot/dovecot.conf"
dovecot_up=1
wait_port "$dport"
if [ "${DOVECOT_FILL:-}" = maildir ]; then
  # The corpus written straight into the Maildir, and Dovecot's first
  # sync of it done before the timing: no APPEND figure for Dovecot.
  bench --maildir "$work/dovecot/home/bench/Maildir" --append "$n"
  chown -R "$uid:$gid" "$work/dovecot/home"
  doveadm -c "$work/dovecot/dovecot.conf" mailbox status -u bench messages INBOX
  python3 -c "
import os; d='$work/dovecot/home/bench/Maildir/cur'
print('appended $n messages (%d bytes) into the Maildir directly' % sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)))" > "$work/dovecot.out"
  cat "$work/dovecot.out"
else
  bench --addr "127.0.0.1:$dport" --append "$n" --clients "$clients" | tee "$work/dovecot.out"
fi
t0=$(date +%s.%N)
doveadm -c "$work/dovecot/dovecot.conf" index -u bench INBOX
t1=$(date +%s.%N)
dmail=$(sed -E 's/.*\(([0-9]+) bytes\).*/\1/' "$work/dovecot.out")
dindex=$(du -sb "$work/dovecot/home/bench/Maildir/xapian-indexes" | cut -f1)
echo "indexed $n messages in $(python3 -c "print(round($t1-$t0,1))") s: $(python3 -c "print(round($n/($t1-$t0)))") messages/s; index $dindex bytes = $(python3 -c "print(round($dindex/$dmail,2))") of the mail ($dmail bytes)"
bench --addr "127.0.0.1:$dport" --queries "$queries"
