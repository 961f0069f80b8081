package queue_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/roost-mail/roost/internal/postfixtest"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
)

// TestPostfixRelay sends through a real Postfix as the relay: STARTTLS
// with certificate verification, pipelining, DSN parameters passed on,
// a per-recipient 5xx turned into our DSN, and a DKIM signature that
// still verifies after Postfix relayed the message to its next hop.
func TestPostfixRelay(t *testing.T) {
	t.Parallel()
	next := newSink(t, nil) // Postfix's relayhost
	cert, _ := testCert()
	pf := postfixtest.Start(t, postfixtest.Config{Hostname: "relay.test", Relayhost: next.addr, Cert: &cert,
		Extra: "smtpd_recipient_restrictions = check_recipient_access inline:{ gone@remote.test=REJECT }, permit_mynetworks, reject"}).Addr
	e := newEnv(t, func(o *queue.Options) {
		o.Relay = &queue.Relay{Addr: pf, TLS: "starttls"}
		o.TLS = clientTLS()
	})
	rec, err := queue.GenerateDKIMKey(sys, e.db, "acme.test", "pf")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.submit("alice", "alice@acme.test", []string{"x@remote.test", "gone@remote.test"}, msg("alice@acme.test", "x@remote.test", "via postfix"),
		func(s *queue.Submission) { s.EnvID = "PF1"; s.Recipients[0].Notify = "FAILURE" })
	if err != nil {
		t.Fatal(err)
	}
	e.runDue()
	e.runDue() // our DSN for gone@remote.test, delivered locally
	if n := e.queueLen(); n != 0 {
		ms, _ := e.db.ListQueue(sys)
		t.Fatalf("queue has %d: %+v", n, ms[0])
	}
	all := e.folder("alice", store.SpecialInbox)
	if len(all) != 1 || !strings.Contains(all[0], "Final-Recipient: rfc822; gone@remote.test") || !strings.Contains(all[0], "Diagnostic-Code: smtp; 554 5.7.1 <gone@remote.test>: Recipient address rejected") {
		t.Fatalf("DSN: %q", all)
	}
	// Postfix relays to its next hop.
	deadline := time.Now().Add(60 * time.Second)
	for len(next.transactions()) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	tx := next.transactions()
	if len(tx) != 1 {
		t.Fatalf("next hop got %d transactions", len(tx))
	}
	if tx[0].From != "alice@acme.test" || strings.Join(tx[0].Rcpts, ",") != "x@remote.test" || !strings.Contains(tx[0].MailArgs, "ENVID=PF1") {
		t.Fatalf("relayed envelope %+v", tx[0])
	}
	if !strings.Contains(tx[0].Data, "by relay.test") || !strings.Contains(tx[0].Data, "ESMTPS") {
		t.Errorf("no Received line showing TLS from Postfix:\n%s", tx[0].Data)
	}
	lookup := func(name string) ([]string, error) {
		if name == queue.DKIMRecordName("acme.test", "pf") {
			return []string{rec}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	vs, err := dkim.VerifyWithOptions(strings.NewReader(tx[0].Data), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil || len(vs) != 1 || vs[0].Err != nil {
		t.Fatalf("DKIM after Postfix: %v %+v", err, vs)
	}
}
