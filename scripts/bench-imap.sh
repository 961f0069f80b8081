#!/usr/bin/env bash
# Runs `roost bench imap` side by side against Roost and Dovecot (from
# Debian) on this machine, with the same users, passwords, profile and
# client count, and prints the median of several rounds. Everything
# listens on 127.0.0.1 and is removed afterwards.
#
# Dovecot runs in two configurations, taking turns with Roost:
#   perf     its documented high-performance one: service imap-login
#            { service_count = 0; process_min_avail = 2 }, service imap
#            { service_count = 100 }, maildir_very_dirty_syncs = yes, and
#            auth_cache_verify_password_with_worker = yes (Dovecot's auth
#            cache keeps the password hash, so an expensive scheme is
#            verified at every login; this spreads that over the cores)
#   default  a process per login and per session, as shipped
# Both with auth_cache (auth_cache_size = 10M, auth_cache_ttl = 1 hour)
# and, by default, the very argon2id hashes Roost stored for the same
# users (Dovecot's {ARGON2ID} scheme, libsodium), so both sides verify the
# same password hash with the same parameters.
#
# Each run starts its server afresh, so the first login of each user
# (the "cold" phase: LOGIN, SELECT, LOGOUT once per user) misses every
# credential cache; the "warm" phase then runs sessions back to back for
# DURATION. Profiles (PROFILES, space-separated):
#   churn   imaptest's default session loop (LOGIN, LIST, STATUS, SELECT,
#           FETCH, STORE, EXPUNGE, APPEND, LOGOUT with its probabilities)
#   login   LOGIN, SELECT, LOGOUT
#   mix     the older long-lived-session mix (--mix, no logins timed)
# The server CPU per operation is read from /proc: Roost's process, and
# Dovecot's master with all its children.
#
#   scripts/bench-imap.sh                                   3 rounds, churn and login, 10 s each
#   ROUNDS=5 DURATION=20s PROFILES=churn scripts/bench-imap.sh
#   DOVECOT_CONFIGS=perf DOVECOT_SCHEME=plain scripts/bench-imap.sh   Dovecot with {PLAIN} passwords, for diagnosis
#   PROFILES=mix MIX=select=10,fetch=30,store=20,append=10,search=15,expunge=5,idle=0 scripts/bench-imap.sh
#   KEEP=1 scripts/bench-imap.sh   leave the servers' data in the work directory (servers are stopped)
#   IMAPTEST=/tmp/imaptest/src/imaptest IMAPTEST_MBOX=/tmp/bench.mbox scripts/bench-imap.sh
#       also run imaptest (a binary you built yourself; this project
#       neither ships nor builds it) for DURATION on each server, on the
#       same warm server: after the churn profile's run its default profile,
#       imaptest host= port= user=bench%d users=USERS clients=CLIENTS
#       pass=bench mbox=IMAPTEST_MBOX secs=DURATION
#       and after the login profile's run the same with every state but
#       LOGIN, SELECT and LOGOUT turned off (list=0 status=0 fetch=0
#       fetch2=0 copy=0 store=0 delete=0 expunge=0 append=0)
# Users are bench0 … benchUSERS: this tool uses bench0 … bench(USERS-1),
# imaptest's users=N picks bench1 … benchN.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
clients=${CLIENTS:-10}; users=${USERS:-100}; duration=${DURATION:-10s}; msgs=${MESSAGES:-30}
rounds=${ROUNDS:-3}; profiles=${PROFILES:-churn login}; dconfigs=${DOVECOT_CONFIGS:-perf default}
dscheme=${DOVECOT_SCHEME:-argon2id}
mix=${MIX:-select=10,fetch=30,store=20,append=10,search=15,expunge=5,idle=10}
idlewait=${IDLE_WAIT:-0}  # mix profile: e.g. 60ms, each IDLE op stays idle that long (think time)
if ! command -v dovecot >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dovecot-imapd >/dev/null
fi
work=$(mktemp -d /tmp/roost-bench.XXXXXX)
chmod 755 "$work"
go build -o "$work/roost" ./cmd/roost
roost_pid=""; dovecot_conf=""
stop_roost() {
  [ -n "$roost_pid" ] || return 0
  kill "$roost_pid" 2>/dev/null || true
  wait "$roost_pid" 2>/dev/null || true
  roost_pid=""
}
stop_dovecot() {
  [ -n "$dovecot_conf" ] || return 0
  local pidf="$work/dovecot/run-$dovecot_conf/master.pid" pid
  if [ -f "$pidf" ]; then
    pid=$(cat "$pidf")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  dovecot_conf=""
}
cleanup() {
  stop_roost; stop_dovecot
  if [ -n "${KEEP:-}" ]; then echo "== kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

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
start_roost() {
  "$work/roost" serve --config "$work/roost.toml" >> "$work/roost.log" 2>&1 &
  roost_pid=$!
  wait_roost "$work/roost-data/admin.sock" "$work/roost.log" "$roost_pid"
  wait_port "$rport"
}
start_roost
for i in $(seq 0 "$users"); do
  echo bench | "$work/roost" admin --config "$work/roost.toml" user create "bench$i" --email "bench$i@bench.test" --name "Bench $i" --password-stdin >/dev/null
done

# Dovecot: passwd-file users, Maildir homes owned by an unprivileged user.
mailuser=roost-bench
id "$mailuser" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$mailuser"
uid=$(id -u "$mailuser"); gid=$(id -g "$mailuser")
mkdir -p "$work/dovecot/home"
chown -R "$uid:$gid" "$work/dovecot/home"
: > "$work/dovecot/passwd"
if [ "$dscheme" = argon2id ]; then
  # Roost's own hashes (PHC strings, which libsodium verifies as they are).
  stop_roost
  python3 - "$work/roost-data/roost.db" "$users" >> "$work/dovecot/passwd" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
want = {"bench%d" % i for i in range(int(sys.argv[2]) + 1)}
for login, h in db.execute("SELECT login, password_hash FROM users"):
    if login in want:
        assert h.startswith("$argon2id$"), (login, h[:12])
        print("%s:{ARGON2ID}%s" % (login, h))
PY
  start_roost
  [ "$(wc -l < "$work/dovecot/passwd")" -eq $((users + 1)) ] || { echo "could not read Roost's hashes" >&2; exit 1; }
  scheme_note="argon2id ($(head -1 "$work/dovecot/passwd" | cut -d'$' -f4), Roost's hashes)"
else
  for i in $(seq 0 "$users"); do echo "bench$i:{PLAIN}bench" >> "$work/dovecot/passwd"; done
  scheme_note="{PLAIN}"
fi
declare -A dport
for c in $dconfigs; do
  dport[$c]=$(free_port)
  mkdir -p "$work/dovecot/run-$c"
  case $c in
    perf) extra='service imap-login {
  service_count = 0
  process_min_avail = 2
}
service imap {
  service_count = 100
}
maildir_very_dirty_syncs = yes
# verify even cached passwords in the auth worker processes, on every
# core, rather than in the single auth process
auth_cache_verify_password_with_worker = yes' ;;
    default) extra='' ;;
    *) echo "DOVECOT_CONFIGS: unknown $c (perf, default)" >&2; exit 2 ;;
  esac
  cat > "$work/dovecot/dovecot-$c.conf" <<CONF
