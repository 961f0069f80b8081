package pop3server_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/pop3server"
	"github.com/roost-mail/roost/internal/store"
)

// AUTH OAUTHBEARER and XOAUTH2 (RFC 7628, RFC 5034 framing) with the
// directory's token verifier: offered in CAPA and AUTH's list only with a
// verifier, a good token logs in, a bad one gets the JSON error challenge
// before -ERR [AUTH], a failing verifier is [SYS/TEMP].
func TestAuthBearer(t *testing.T) {
	var tokens *directory.Authenticator
	e := start(t, true, func(o *pop3server.Options) {
		tokens = &directory.Authenticator{Store: o.Store.(store.Backend)}
		o.VerifyToken = func(ctx context.Context, tok, authzid string, remote net.Addr) (*store.Principal, error) {
			if tok == "broken-directory" {
				return nil, errors.New("database down")
			}
			return tokens.VerifyBearer(ctx, tok, authzid, "pop3", remote)
		}
	})
	e.add(t, "Subject: one\r\n\r\nbody\r\n")
	tok, _, err := tokens.CreateToken(e.alice, "alice", "mail", []string{"pop3"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := tokens.CreateToken(e.alice, "alice", "dav", []string{"dav"}, time.Time{})
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

	c := dial(t, e.addr)
	c.cmd("CAPA")
	if caps := c.multi(); !slices.Contains(caps, "SASL PLAIN OAUTHBEARER XOAUTH2") {
		t.Fatalf("CAPA %q", caps)
	}
	c.cmd("AUTH")
	if mechs := c.multi(); !slices.Equal(mechs, []string{"PLAIN", "OAUTHBEARER", "XOAUTH2"}) {
		t.Fatalf("AUTH lists %q", mechs)
	}
	// Initial response on the AUTH line.
	if l := c.cmd("AUTH OAUTHBEARER " + b64("n,a=alice,\x01auth=Bearer "+tok+"\x01\x01")); !strings.HasPrefix(l, "+OK maildrop has 1") {
		t.Fatalf("OAUTHBEARER: %q", l)
	}
	// XOAUTH2 with the response on its own line.
	c = dial(t, e.addr)
	if l := c.cmd("AUTH XOAUTH2"); l != "+ " {
		t.Fatalf("continuation %q", l)
	}
	if l := c.cmd(b64("user=alice\x01auth=Bearer " + tok + "\x01\x01")); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("XOAUTH2: %q", l)
	}
	// Out of scope, and another user as authzid: the error challenge,
	// answered with %x01, then -ERR [AUTH].
	for _, msg := range []string{"n,,\x01auth=Bearer " + other + "\x01\x01", "n,a=nopop,\x01auth=Bearer " + tok + "\x01\x01"} {
		c = dial(t, e.addr)
		l := c.cmd("AUTH OAUTHBEARER " + b64(msg))
		ch, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(l, "+ "))
		if !strings.HasPrefix(l, "+ ") || err != nil || !strings.Contains(string(ch), `"status":"invalid_token"`) {
			t.Fatalf("error challenge %q", l)
		}
		if l := c.cmd("AQ=="); l != "-ERR [AUTH] authentication failed" {
			t.Fatalf("after the challenge: %q", l)
		}
	}
	// Malformed and failing.
	c = dial(t, e.addr)
	if l := c.cmd("AUTH OAUTHBEARER " + b64("no gs2 header")); !strings.HasPrefix(l, "-ERR") {
		t.Fatalf("malformed: %q", l)
	}
	if l := c.cmd("AUTH OAUTHBEARER " + b64("n,,\x01auth=Bearer broken-directory\x01\x01")); !strings.HasPrefix(l, "-ERR [SYS/TEMP]") {
		t.Fatalf("verifier failing: %q", l)
	}
	// Without a verifier the mechanisms are not there.
	e2 := start(t, true)
	c = dial(t, e2.addr)
	c.cmd("CAPA")
	if caps := c.multi(); !slices.Contains(caps, "SASL PLAIN") {
		t.Fatalf("CAPA without verifier %q", caps)
	}
	if l := c.cmd("AUTH OAUTHBEARER " + b64("n,,\x01auth=Bearer "+tok+"\x01\x01")); l != "-ERR unsupported SASL mechanism" {
		t.Fatalf("without verifier: %q", l)
	}
}
