package imapserver_test

import (
	"context"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Python's imaplib, a real client, against the real server over TCP with
// STARTTLS and with implicit TLS.

// python returns the Python 3 interpreter, or skips the test.
func python(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		skipOrFail(t, "python3 is not installed")
	}
	return p
}

// caFile writes the test certificate as a PEM file for outside clients.
func caFile(t *testing.T) string {
	cert, _ := testCert(t)
	path := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const imaplibScript = `
import imaplib, ssl, sys, time

host, port, tls_port, user, pw, cafile = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=cafile)

def ok(res, what):
    typ, data = res
    if typ != 'OK':
        sys.exit('%s: %s %r' % (what, typ, data))
    return data

def connect(mode):
    if mode == 'starttls':
        m = imaplib.IMAP4(host, int(port), timeout=30)
        if 'LOGINDISABLED' not in m.capabilities:
            sys.exit('LOGINDISABLED not announced before STARTTLS')
        ok(m.starttls(ssl_context=ctx), 'STARTTLS')
    else:
        m = imaplib.IMAP4_SSL(host, int(tls_port), ssl_context=ctx, timeout=30)
    ok(m.login(user, pw), 'LOGIN')
    # imaplib keeps the capabilities of the greeting; ask again.
    m.capabilities = tuple(ok(m.capability(), 'CAPABILITY')[-1].decode().upper().split())
    return m

def message(subject):
    return ('From: py@example.test\r\nTo: alice@acme.test\r\nSubject: %s\r\n'
            'Message-ID: <%s@py>\r\n\r\nsent by imaplib\r\n' % (subject, subject.replace(' ', '.'))).encode()

for mode in ('starttls', 'implicit'):
    m = connect(mode)
    folder = 'Py-' + mode
    names = ok(m.list(), 'LIST')
    if not any(b'INBOX' in n for n in names):
        sys.exit('no INBOX in %r' % names)
    ok(m.create(folder), 'CREATE')
    ok(m.select('INBOX'), 'SELECT')

    subj = 'python %s' % mode
    ok(m.append('INBOX', r'(\Flagged)', imaplib.Time2Internaldate(time.time()), message(subj)), 'APPEND')
    nums = ok(m.search(None, 'SUBJECT', '"%s"' % subj), 'SEARCH')[0].split()
    if len(nums) != 1:
        sys.exit('SEARCH found %r' % nums)
    num = nums[0]
    data = ok(m.fetch(num, '(FLAGS BODY.PEEK[])'), 'FETCH')
    if b'sent by imaplib' not in data[0][1] or b'\\Flagged' not in data[0][0]:
        sys.exit('FETCH returned %r' % data)
    data = ok(m.store(num, '+FLAGS', r'(\Seen)'), 'STORE')
    if b'\\Seen' not in data[0]:
        sys.exit('STORE returned %r' % data)
    ok(m.copy(num, folder), 'COPY')
    uid = ok(m.uid('SEARCH', None, 'SUBJECT', '"%s"' % subj), 'UID SEARCH')[0].split()[0]
    ok(m._simple_command('UID', 'MOVE', uid.decode(), folder), 'UID MOVE')
    if ok(m.search(None, 'SUBJECT', '"%s"' % subj), 'SEARCH')[0].split():
        sys.exit('moved message still in INBOX')

    ok(m.append('INBOX', None, None, message('doomed ' + mode)), 'APPEND')
    num = ok(m.search(None, 'SUBJECT', '"doomed %s"' % mode), 'SEARCH')[0].split()[0]
    ok(m.store(num, '+FLAGS', r'(\Deleted)'), 'STORE')
    ok(m.expunge(), 'EXPUNGE')
    if ok(m.search(None, 'SUBJECT', '"doomed"'), 'SEARCH')[0].split():
        sys.exit('expunged message still there')

    if 'SORT' not in m.capabilities or 'THREAD=REFERENCES' not in m.capabilities:
        sys.exit('SORT/THREAD not announced: %r' % (m.capabilities,))
    ok(m.sort('(REVERSE ARRIVAL SUBJECT)', 'UTF-8', 'ALL'), 'SORT')
    ok(m.thread('REFERENCES', 'UTF-8', 'ALL'), 'THREAD')

    # IDLE (imaplib in Python 3.11 has no idle()): another connection
    # delivers, this one hears EXISTS.
    tag = m._new_tag()
    m.send(tag + b' IDLE\r\n')
    line = m.readline()
    if not line.startswith(b'+'):
        sys.exit('IDLE: %r' % line)
    other = connect(mode)
    ok(other.append('INBOX', None, None, message('idle ' + mode)), 'APPEND (other)')
    other.logout()
    while True:
        line = m.readline()
        if not line:
            sys.exit('connection closed while idling')
        if line.rstrip().endswith(b'EXISTS'):
            break
    m.send(b'DONE\r\n')
    while True:
        line = m.readline()
        if line.startswith(tag):
            if b' OK' not in line:
                sys.exit('IDLE completion: %r' % line)
            break

    typ, _ = m.logout()
    if typ != 'BYE':
        sys.exit('LOGOUT: %s' % typ)
print('imaplib ok')
`

func TestImaplib(t *testing.T) {
	t.Parallel()
	py := python(t)
	e := newEnv(t, plaintextOff)
	host, port := splitAddr(t, e.addr)
	_, tlsPort := splitAddr(t, e.tlsAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", imaplibScript, host, port, tlsPort, "alice", password("alice"), caFile(t))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "imaplib ok") {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}

	// What imaplib did is in the store, as another client sees it.
	c := e.dialTLS()
	c.ok("LOGIN alice %s", password("alice"))
	for _, mode := range []string{"starttls", "implicit"} {
		mustHave(t, c.ok("STATUS Py-%s (MESSAGES)", mode), "MESSAGES 2")
		c.ok("EXAMINE Py-%s", mode)
		lines := c.ok("FETCH 1:* (FLAGS)")
		if n := strings.Count(strings.Join(lines, "\n"), `\Seen`); n != 2 {
			t.Errorf("%s: %d messages \\Seen in %q", mode, n, lines)
		}
		mustHave(t, lines, `\Flagged`)
	}
	c.ok("EXAMINE INBOX")
	mustHave(t, c.ok("SEARCH SUBJECT idle"), "* SEARCH 1 2")
	mustNotHave(t, c.ok("SEARCH OR SUBJECT python SUBJECT doomed"), "* SEARCH 1")
}

func splitAddr(t *testing.T, addr string) (string, string) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		t.Fatalf("address %q", addr)
	}
	return addr[:i], addr[i+1:]
}
