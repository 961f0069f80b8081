#!/usr/bin/env bash
# Times CalDAV with `roost bench caldav` side by side against Roost and
# Radicale (Debian) on this machine: a calendar of EVENTS events (a tenth of
# them weekly series), then calendar-query REPORTs over one-week time
# ranges, and a sync-collection REPORT after 100 changes. Roost is filled
# with PUTs; Radicale (whose PUT fsyncs a whole collection, ~8/s here) is
# filled by writing the same events into its storage directory, then
# warmed with one untimed query. Everything listens on 127.0.0.1 and is
# removed afterwards.
#
#   scripts/bench-dav.sh
#   EVENTS=10000 QUERIES=20 scripts/bench-dav.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
events=${EVENTS:-10000}; queries=${QUERIES:-20}
if ! /usr/bin/python3 -c 'import radicale' 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq radicale >/dev/null
fi
work=$(mktemp -d /tmp/roost-bench-dav.XXXXXX)
go build -o "$work/roost" ./cmd/roost
roost_pid=""; rad_pid=""
cleanup() {
  [ -n "$roost_pid" ] && kill "$roost_pid" 2>/dev/null || true
  [ -n "$rad_pid" ] && kill "$rad_pid" 2>/dev/null || true
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Radicale: htpasswd (plain) auth, filesystem storage filled directly.
radport=$(free_port)
mkdir -p "$work/radicale/collections/collection-root/bench0/cal"
echo "bench0:bench" > "$work/radicale/users"
cat > "$work/radicale/config" <<CONF
[server]
hosts = 127.0.0.1:$radport
[auth]
type = htpasswd
htpasswd_filename = $work/radicale/users
htpasswd_encryption = plain
[storage]
filesystem_folder = $work/radicale/collections
[logging]
level = warning
CONF
"$work/roost" bench caldav --print-events --events "$events" | /usr/bin/python3 -c '
import json, os, sys
d = sys.argv[1]
with open(os.path.join(d, ".Radicale.props"), "w") as f:
    json.dump({"tag": "VCALENDAR", "D:displayname": "cal"}, f)
for line in sys.stdin:
    e = json.loads(line)
    with open(os.path.join(d, e["name"]), "w", newline="") as f:
        f.write(e["ics"])
' "$work/radicale/collections/collection-root/bench0/cal"
/usr/bin/python3 -m radicale --config "$work/radicale/config" > "$work/radicale/log" 2>&1 &
rad_pid=$!

# Roost: embedded default, HTTP only.
rport=$(free_port)
cat > "$work/roost.toml" <<CONF
data_dir = "$work/roost-data"
http_listen = "127.0.0.1:$rport"
imap_listen = "off"
imaps_listen = "off"
pop3_listen = "off"
pop3s_listen = "off"
lmtp_listen = "off"
https_listen = "off"
submission_listen = "off"
submissions_listen = "off"
managesieve_listen = "off"
CONF
"$work/roost" serve --config "$work/roost.toml" > "$work/roost.log" 2>&1 &
roost_pid=$!
wait_roost "$work/roost-data/admin.sock" "$work/roost.log" "$roost_pid"
echo bench | "$work/roost" admin --config "$work/roost.toml" user create bench0 --email bench0@bench.test --name "Bench" --password-stdin >/dev/null
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$radport/" && break; sleep 0.1; done

echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $events events, $queries queries"
echo "== Roost"
"$work/roost" bench caldav --url "http://127.0.0.1:$rport/dav/calendars/bench0/bench/" --events "$events" --queries "$queries"
echo "== Radicale $(/usr/bin/python3 -m radicale --version)"
"$work/roost" bench caldav --url "http://127.0.0.1:$radport/bench0/cal/" --events "$events" --queries "$queries" --fill=false
