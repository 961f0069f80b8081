package imapserver_test

import (
	"context"
	"encoding/base64"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/store"
)

// bearerEnv is a server whose token verifier knows one token, alice's.
func bearerEnv(t *testing.T) *env {
	return newEnv(t, func(o *imapserver.Options) {
		st := o.Store
		o.VerifyToken = func(ctx context.Context, token, authzid string, remote net.Addr) (*store.Principal, error) {
			if token != "tok-alice" || authzid != "" && authzid != "alice" {
				return nil, directory.ErrBadCredentials
			}
			return st.Principal(store.SystemContext(ctx), "alice")
		}
	})
}

// OAUTHBEARER (RFC 7628) and XOAUTH2 through the token verifier: offered
// only with one, a good token logs in, a bad one gets the JSON error
// challenge and then NO.
func TestAuthenticateBearer(t *testing.T) {
	t.Parallel()
	mustNotHave(t, newEnv(t).dial().ok("CAPABILITY"), "AUTH=OAUTHBEARER")
	e := bearerEnv(t)
	c := e.dial()
	mustHave(t, c.ok("CAPABILITY"), "AUTH=OAUTHBEARER", "AUTH=XOAUTH2")
	b64 := base64.StdEncoding.EncodeToString
	good := b64([]byte("n,a=alice,\x01host=imap.test\x01port=143\x01auth=Bearer tok-alice\x01\x01"))
	c.ok("AUTHENTICATE OAUTHBEARER %s", good)
	c.ok("SELECT INBOX")

	// A bad token: the error challenge, the client's %x01, then NO.
	c = e.dial()
	c.send("b1 AUTHENTICATE OAUTHBEARER " + b64([]byte("n,,\x01auth=Bearer tok-mallory\x01\x01")) + "\r\n")
	l := c.line()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(l, "+ "))
	if !strings.HasPrefix(l, "+ ") || err != nil || !strings.Contains(string(raw), `"status":"invalid_token"`) {
		t.Fatalf("error challenge: %q (%s)", l, raw)
	}
	c.send(b64([]byte{1}) + "\r\n")
	if _, st := c.until("b1"); !strings.HasPrefix(st, "NO [AUTHENTICATIONFAILED]") {
		t.Errorf("bad token: %q", st)
	}
	// A token for someone else than the named user.
	c.send("b2 AUTHENTICATE OAUTHBEARER " + b64([]byte("n,a=bob,\x01auth=Bearer tok-alice\x01\x01")) + "\r\n")
	c.line()
	c.send("*\r\n") // cancelling the error challenge ends it too
	if _, st := c.until("b2"); !strings.HasPrefix(st, "NO") && !strings.HasPrefix(st, "BAD") {
		t.Errorf("token of another user: %q", st)
	}
	// XOAUTH2, with the response after a continuation.
	c.send("b3 AUTHENTICATE XOAUTH2\r\n")
	if l := c.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("continuation: %q", l)
	}
	c.send(b64([]byte("user=alice\x01auth=Bearer tok-alice\x01\x01")) + "\r\n")
	if _, st := c.until("b3"); !strings.HasPrefix(st, "OK") {
		t.Errorf("XOAUTH2: %q", st)
	}
	// Malformed messages are BAD.
	d := e.dial()
	if _, st := d.cmd("AUTHENTICATE OAUTHBEARER %s", b64([]byte("n,,\x01auth=Basic x\x01\x01"))); !strings.HasPrefix(st, "BAD") {
		t.Errorf("malformed: %q", st)
	}
}

// Python's imaplib authenticates with OAUTHBEARER as a real client does.
func TestImaplibOAuthBearer(t *testing.T) {
	t.Parallel()
	py := python(t)
	e := bearerEnv(t)
	host, port := splitAddr(t, e.addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	script := `
import imaplib, sys
m = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))
m.authenticate('OAUTHBEARER', lambda _: b'n,a=alice,\x01auth=Bearer tok-alice\x01\x01')
typ, data = m.select('INBOX')
assert typ == 'OK', (typ, data)
m.logout()
m = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))
try:
    m.authenticate('XOAUTH2', lambda _: b'user=alice\x01auth=Bearer wrong\x01\x01')
    print('accepted a wrong token')
except imaplib.IMAP4.error:
    print('bearer ok')
`
	out, err := exec.CommandContext(ctx, py, "-c", script, host, port).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "bearer ok") {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
}
