#!/usr/bin/env bash
# Runs `roost bench imap` side by side against Roost and Dovecot (from
# Debian) on this machine, with the same users, message mix and client
# count, and prints both reports. Everything listens on 127.0.0.1 and is
# removed afterwards.
#
#   scripts/bench-imap.sh                 8 clients, 8 users, 20 s each
#   CLIENTS=16 USERS=16 DURATION=30s scripts/bench-imap.sh
#   MIX=select=10,fetch=30,store=20,append=10,search=15,expunge=5,idle=0 scripts/bench-imap.sh
#   IDLE_WAIT=60ms scripts/bench-imap.sh  IDLE ops idle that long (the total then measures mostly the clients' wait)
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${CLIENTS:-8}; users=${USERS:-8}; duration=${DURATION:-20s}; msgs=${MESSAGES:-100}
mix=${MIX:-select=10,fetch=30,store=20,append=10,search=15,expunge=5,idle=10}
idlewait=${IDLE_WAIT:-0}  # e.g. 60ms: each IDLE op stays idle that long (think time)
if ! command -v dovecot >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dovecot-imapd >/dev/null
fi
work=$(mktemp -d /tmp/roost-bench.XXXXXX)
chmod 755 "$work"
go build -o "$work/roost" ./cmd/roost
droot_pid=""; roost_pid=""
cleanup() {
  [ -n "$roost_pid" ] && kill "$roost_pid" 2>/dev/null || true
  [ -f "$work/dovecot/run/master.pid" ] && kill "$(cat "$work/dovecot/run/master.pid")" 2>/dev/null || true
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Dovecot: passwd-file users, Maildir homes owned by an unprivileged user.
mailuser=roost-bench
id "$mailuser" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$mailuser"
uid=$(id -u "$mailuser"); gid=$(id -g "$mailuser")
dport=$(free_port)
mkdir -p "$work/dovecot/run" "$work/dovecot/home"
: > "$work/dovecot/passwd"
for i in $(seq 0 $((users - 1))); do echo "bench$i:{PLAIN}bench" >> "$work/dovecot/passwd"; done
chown -R "$uid:$gid" "$work/dovecot/home"
cat > "$work/dovecot/dovecot.conf" <<CONF
base_dir = $work/dovecot/run
log_path = $work/dovecot/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN $work/dovecot/passwd
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$work/dovecot/home/%u
}
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $dport
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
dovecot -c "$work/dovecot/dovecot.conf"

# Roost: embedded default, plain IMAP allowed so both run without TLS.
rport=$(free_port)
mkdir -p "$work/roost-data"
cat > "$work/roost.toml" <<CONF
data_dir = "$work/roost-data"
imap_listen = "127.0.0.1:$rport"
allow_plaintext_auth = true
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
roost_pid=$!
for _ in $(seq 100); do [ -S "$work/roost-data/admin.sock" ] && break; sleep 0.1; done
for i in $(seq 0 $((users - 1))); do
  echo bench | "$work/roost" admin --config "$work/roost.toml" user create "bench$i" --email "bench$i@bench.test" --name "Bench $i" --password-stdin >/dev/null
done

rounds=${ROUNDS:-2}
echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $clients clients, $users users, $duration, $msgs messages per INBOX, mix $mix, IDLE wait $idlewait, $rounds rounds"
# The servers take turns, so that a change in the machine's load during
# the run affects both alike; the summary adds the rounds up.
rsum=0; dsum=0
for r in $(seq "$rounds"); do
  echo "== Roost (round $r)"
  "$work/roost" bench imap --addr "127.0.0.1:$rport" --users "$users" --clients "$clients" --duration "$duration" --messages "$msgs" --mix "$mix" --idle-wait "$idlewait" | tee "$work/r.out"
  echo "== Dovecot $(dovecot --version) (round $r)"
  "$work/roost" bench imap --addr "127.0.0.1:$dport" --users "$users" --clients "$clients" --duration "$duration" --messages "$msgs" --mix "$mix" --idle-wait "$idlewait" | tee "$work/d.out"
  rsum=$(awk -v s="$rsum" '/^total/ {print s + $3}' "$work/r.out")
  dsum=$(awk -v s="$dsum" '/^total/ {print s + $3}' "$work/d.out")
done
awk -v r="$rsum" -v d="$dsum" -v n="$rounds" 'BEGIN { printf "== summary over %d rounds: Roost %.1f ops/s, Dovecot %.1f ops/s, ratio %.2f\n", n, r/n, d/n, r/d }'
