package sieveserver_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/sieveserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// AUTHENTICATE "OAUTHBEARER" and "XOAUTH2" (RFC 5804 §2.1 with RFC 7628):
// listed in SASL after STARTTLS with a verifier; a good token logs in; a
// refused one gets the error challenge, then NO; a failing verifier is
// NO (TRYLATER).
func TestAuthenticateBearer(t *testing.T) {
	tokens := &directory.Authenticator{}
	e := newEnv(t, func(o *sieveserver.Options) {
		o.VerifyToken = func(ctx context.Context, tok, authzid string, remote net.Addr) (*store.Principal, error) {
			if tok == "broken-directory" {
				return nil, errors.New("database down")
			}
			return tokens.VerifyBearer(ctx, tok, authzid, "sieve", remote)
		}
	})
	tokens.Store = e.db
	alice := testenv.As(t, e.db, "alice")
	tok, _, err := tokens.CreateToken(alice, "alice", "sieve", []string{"sieve"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	davOnly, _, _ := tokens.CreateToken(alice, "alice", "dav", []string{"dav"}, time.Time{})
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

	c := e.dial()
	c.startTLS()
	c.send("CAPABILITY")
	caps, _ := c.untilDone()
	if !strings.Contains(strings.Join(caps, "\n"), `"SASL" "PLAIN LOGIN OAUTHBEARER XOAUTH2"`) {
		t.Fatalf("capabilities %q", caps)
	}
	c.cmd(fmt.Sprintf(`AUTHENTICATE "OAUTHBEARER" %q`, b64("n,a=alice,\x01auth=Bearer "+tok+"\x01\x01")), "OK")
	c.cmd("LISTSCRIPTS", "OK")

	c = e.dial()
	c.startTLS()
	c.send(`AUTHENTICATE "XOAUTH2"`)
	if l := c.line(); l != `""` {
		t.Fatalf("continuation %q", l)
	}
	c.cmd(fmt.Sprintf("%q", b64("user=alice\x01auth=Bearer "+tok+"\x01\x01")), "OK")

	for _, msg := range []string{"n,,\x01auth=Bearer " + davOnly + "\x01\x01", "n,a=bob,\x01auth=Bearer " + tok + "\x01\x01"} {
		c = e.dial()
		c.startTLS()
		c.send(fmt.Sprintf(`AUTHENTICATE "OAUTHBEARER" %q`, b64(msg)))
		l := c.line()
		js, err := base64.StdEncoding.DecodeString(strings.Trim(l, `"`))
		if err != nil || !strings.Contains(string(js), `"status":"invalid_token"`) {
			t.Fatalf("error challenge %q", l)
		}
		c.cmd(`"AQ=="`, "NO")
	}
	c = e.dial()
	c.startTLS()
	c.cmd(fmt.Sprintf(`AUTHENTICATE "OAUTHBEARER" %q`, b64("n,,\x01auth=Bearer broken-directory\x01\x01")), "NO (TRYLATER)")
}