base_dir = $work/dovecot/run-$c
log_path = $work/dovecot/dovecot-$c.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_cache_size = 10M
auth_cache_ttl = 1 hour
passdb {
  driver = passwd-file
  args = $work/dovecot/passwd
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$work/dovecot/home/%u
}
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${dport[$c]}
  }
  inet_listener imaps {
    port = 0
  }
}
$extra
CONF
done
start_dovecot() {
  dovecot_conf=$1
  dovecot -c "$work/dovecot/dovecot-$1.conf" 2>> "$work/dovecot/dovecot-$1.log"
  wait_port "${dport[$1]}"
}

bench() { # server config profile round port pidspec
  local server=$1 config=$2 profile=$3 round=$4 port=$5 pids=$6
  echo "== $server $config, profile $profile (round $round), load $(cut -d' ' -f1-3 /proc/loadavg)"
  "$work/roost" bench imap --addr "127.0.0.1:$port" --users "$users" --clients "$clients" --duration "$duration" \
    --messages "$msgs" --profile "$profile" --mix "$mix" --idle-wait "$idlewait" --server-pid "$pids" | tee "$work/out"
  grep '^result ' "$work/out" | sed "s/^result /$server $config $profile $round /" >> "$work/results"
}
imaptest() { # server config profile round port pidspec
  local server=$1 config=$2 profile=$3 round=$4 port=$5 pids=$6 secs=${duration%s} c0 c1 states=""
  case $profile in
    churn) ;;
    login) states="list=0 status=0 fetch=0 fetch2=0 copy=0 store=0 delete=0 expunge=0 append=0" ;;
    *) return 0 ;;
  esac
  echo "== $server $config, imaptest $profile (round $round), load $(cut -d' ' -f1-3 /proc/loadavg)"
  c0=$("$work/roost" bench cpu --server-pid "$pids" | sed 's/cpu_s=\([0-9.]*\).*/\1/')
  LD_LIBRARY_PATH=/usr/lib/dovecot "$IMAPTEST" host=127.0.0.1 port="$port" user='bench%d' users="$users" clients="$clients" \
    pass=bench mbox="${IMAPTEST_MBOX:?IMAPTEST_MBOX: an mbox file of messages to append}" secs="$secs" $states > "$work/imaptest.out" 2>&1 || true
  c1=$("$work/roost" bench cpu --server-pid "$pids" | sed 's/cpu_s=\([0-9.]*\).*/\1/')
  # imaptest exits non-zero when it saw errors, which are counted below;
  # without totals it did not run at all.
  if ! grep -q '^Totals:' "$work/imaptest.out"; then
    echo "imaptest ($IMAPTEST) printed no totals:" >&2
    tail -n 20 "$work/imaptest.out" >&2
    exit 1
  fi
  sed -n '/^Totals:/,$p' "$work/imaptest.out"
  echo "imaptest errors: $(grep -c '^Error' "$work/imaptest.out" || true)"
  grep '^Error' "$work/imaptest.out" | head -5 || true
  # The last line of the totals counts each state's commands; the first
  # column is LOGIN.
  tail -1 "$work/imaptest.out" | awk -v s="$secs" -v c0="$c0" -v c1="$c1" -v h="$server $config imaptest-$profile $round" '
    { t = 0; c = c1 - c0; for (i = 1; i <= NF; i++) t += $i
      printf "%s phase=imaptest ops=%d ops_per_s=%.1f logins=%d logins_per_s=%.1f cpu_s=%.2f cpu_ms_per_op=%.3f cpu_ms_per_login=%.2f\n",
        h, t, t / s, $1, $1 / s, c, c * 1000 / t, c * 1000 / $1 }' | tee -a "$work/results"
}

