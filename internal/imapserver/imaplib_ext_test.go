package imapserver_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// Python's imaplib with raw commands for the extensions it has no method
// for: PARTIAL (RFC 9394), CONTEXT=SEARCH (RFC 5267), UIDONLY (RFC
// 9586), NOTIFY (RFC 5465) and URLAUTH (RFC 4467).
const imaplibPartialNotifyScript = `
import imaplib, sys

host, port, user, pw = sys.argv[1:5]

def ok(res, what):
    typ, data = res
    if typ != 'OK':
        sys.exit('%s: %s %r' % (what, typ, data))
    return data

def esearch(m, what, *args):
    typ, data = m._simple_command(*args)
    if typ != 'OK':
        sys.exit('%s: %s %r' % (what, typ, data))
    return m._untagged_response(typ, data, 'ESEARCH')[1]

imaplib.Commands['CANCELUPDATE'] = ('SELECTED',)
m = imaplib.IMAP4(host, int(port), timeout=30)
ok(m.login(user, pw), 'LOGIN')
caps = ok(m.capability(), 'CAPABILITY')[-1].decode().upper().split()
for c in ('PARTIAL', 'CONTEXT=SEARCH', 'CONTEXT=SORT'):
    if c not in caps:
        sys.exit('%s not announced: %r' % (c, caps))
ok(m.select('INBOX'), 'SELECT')

data = esearch(m, 'PARTIAL', 'UID', 'SEARCH', 'RETURN', '(PARTIAL -1:-3)', 'ALL')
if not data or not data[-1].endswith(b'PARTIAL (-1:-3 3:5)'):
    sys.exit('UID SEARCH PARTIAL: %r' % data)
data = esearch(m, 'ESORT PARTIAL', 'UID', 'SORT', 'RETURN', '(PARTIAL 1:2)', '(REVERSE ARRIVAL)', 'UTF-8', 'ALL')
if not data or not data[-1].endswith(b'PARTIAL (1:2 5,4)'):
    sys.exit('UID SORT PARTIAL: %r' % data)
typ, data = m.uid('FETCH', '1:*', '(UID) (PARTIAL -1:-2)')
if typ != 'OK' or len(data) != 2:
    sys.exit('UID FETCH PARTIAL: %s %r' % (typ, data))

# CONTEXT=SEARCH: the updates come with the next command's answer.
tag = m._new_tag().decode()
m.send(('%s UID SEARCH RETURN (UPDATE) UNSEEN\r\n' % tag).encode())
while True:
    line = m.readline()
    if line.startswith(tag.encode()):
        break
m.store('1', '+FLAGS', r'(\Seen)')
upd = m.untagged_responses.pop('ESEARCH', [])
if not any(('(TAG "%s") UID REMOVEFROM (0 1)' % tag).encode() in u for u in upd):
    sys.exit('no REMOVEFROM after STORE: %r' % upd)
ok(m._simple_command('CANCELUPDATE', '"%s"' % tag), 'CANCELUPDATE')
m.store('2', '+FLAGS', r'(\Seen)')
if m.untagged_responses.pop('ESEARCH', []):
    sys.exit('update after CANCELUPDATE')
m.logout()

# UIDONLY: imaplib files "* 3 UIDFETCH (...)" under UIDFETCH.
m = imaplib.IMAP4(host, int(port), timeout=30)
ok(m.login(user, pw), 'LOGIN')
if b'UIDONLY' not in b' '.join(ok(m._simple_command('ENABLE', 'UIDONLY'), 'ENABLE') or [b'']) and \
        b'UIDONLY' not in b' '.join(m.untagged_responses.pop('ENABLED', [b''])):
    sys.exit('UIDONLY not enabled')
ok(m.select('INBOX'), 'SELECT')
try:
    m.fetch('1', '(FLAGS)')
    sys.exit('FETCH by number accepted after UIDONLY')
except imaplib.IMAP4.error as e:
    if 'UIDREQUIRED' not in str(e):
        sys.exit('FETCH by number after UIDONLY: %s' % e)
ok(m._simple_command('UID', 'FETCH', '4:5', '(FLAGS)'), 'UID FETCH')
got = m.untagged_responses.pop('UIDFETCH', [])
if got != [b'4 (FLAGS ())', b'5 (FLAGS ())']:
    sys.exit('UIDFETCH: %r' % got)
m.logout()

# URLAUTH: GENURLAUTH, then URLFETCH of the URL it made.
for c in ('GENURLAUTH', 'URLFETCH', 'RESETKEY', 'NOTIFY'):
    imaplib.Commands[c] = ('AUTH', 'SELECTED')
m = imaplib.IMAP4(host, int(port), timeout=30)
ok(m.login(user, pw), 'LOGIN')
rump = 'imap://%s@localhost/INBOX/;UID=1;URLAUTH=user+%s' % (user, user)
typ, data = m._simple_command('GENURLAUTH', '"%s"' % rump, 'INTERNAL')
gen = m._untagged_response(typ, data, 'GENURLAUTH')[1]
if typ != 'OK' or not gen or not gen[-1].startswith(b'"' + rump.encode() + b':internal:'):
    sys.exit('GENURLAUTH: %s %r' % (typ, gen))
url = gen[-1].strip(b'"').decode()
typ, data = m._simple_command('URLFETCH', '"%s"' % url)
got = m._untagged_response(typ, data, 'URLFETCH')[1]
if typ != 'OK' or not got or not isinstance(got[0], tuple) or b'Subject: message 1' not in got[0][1]:
    sys.exit('URLFETCH: %s %r' % (typ, got))

# NOTIFY: another connection appends, this one hears it with no command.
ok(m.select('INBOX'), 'SELECT')
ok(m._simple_command('NOTIFY', 'SET', '(selected (MessageNew MessageExpunge))'), 'NOTIFY')
other = imaplib.IMAP4(host, int(port), timeout=30)
ok(other.login(user, pw), 'LOGIN (other)')
ok(other.append('INBOX', None, None, b'Subject: notified\r\n\r\nhi\r\n'), 'APPEND (other)')
other.logout()
while True:
    line = m.readline()
    if not line:
        sys.exit('connection closed waiting for NOTIFY')
    if line.rstrip().endswith(b'EXISTS'):
        break
m.logout()
print('imaplib ext ok')
`

func TestImaplibPartialNotifyURLAuth(t *testing.T) {
	t.Parallel()
	py := python(t)
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := 1; i <= 5; i++ {
		e.deliver(inbox.ID, testMsg(i))
	}
	host, port := splitAddr(t, e.addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", imaplibPartialNotifyScript, host, port, "alice", password("alice")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "imaplib ext ok") {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
}
