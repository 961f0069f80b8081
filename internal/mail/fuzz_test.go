package mail_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
)

// FuzzPipeline feeds arbitrary messages through the whole pipeline (spam
// header test, a Sieve script reading headers, addresses and the body,
// out-of-office with its header rules): it must not panic, and a message
// is always either stored or refused by the script.
func FuzzPipeline(f *testing.F) {
	for _, s := range []string{oofBase, msgList, msgIETF, msgDirect,
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n\n<p>missile</p>\n--b--\n",
		"Subject: =?utf-8?B?w6TDtsO8?=\nAuto-Submitted: no\nTo: alice@acme.test\n\nx",
		"Return-Path: <\"a b\"@x>\nTo: ,,,@@\nFrom: <>\n\n", ""} {
		f.Add([]byte(strings.ReplaceAll(s, "\n", "\r\n")), "carl@example.org")
	}
	e := newEnv(f)
	e.d.Spam.Headers = mail.DefaultSpamHeaders
	e.sieve("alice", `require ["fileinto", "mailbox", "body", "variables", "envelope", "imap4flags", "vacation", "relational", "comparator-i;ascii-numeric"];
if body :text :contains "missile" { addflag "\\Flagged"; }
if header :matches "Subject" "*" { set "s" "${1}"; }
if address :domain :is "From" "example.org" { addflag "${s}"; fileinto :create "From/example"; }
if header :count "gt" :comparator "i;ascii-numeric" "Received" "3" { discard; stop; }
vacation :handle "h" "away";
keep;`)
	if err := mail.SetOOF(e.as("alice"), e.db, "alice", mail.OOF{Enabled: true, Message: "away"}); err != nil {
		f.Fatal(err)
	}
	alice := e.user("alice")
	f.Fuzz(func(t *testing.T, msg []byte, from string) {
		if len(msg) > 64<<10 {
			return
		}
		res := e.d.DeliverMessage(context.Background(), from, []mail.Recipient{{Addr: "alice@acme.test", Users: []*store.User{alice}}},
			func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(msg))), nil })
		if len(res) != 1 {
			t.Fatalf("%d results", len(res))
		}
		if res[0].Err != nil {
			t.Fatalf("delivery failed: %v", res[0].Err)
		}
	})
}