# Every user's INBOX starts at MESSAGES messages (imaptest's msgs=, 30).
"$work/roost" bench imap --addr "127.0.0.1:$rport" --users "$users" --clients "$clients" --messages "$msgs" --seed-only
stop_roost
for c in $dconfigs; do
  start_dovecot "$c"
  "$work/roost" bench imap --addr "127.0.0.1:${dport[$c]}" --users "$users" --clients "$clients" --messages "$msgs" --seed-only
  stop_dovecot
  break # the configurations share the Maildirs
done

echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); Roost $(git describe --always --dirty 2>/dev/null || echo '?'), Dovecot $(dovecot --version | cut -d' ' -f1)"
echo "== $clients clients, $users users, $duration per run, $msgs messages per INBOX, profiles: $profiles, Dovecot: $dconfigs, Dovecot passwords: $scheme_note, $rounds rounds"
: > "$work/results"
# The servers take turns, each started afresh for each run, and the order
# reverses every other round, so that a drift in the machine's load
# affects all alike.
for r in $(seq "$rounds"); do
  for p in $profiles; do
    turns="roost $dconfigs"
    [ $((r % 2)) -eq 0 ] && turns=$(echo "$turns" | tr ' ' '\n' | tac | tr '\n' ' ')
    for t in $turns; do
      if [ "$t" = roost ]; then
        start_roost
        bench Roost embedded "$p" "$r" "$rport" "$roost_pid"
        [ -n "${IMAPTEST:-}" ] && imaptest Roost embedded "$p" "$r" "$rport" "$roost_pid"
        stop_roost
      else
        start_dovecot "$t"
        bench Dovecot "$t" "$p" "$r" "${dport[$t]}" "@$work/dovecot/run-$t/master.pid"
        [ -n "${IMAPTEST:-}" ] && imaptest Dovecot "$t" "$p" "$r" "${dport[$t]}" "@$work/dovecot/run-$t/master.pid"
        stop_dovecot
      fi
    done
  done
done

echo "== medians over $rounds rounds (cold: each user's first login after a server start; warm: the steady state)"
python3 - "$work/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    kv = dict(x.split("=", 1) for x in f[4:])
    rows.setdefault((f[0], f[1], f[2], kv["phase"]), []).append(kv)
def med(runs, k):
    v = [float(r[k]) for r in runs if k in r]
    return statistics.median(v) if v else float("nan")
print("| server | config | profile | phase | total ops/s | logins/s | server CPU ms per op | server CPU ms per login | runs |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for (s, c, p, ph), runs in rows.items():
    fmt = lambda v, d: "-" if v != v else "%.*f" % (d, v)
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %d |" % (s, c, p, ph, fmt(med(runs, "ops_per_s"), 1), fmt(med(runs, "logins_per_s"), 1),
          fmt(med(runs, "cpu_ms_per_op"), 3), fmt(med(runs, "cpu_ms_per_login"), 2), len(runs)))
PY
