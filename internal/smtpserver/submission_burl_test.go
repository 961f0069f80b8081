package smtpserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/mail/urlauth"
	"github.com/roost-mail/roost/internal/store"
)

// BURL (RFC 4468) with URLAUTH URLs (RFC 4467) resolved from the store.
func TestSubmissionBURL(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, nil)
	draft := "From: <alice@acme.test>\r\nTo: <bob@acme.test>\r\nSubject: forwarded without download\r\n\r\nthe draft body\r\n"
	drafts, err := mail.Inbox(subSys, e.db, "alice")
	if err != nil {
		t.Fatal(err)
	}
	it, err := e.db.AppendItem(subSys, drafts, store.NewItem{Content: strings.NewReader(draft)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.db.Principal(subSys, "alice")
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.db.UserStore(subSys, "alice")
	if err != nil {
		t.Fatal(err)
	}
	r := &urlauth.Resolver{Store: e.db}
	ctx := store.WithPrincipal(subSys, p)
	gen := func(rump string) string {
		u, err := r.Generate(ctx, urlauth.Access{Principal: p, StoreID: st.ID}, rump, "INTERNAL")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	base := fmt.Sprintf("imap://alice@submit.test/INBOX/;UID=%d", it.UID)
	submitURL := gen(base + ";URLAUTH=submit+alice")

	s := e.login("alice")
	if ehlo := s.cmd("EHLO client.test", "250 "); !strings.Contains(ehlo, "250-BURL imap") && !strings.Contains(ehlo, "250 BURL imap") {
		t.Fatalf("EHLO: %q", ehlo)
	}
	s.cmd("BURL "+submitURL+" LAST", "503 ")
	s.cmd("MAIL FROM:<alice@acme.test>", "250 ")
	s.cmd("RCPT TO:<bob@acme.test>", "250 ")
	s.cmd("BURL "+submitURL+" LAST", "250 2.0.0")
	in := e.messages("bob", store.SpecialInbox)
	if len(in) != 1 || !strings.Contains(in[0], "Subject: forwarded without download\r\n") || !strings.HasSuffix(in[0], "\r\n\r\nthe draft body\r\n") {
		t.Fatalf("bob: %q", in)
	}
	// A new header with BDAT, the draft's text by BURL; a plain URL of
	// the user's own mailbox (RFC 4468 §3.3, "BURL imap").
	s.cmd("MAIL FROM:<alice@acme.test>", "250 ")
	s.cmd("RCPT TO:<bob@acme.test>", "250 ")
	hdr := "From: <alice@acme.test>\r\nSubject: new header\r\n\r\n"
	fmt.Fprintf(s.c, "BDAT %d\r\n%s", len(hdr), hdr)
	s.expect("250 ")
	s.cmd("BURL "+base+"/;SECTION=TEXT LAST", "250 2.0.0")
	in = e.messages("bob", store.SpecialInbox)
	if len(in) != 2 || !strings.Contains(in[1], "Subject: new header\r\n") || strings.Contains(in[1], "forwarded") ||
		!strings.HasSuffix(in[1], "\r\n\r\nthe draft body\r\n") {
		t.Fatalf("bob: %q", in)
	}
	// Refused: a changed token, an IMAP-only access, no message, another
	// user's mailbox; each aborts the transaction.
	flipped := submitURL[:len(submitURL)-1] + "a"
	if strings.HasSuffix(submitURL, "a") {
		flipped = submitURL[:len(submitURL)-1] + "b"
	}
	for _, u := range []string{
		flipped,
		gen(base + ";URLAUTH=user+alice"),
		strings.Replace(submitURL, fmt.Sprintf("UID=%d", it.UID), "UID=99", 1),
		"imap://bob@submit.test/INBOX/;UID=1",
	} {
		s.cmd("MAIL FROM:<alice@acme.test>", "250 ")
		s.cmd("RCPT TO:<bob@acme.test>", "250 ")
		s.cmd("BURL "+u+" LAST", "554 5.6.6")
		s.cmd("RCPT TO:<bob@acme.test>", "503 ")
	}
	s.cmd("BURL", "501 ")
	if n := len(e.messages("bob", store.SpecialInbox)); n != 2 {
		t.Errorf("bob has %d messages", n)
	}
}
