package imapserver_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// The extensions of ext_test.go through Python's imaplib, a real client,
// with raw commands (imaplib knows none of them by name).
const imaplibExtScript = `
import imaplib, re, sys, time

host, port, user, pw = sys.argv[1:5]
imaplib.Commands.update({'REPLACE': ('SELECTED',)})
m = imaplib.IMAP4(host, int(port), timeout=30)
typ, _ = m.login(user, pw)
caps = m.capability()[1][-1].decode().upper().split()
for c in ('OBJECTID', 'SAVEDATE', 'PREVIEW', 'LIST-MYRIGHTS', 'REPLACE'):
    if c not in caps:
        sys.exit('%s not announced: %r' % (c, caps))

def ok(res, what):
    typ, data = res
    if typ != 'OK':
        sys.exit('%s: %s %r' % (what, typ, data))
    return data

ok(m.create('PyExt'), 'CREATE')
st = ok(m.status('PyExt', '(MAILBOXID)'), 'STATUS')
mbid = re.search(rb'MAILBOXID \(([A-Za-z0-9_-]+)\)', st[0])
if not mbid:
    sys.exit('STATUS MAILBOXID: %r' % st)
ok(m.rename('PyExt', 'PyExt2'), 'RENAME')
st = ok(m.status('PyExt2', '(MAILBOXID)'), 'STATUS')
if mbid.group(1) not in st[0]:
    sys.exit('MAILBOXID changed by RENAME: %r' % st)

msg = b'From: py@example.test\r\nSubject: preview\r\n\r\nPreview me, please.\r\n'
ok(m.append('INBOX', None, None, msg), 'APPEND')
ok(m.select('INBOX'), 'SELECT')
data = ok(m.fetch('1', '(EMAILID SAVEDATE PREVIEW)'), 'FETCH')
line = data[0] if isinstance(data[0], bytes) else data[0][0]
eid = re.search(rb'EMAILID \(([A-Za-z0-9_-]+)\)', line)
if not eid or b'SAVEDATE "' not in line or b'PREVIEW "Preview me, please."' not in line:
    sys.exit('FETCH: %r' % data)
if ok(m.search(None, 'EMAILID', eid.group(1).decode()), 'SEARCH')[0] != b'1':
    sys.exit('SEARCH EMAILID')
if ok(m.search(None, 'SAVEDSINCE', '1-Jan-2020'), 'SEARCH')[0] != b'1':
    sys.exit('SEARCH SAVEDSINCE')

typ, data = m._simple_command('LIST', '""', '"*"', 'RETURN', '(MYRIGHTS)')
rights = m._untagged_response(typ, data, 'MYRIGHTS')[1]
if not any(r.startswith(b'INBOX ') for r in rights):
    sys.exit('LIST RETURN (MYRIGHTS): %r' % rights)

m.literal = b'Subject: replaced\r\n\r\nnew text\r\n'
ok(m._simple_command('UID', 'REPLACE', '1', 'PyExt2'), 'UID REPLACE')
if ok(m.search(None, 'ALL'), 'SEARCH')[0].split():
    sys.exit('replaced message still in INBOX')
ok(m.select('PyExt2'), 'SELECT')
data = ok(m.fetch('1', '(BODY.PEEK[TEXT])'), 'FETCH')
if b'new text' not in data[0][1]:
    sys.exit('replacement: %r' % data)
m.logout()
print('imaplib ext ok')
`

func TestImaplibExtensions(t *testing.T) {
	t.Parallel()
	py := python(t)
	e := newEnv(t)
	host, port := splitAddr(t, e.addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", imaplibExtScript, host, port, "alice", password("alice")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "imaplib ext ok") {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
	if n := e.folder("alice", store.SpecialInbox).Messages; n != 0 {
		t.Fatalf("INBOX has %d messages after REPLACE", n)
	}
}
