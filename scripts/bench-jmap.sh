#!/usr/bin/env bash
# JMAP side by side with Cyrus IMAP's (Debian's cyrus-imapd and
# cyrus-caldav, JMAP and conversations enabled) on this machine. The same
# MESSAGES messages (conversations of four, distinct dates) are delivered
# over LMTP to one user of each, then, REQS times each, from one client:
#   - Email/query of the Inbox sorted by receivedAt descending with
#     collapseThreads, limit 50, and Email/get of those 50 (subject, from,
#     receivedAt, keywords, threadId) by back-reference, in one request;
#   - Email/changes from a state taken before 100 changes (one Email/set
#     setting $seen on 100 emails).
# Reported: p50 and p90 per request. Everything listens on 127.0.0.1 and
# is removed afterwards. Cyrus (cyrus-common: lmtpd; cyrus-caldav: httpd
# with JMAP) and its SASL tools are a bench dependency only, installed
# here when missing, not by scripts/test.sh. Not cyrus-imapd: it
# conflicts with dovecot-imapd (both provide imap-server), which the
# tests need; the user's INBOX is made at its first delivery.
#
#   scripts/bench-jmap.sh
#   MESSAGES=100000 REQS=50 WRITERS=4 scripts/bench-jmap.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
messages=${MESSAGES:-10000}; reqs=${REQS:-50}; writers=${WRITERS:-4}
if ! [ -x /usr/lib/cyrus/bin/httpd ] || ! [ -x /usr/lib/cyrus/bin/lmtpd ] || ! command -v saslpasswd2 >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends cyrus-common cyrus-caldav sasl2-bin >/dev/null
fi
work=$(mktemp -d /tmp/roost-bench-jmap.XXXXXX)
chmod 755 "$work"
go build -o "$work/roost" ./cmd/roost
roost_pid=""
cleanup() {
  [ -n "$roost_pid" ] && kill "$roost_pid" 2>/dev/null || true
  [ -f "$work/cyrus/master.pid" ] && kill "$(cat "$work/cyrus/master.pid")" 2>/dev/null || true
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Cyrus: a private configuration (every service gets -C: the children do
# not inherit master's), users in a private sasldb, the user's INBOX made
# at its first delivery (autocreate_post).
c="$work/cyrus"
mkdir -p "$c/conf/db" "$c/conf/socket" "$c/conf/proc" "$c/conf/log" "$c/conf/sieve" "$c/conf/lock" "$c/spool"
chp=$(free_port); clp=$(free_port)
cat > "$c/imapd.conf" <<CONF
configdirectory: $c/conf
partition-default: $c/spool
servername: $(hostname)
admins: cyrus
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $c/sasldb2
sasl_mech_list: PLAIN LOGIN
httpmodules: jmap
httpallowcompress: no
conversations: yes
conversations_db: twoskip
autocreate_quota: 0
autocreate_post: 1
lmtpsocket: $c/conf/socket/lmtp
idlesocket: $c/conf/socket/idle
notifysocket: $c/conf/socket/notify
mboxname_lockpath: $c/conf/lock
syslog_prefix: roost-bench-cyrus
CONF
cat > "$c/cyrus.conf" <<CONF
START {
  recover cmd="ctl_cyrusdb -r -C $c/imapd.conf"
}
SERVICES {
  http cmd="httpd -C $c/imapd.conf" listen="127.0.0.1:$chp" prefork=1
  lmtp cmd="lmtpd -a -C $c/imapd.conf" listen="127.0.0.1:$clp" prefork=1
}
EVENTS {
}
CONF
echo bench | saslpasswd2 -p -c -f "$c/sasldb2" bench0
chown -R cyrus:mail "$c"
/usr/lib/cyrus/bin/master -C "$c/imapd.conf" -M "$c/cyrus.conf" -p "$c/master.pid" > "$c/master.log" 2>&1 &
wait_port "$chp"; wait_port "$clp"

# Roost: HTTP and LMTP on loopback.
rhp=$(free_port); rlp=$(free_port)
cat > "$work/roost.toml" <<CONF
data_dir = "$work/roost-data"
http_listen = "127.0.0.1:$rhp"
lmtp_listen = "127.0.0.1:$rlp"
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
roost_pid=$!
wait_roost "$work/roost-data/admin.sock" "$work/roost.log" "$roost_pid"
"$work/roost" admin --config "$work/roost.toml" domain add bench.test >/dev/null
echo bench | "$work/roost" admin --config "$work/roost.toml" user create bench0 --email bench0@bench.test --name "Bench 0" --password-stdin >/dev/null

python3 - "$messages" "$reqs" "$writers" "127.0.0.1:$clp" "http://127.0.0.1:$chp" "127.0.0.1:$rlp" "http://127.0.0.1:$rhp" <<'PY'
import base64, json, smtplib, statistics, sys, threading, time, urllib.request
messages, reqs, writers = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
cyrus_lmtp, cyrus_http, roost_lmtp, roost_http = sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]

def message(i):
    conv, k = divmod(i, 4)
    t = time.gmtime(1780000000 + i * 60)
    date = time.strftime('%a, %d %b %Y %H:%M:%S +0000', t)
    mid = f'<m{i}@bench.test>'
    hdr = [f'From: Sender {conv % 97} <sender{conv % 97}@example.org>', 'To: bench0@bench.test',
           f'Subject: {"Re: " if k else ""}Topic {conv}', f'Date: {date}', f'Message-ID: {mid}']
    if k:
        hdr += [f'In-Reply-To: <m{i-1}@bench.test>', 'References: ' + ' '.join(f'<m{j}@bench.test>' for j in range(conv * 4, i))]
    body = f'Message {i} of conversation {conv}.\r\n' + 'The quick brown fox jumps over the lazy dog.\r\n' * 20
    return ('\r\n'.join(hdr) + '\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n' + body).encode()

def deliver(addr, rcpt):
    host, port = addr.rsplit(':', 1)
    nxt = iter(range(messages)); lock = threading.Lock(); errs = []
    def worker():
        s = smtplib.LMTP(host, int(port)); s.ehlo_or_helo_if_needed()
        while True:
            with lock:
                i = next(nxt, None)
            if i is None:
                break
            try:
                s.sendmail('sender@example.org', [rcpt], message(i))
            except Exception as e:
                errs.append(e); break
        s.quit()
    t0 = time.time()
    # The first delivery alone: it makes Cyrus's INBOX (autocreate_post).
    s = smtplib.LMTP(host, int(port)); s.sendmail('sender@example.org', [rcpt], message(next(nxt))); s.quit()
    ts = [threading.Thread(target=worker) for _ in range(writers)]
    [t.start() for t in ts]; [t.join() for t in ts]
    if errs:
        raise SystemExit(f'delivery to {addr}: {errs[0]}')
    return time.time() - t0

class Client:
    def __init__(self, base):
        self.base = base
        self.auth = 'Basic ' + base64.b64encode(b'bench0:bench').decode()
        s = self.get(base + '/.well-known/jmap')
        self.api = s['apiUrl'] if s['apiUrl'].startswith('http') else base + s['apiUrl']
        self.acct = s['primaryAccounts']['urn:ietf:params:jmap:mail']
    def get(self, url):
        r = urllib.request.Request(url, headers={'Authorization': self.auth})
        return json.load(urllib.request.urlopen(r))
    def call(self, calls):
        body = json.dumps({'using': ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'], 'methodCalls': calls}).encode()
        r = urllib.request.Request(self.api, data=body, headers={'Authorization': self.auth, 'Content-Type': 'application/json'})
        t0 = time.perf_counter()
        out = json.load(urllib.request.urlopen(r))['methodResponses']
        dt = time.perf_counter() - t0
        for name, args, _ in out:
            if name == 'error':
                raise SystemExit(f'{self.base}: {args}')
        return out, dt

def measure(name, base):
    c = Client(base)
    boxes, _ = c.call([['Mailbox/get', {'accountId': c.acct, 'properties': ['role', 'totalEmails']}, 'm']])
    inbox = [b for b in boxes[0][1]['list'] if b.get('role') == 'inbox'][0]
    q = [['Email/query', {'accountId': c.acct, 'filter': {'inMailbox': inbox['id']}, 'sort': [{'property': 'receivedAt', 'isAscending': False}],
                          'collapseThreads': True, 'limit': 50}, 'q'],
         ['Email/get', {'accountId': c.acct, '#ids': {'resultOf': 'q', 'name': 'Email/query', 'path': '/ids'},
                        'properties': ['subject', 'from', 'receivedAt', 'keywords', 'threadId']}, 'g']]
    c.call(q)  # warm
    qt = []
    for _ in range(reqs):
        out, dt = c.call(q); qt.append(dt)
    ids = out[0][1]['ids']; got = out[1][1]['list']
    # 100 changes: $seen on the newest 100 emails (not collapsed).
    more, _ = c.call([['Email/query', {'accountId': c.acct, 'filter': {'inMailbox': inbox['id']},
                                        'sort': [{'property': 'receivedAt', 'isAscending': False}], 'limit': 100}, 'q']])
    hundred = more[0][1]['ids']
    st, _ = c.call([['Email/get', {'accountId': c.acct, 'ids': [], 'properties': ['id']}, 's']])
    since = st[0][1]['state']
    c.call([['Email/set', {'accountId': c.acct, 'update': {i: {'keywords/$seen': True} for i in hundred}}, 'u']])
    ct = []
    for _ in range(reqs):
        out, dt = c.call([['Email/changes', {'accountId': c.acct, 'sinceState': since}, 'c']]); ct.append(dt)
    ch = out[0][1]
    return {'name': name, 'total': inbox.get('totalEmails'), 'ids': len(ids), 'got': len(got), 'subject': got[0]['subject'] if got else None,
            'updated': len(ch['updated']) + len(ch['created']), 'q': qt, 'c': ct}

print(f'delivering {messages} messages over LMTP, {writers} connections each')
print(f'  cyrus: {deliver(cyrus_lmtp, "bench0"):.1f} s')
print(f'  roost: {deliver(roost_lmtp, "bench0@bench.test"):.1f} s')
ms = lambda v: f'{v * 1000:.1f} ms'
pct = lambda v, p: sorted(v)[min(len(v) - 1, int(len(v) * p / 100))]
print(f'{"server":8} {"emails":>7} {"query+get p50":>14} {"p90":>9} {"changes p50":>12} {"p90":>9}  check')
for name, base in (('cyrus', cyrus_http), ('roost', roost_http)):
    r = measure(name, base)
    print(f'{name:8} {r["total"]!s:>7} {ms(statistics.median(r["q"])):>14} {ms(pct(r["q"], 90)):>9} '
          f'{ms(statistics.median(r["c"])):>12} {ms(pct(r["c"], 90)):>9}  '
          f'{r["ids"]} ids, {r["got"]} got, newest "{r["subject"]}", {r["updated"]} changed')
PY
