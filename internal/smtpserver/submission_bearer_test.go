package smtpserver_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/smtpserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// AUTH OAUTHBEARER and XOAUTH2 on submission (RFC 7628 §3.2.3 framing):
// offered in EHLO only after STARTTLS and only with a verifier; a good
// token logs in and sends; a refused one gets the 334 JSON error
// challenge, then 535; a failing verifier is 454.
func TestSubmissionBearer(t *testing.T) {
	tokens := &directory.Authenticator{}
	e := startSubmission(t, func(o *smtpserver.SubmissionOptions, _ *queue.Options) {
		o.VerifyToken = func(ctx context.Context, tok, authzid string, remote net.Addr) (*store.Principal, error) {
			if tok == "broken-directory" {
				return nil, errors.New("database down")
			}
			return tokens.VerifyBearer(ctx, tok, authzid, "smtp", remote)
		}
	})
	tokens.Store = e.db
	tok, _, err := tokens.CreateToken(testenv.As(t, e.db, "alice"), "alice", "mail", []string{"smtp"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	imapOnly, _, _ := tokens.CreateToken(testenv.As(t, e.db, "alice"), "alice", "imap", []string{"imap"}, time.Time{})
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tlsSession := func() *sc {
		s := subDial(t, e.addr, false)
		if ehlo := s.cmd("EHLO client.test", "250 "); strings.Contains(ehlo, "OAUTHBEARER") {
			t.Fatalf("bearer offered before TLS: %s", ehlo)
		}
		s.startTLS()
		if ehlo := s.cmd("EHLO client.test", "250 "); !strings.Contains(ehlo, "AUTH PLAIN LOGIN OAUTHBEARER XOAUTH2") {
			t.Fatalf("EHLO after TLS: %s", ehlo)
		}
		return s
	}
	s := tlsSession()
	s.cmd("AUTH OAUTHBEARER "+b64("n,a=alice@acme.test,\x01auth=Bearer "+tok+"\x01\x01"), "235 2.7.0")
	s.cmd("MAIL FROM:<alice@acme.test>", "250 ")
	s.cmd("RCPT TO:<bob@acme.test>", "250 ")
	s.cmd("DATA", "354 ")
	s.cmd("From: alice@acme.test\r\nTo: bob@acme.test\r\nSubject: by token\r\n\r\nhi\r\n.", "250 ")

	s = tlsSession()
	s.cmd("AUTH XOAUTH2", "334 ")
	s.cmd(b64("user=alice\x01auth=Bearer "+tok+"\x01\x01"), "235 2.7.0")

	for _, msg := range []string{"n,,\x01auth=Bearer " + imapOnly + "\x01\x01", "n,a=bob,\x01auth=Bearer " + tok + "\x01\x01"} {
		s = tlsSession()
		ch := s.cmd("AUTH OAUTHBEARER "+b64(msg), "334 ")
		if js, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(ch, "334 ")); !strings.Contains(string(js), `"status":"invalid_token"`) {
			t.Fatalf("error challenge %q", ch)
		}
		s.cmd("AQ==", "535 5.7.8")
	}
	s = tlsSession()
	s.cmd("AUTH OAUTHBEARER "+b64("garbage"), "501 ")
	s.cmd("AUTH OAUTHBEARER "+b64("n,,\x01auth=Bearer broken-directory\x01\x01"), "454 4.7.0")
}
