#!/usr/bin/env bash
# Runs `roost bench lmtp` side by side against Roost and Dovecot's LMTP
# server (Debian's dovecot-lmtpd) on this machine: CONNS parallel
# connections deliver SIZE-byte messages, each to one of USERS users picked
# at random, for DURATION. Both store durably (Roost: group commit with
# fsync; Dovecot: its default mail_fsync=optimized). Everything listens on
# 127.0.0.1 and is removed afterwards.
#
#   scripts/bench-lmtp.sh
#   CONNS=8 USERS=100 SIZE=10240 DURATION=20s scripts/bench-lmtp.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
conns=${CONNS:-8}; users=${USERS:-100}; size=${SIZE:-10240}; duration=${DURATION:-20s}
if ! [ -x /usr/lib/dovecot/lmtp ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dovecot-lmtpd >/dev/null
fi
work=$(mktemp -d /tmp/roost-bench-lmtp.XXXXXX)
chmod 755 "$work"
go build -o "$work/roost" ./cmd/roost
roost_pid=""
cleanup() {
  [ -n "$roost_pid" ] && kill "$roost_pid" 2>/dev/null || true
  [ -f "$work/dovecot/run/master.pid" ] && kill "$(cat "$work/dovecot/run/master.pid")" 2>/dev/null || true
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Dovecot: passwd-file users (user = the address), Maildir homes owned by
# an unprivileged user.
mailuser=roost-bench
id "$mailuser" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$mailuser"
uid=$(id -u "$mailuser"); gid=$(id -g "$mailuser")
dport=$(free_port)
mkdir -p "$work/dovecot/run" "$work/dovecot/home"
: > "$work/dovecot/passwd"
for i in $(seq 0 $((users - 1))); do echo "bench$i@bench.test:{PLAIN}bench" >> "$work/dovecot/passwd"; done
chown -R "$uid:$gid" "$work/dovecot/home"
cat > "$work/dovecot/dovecot.conf" <<CONF
base_dir = $work/dovecot/run
log_path = $work/dovecot/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
passdb {
  driver = passwd-file
  args = scheme=PLAIN $work/dovecot/passwd
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$work/dovecot/home/%u allow_all_users=yes
}
mail_location = maildir:~/Maildir
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $dport
  }
  unix_listener lmtp {
    mode = 0600
  }
}
CONF
dovecot -c "$work/dovecot/dovecot.conf"

# Roost: embedded default with LMTP on TCP.
rport=$(free_port)
mkdir -p "$work/roost-data"
cat > "$work/roost.toml" <<CONF
data_dir = "$work/roost-data"
lmtp_listen = "127.0.0.1:$rport"
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
"$work/roost" serve --config "$work/roost.toml" > "$work/roost.log" 2>&1 &
roost_pid=$!
wait_roost "$work/roost-data/admin.sock" "$work/roost.log" "$roost_pid"
"$work/roost" admin --config "$work/roost.toml" domain add bench.test >/dev/null
for i in $(seq 0 $((users - 1))); do
  echo bench | "$work/roost" admin --config "$work/roost.toml" user create "bench$i" --email "bench$i@bench.test" --name "Bench $i" --password-stdin >/dev/null
done

echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $conns connections, $users users, $size-byte messages, $duration"
echo "== Roost"
"$work/roost" bench lmtp --addr "127.0.0.1:$rport" --users "$users" --conns "$conns" --size "$size" --duration "$duration"
echo "== Dovecot $(dovecot --version) lmtp"
"$work/roost" bench lmtp --addr "127.0.0.1:$dport" --users "$users" --conns "$conns" --size "$size" --duration "$duration"
echo "== after: Roost blobs $(du -sh "$work/roost-data" | cut -f1), Dovecot maildirs $(du -sh "$work/dovecot/home" | cut -f1)"
