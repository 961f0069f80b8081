package queue_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
)

func TestSenderPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, c := range []struct {
		name, login, from, hdrFrom string
		code                       int // 0 = accepted
	}{
		{"own", "alice", "alice@acme.test", "alice@acme.test", 0},
		{"alias", "alice", "al@acme.test", "al@acme.test", 0},
		{"case", "alice", "Alice@ACME.test", "alice@acme.test", 0},
		{"send-as granted", "alice", "carol@acme.test", "carol@acme.test", 0},
		{"send-as not granted", "bob", "carol@acme.test", "carol@acme.test", 553},
		{"other user", "alice", "bob@acme.test", "bob@acme.test", 553},
		{"foreign envelope", "alice", "x@elsewhere.test", "alice@acme.test", 553},
		{"foreign From header", "alice", "alice@acme.test", "boss@elsewhere.test", 553},
		{"From header of another user", "bob", "bob@acme.test", "alice@acme.test", 553},
	} {
		_, err := e.submit(c.login, c.from, []string{"bob@acme.test"}, msg(c.hdrFrom, "bob@acme.test", c.name))
		switch {
		case c.code == 0 && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.code != 0 && !isQueueErr(err, c.code):
			t.Errorf("%s: got %v, want %d", c.name, err, c.code)
		}
	}
	for _, c := range []struct {
		login, from string
		ok          bool
	}{{"alice", "al@acme.test", true}, {"alice", "carol@acme.test", true}, {"alice", "bob@acme.test", false},
		{"bob", "carol@acme.test", false}, {"bob", "x@elsewhere.test", false}} {
		err := e.q.CheckSender(userCtx(t, e.db, c.login), c.from)
		if c.ok && err != nil || !c.ok && !isQueueErr(err, 553) {
			t.Errorf("CheckSender(%s, %s) = %v", c.login, c.from, err)
		}
	}
	if err := e.q.CheckSender(userCtx(t, e.db, "alice"), ""); !isQueueErr(err, 553) {
		t.Errorf("null sender: %v", err)
	}
}

func TestSendAsAndOnBehalf(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	// Send-as: no Sender header, none added.
	if _, err := e.submit("alice", "carol@acme.test", []string{"bob@acme.test"}, msg("carol@acme.test", "bob@acme.test", "as carol")); err != nil {
		t.Fatal(err)
	}
	// On behalf: the client's Sender header becomes alice's own address.
	m := "Sender: <whoever@acme.test>\r\n" + msg("carol@acme.test", "bob@acme.test", "for carol")
	if _, err := e.submit("alice", "alice@acme.test", []string{"bob@acme.test"}, m); err != nil {
		t.Fatal(err)
	}
	inbox := e.folder("bob", store.SpecialInbox)
	if len(inbox) != 2 {
		t.Fatalf("bob has %d messages", len(inbox))
	}
	for _, got := range inbox {
		root, _ := mime.Parse([]byte(got), mime.Limits{})
		switch subj := root.Header.Get("Subject"); subj {
		case "as carol":
			if root.Header.Has("Sender") {
				t.Errorf("send-as got a Sender header:\n%s", got)
			}
		case "for carol":
			if s := root.Header.Values("Sender"); len(s) != 1 || s[0] != "<alice@acme.test>" {
				t.Errorf("on-behalf Sender = %q", s)
			}
		default:
			t.Errorf("unexpected subject %q", subj)
		}
	}
	// A Sender header naming someone else is refused when From is one's own.
	m = "Sender: <bob@acme.test>\r\n" + msg("alice@acme.test", "bob@acme.test", "fake")
	if _, err := e.submit("alice", "alice@acme.test", []string{"bob@acme.test"}, m); !isQueueErr(err, 553) {
		t.Fatalf("foreign Sender: %v", err)
	}
}

func TestSoftQuotaRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, err := e.submit("dave", "dave@acme.test", []string{"bob@acme.test"}, msg("dave@acme.test", "bob@acme.test", "hi"))
	if !isQueueErr(err, 552) || !strings.Contains(err.Error(), "over its limit") {
		t.Fatalf("got %v", err)
	}
	if n := len(e.folder("bob", store.SpecialInbox)); n != 0 {
		t.Fatalf("bob got %d messages", n)
	}
}

func TestSizeLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *queue.Options) { o.MaxMessageBytes = 1000 })
	_, err := e.submit("alice", "alice@acme.test", []string{"bob@acme.test"}, msg("alice@acme.test", "bob@acme.test", strings.Repeat("x", 20<<10)))
	if !isQueueErr(err, 552) {
		t.Fatalf("got %v", err)
	}
}

func TestLocalDeliveryAndSentCopy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	res, err := e.submit("alice", "alice@acme.test", []string{"bob@acme.test", "carol@acme.test"}, msg("alice@acme.test", "bob@acme.test", "local"),
		func(s *queue.Submission) { s.SentCopy = true })
	if err != nil {
		t.Fatal(err)
	}
	if res.Local != 2 || res.QueueID != 0 || e.queueLen() != 0 {
		t.Fatalf("result %+v, queue %d: local mail went through the queue", res, e.queueLen())
	}
	for _, u := range []string{"bob", "carol"} {
		if in := e.folder(u, store.SpecialInbox); len(in) != 1 || !strings.Contains(in[0], "Subject: local") {
			t.Fatalf("%s inbox: %q", u, in)
		}
	}
	if sent := e.folder("alice", store.SpecialSent); len(sent) != 1 || !strings.Contains(sent[0], "Subject: local") {
		t.Fatalf("sent: %q", sent)
	}
	// Unknown address in a local domain: refused before anything is stored.
	if _, err := e.submit("alice", "alice@acme.test", []string{"nobody@acme.test"}, msg("alice@acme.test", "x", "x")); !isQueueErr(err, 550) {
		t.Fatalf("unknown local: %v", err)
	}
	if err := e.q.CheckRecipient(userCtx(t, e.db, "alice"), "nobody@acme.test"); !isQueueErr(err, 550) {
		t.Fatalf("CheckRecipient: %v", err)
	}
	if err := e.q.CheckRecipient(userCtx(t, e.db, "alice"), "someone@remote.test"); err != nil {
		t.Fatalf("CheckRecipient remote: %v", err)
	}
}

func TestRelayWithAuthAndTLS(t *testing.T) {
	t.Parallel()
	s := newSink(t, func(s *sink) {
		s.tlsCfg = serverTLS()
		s.users = map[string]string{"relayuser": "relaypw"}
	})
	e := newEnv(t, func(o *queue.Options) {
		o.Relay = &queue.Relay{Addr: s.addr, Username: "relayuser", Password: "relaypw"}
		o.TLS = clientTLS()
	})
	res, err := e.submit("alice", "alice@acme.test", []string{"x@remote.test", "y@other.test", "bob@acme.test"}, msg("alice@acme.test", "x@remote.test", "relayed"),
		func(s *queue.Submission) {
			s.Recipients[0].Notify = "FAILURE,DELAY"
			s.Recipients[0].ORcpt = "rfc822;x@remote.test"
			s.EnvID = "env 1"
			s.Ret = "HDRS"
		})
	if err != nil {
		t.Fatal(err)
	}
	if res.Local != 1 || res.Queued != 2 {
		t.Fatalf("result %+v", res)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.q.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(20 * time.Second)
	for e.queueLen() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.queueLen(); n != 0 {
		t.Fatalf("queue still has %d messages", n)
	}
	txns := s.transactions()
	if len(txns) != 1 {
		t.Fatalf("%d transactions, want one for both remote recipients through the relay", len(txns))
	}
	tx := txns[0]
	if !tx.TLS || tx.AuthUser != "relayuser" || tx.From != "alice@acme.test" || strings.Join(tx.Rcpts, ",") != "x@remote.test,y@other.test" {
		t.Fatalf("transaction %+v", tx)
	}
	if !strings.Contains(tx.MailArgs, "RET=HDRS") || !strings.Contains(tx.MailArgs, "ENVID=env+201") {
		t.Errorf("MAIL %q lacks DSN parameters", tx.MailArgs)
	}
	if !strings.Contains(tx.RcptArgs[0], "NOTIFY=FAILURE,DELAY") || !strings.Contains(tx.RcptArgs[0], "ORCPT=rfc822;x@remote.test") {
		t.Errorf("RCPT %q lacks DSN parameters", tx.RcptArgs[0])
	}
	if !strings.Contains(tx.Data, "Subject: relayed") {
		t.Errorf("data %q", tx.Data)
	}
}

func TestRelayWrongPasswordIsRetried(t *testing.T) {
	t.Parallel()
	s := newSink(t, func(s *sink) {
		s.tlsCfg = serverTLS()
		s.implicit = true
		s.users = map[string]string{"relayuser": "relaypw"}
	})
	e := newEnv(t, func(o *queue.Options) {
		o.Relay = &queue.Relay{Addr: s.addr, TLS: "tls", Username: "relayuser", Password: "wrong"}
		o.TLS = clientTLS()
	})
	if _, err := e.submit("alice", "alice@acme.test", []string{"x@remote.test"}, msg("alice@acme.test", "x@remote.test", "x")); err != nil {
		t.Fatal(err)
	}
	e.runDue()
	ms, _ := e.db.ListQueue(sys)
	if len(ms) != 1 || ms[0].Recipients[0].State != store.QueuePending || !strings.Contains(ms[0].LastError, "AUTH refused") {
		t.Fatalf("queue: %+v", ms)
	}
	if len(e.folder("alice", store.SpecialInbox)) != 0 {
		t.Fatal("a relay login failure bounced")
	}
}

func mxEnv(t *testing.T, s *sink, mod func(*queue.Options)) *env {
	return newEnv(t, func(o *queue.Options) {
		o.Resolver = resolver{mx: map[string][]*net.MX{
			"remote.test": {{Host: "127.0.0.1.", Pref: 10}},
			"nullmx.test": {{Host: ".", Pref: 0}},
		}}
		o.MXPort = s.port
		if mod != nil {
			mod(o)
		}
	})
}

func TestMXDeliveryWithPipelining(t *testing.T) {
	t.Parallel()
	s := newSink(t, func(s *sink) { s.tlsCfg = serverTLS() }) // opportunistic STARTTLS
	e := mxEnv(t, s, nil)
	if _, err := e.submit("alice", "alice@acme.test", []string{"x@remote.test", "y@remote.test"}, msg("alice@acme.test", "x@remote.test", "to mx")); err != nil {
		t.Fatal(err)
	}
	e.runDue()
	if e.queueLen() != 0 {
		t.Fatal("not delivered")
	}
	txns := s.transactions()
	if len(txns) != 1 || len(txns[0].Rcpts) != 2 || !txns[0].TLS {
		t.Fatalf("transactions %+v", txns)
	}
	// Lines starting with a dot survive the transparency procedure.
	if _, err := e.submit("alice", "alice@acme.test", []string{"x@remote.test"}, "From: <alice@acme.test>\r\nSubject: dots\r\n\r\n.leading\r\n..two\r\n.\r\n"); err != nil {
		t.Fatal(err)
	}
	e.runDue()
	txns = s.transactions()
	if got := txns[len(txns)-1].Data; !strings.HasSuffix(got, "\r\n\r\n.leading\r\n..two\r\n.\r\n") {
		t.Fatalf("data %q", got)
	}
}

// dsnFor returns the DSNs in alice's inbox.
func dsns(e *env) []*mime.Part {
	var out []*mime.Part
	for _, m := range e.folder("alice", store.SpecialInbox) {
		root, _ := mime.Parse([]byte(m), mime.Limits{})
		if root.SubType == "report" {
			out = append(out, root)
		}
	}
	return out
}

func TestRetryAfter4xxThenSuccess(t *testing.T) {
	t.Parallel()
	s := newSink(t, func(s *sink) {
		s.data = func(n int) string {
			if n == 0 {
				return "451 4.3.0 try later"
			}
			return ""
		}
	})
	e := mxEnv(t, s, nil)
	if _, err := e.submit("alice", "alice@acme.test", []string{"x@remote.test"}, msg("alice@acme.test", "x@remote.test", "retry")); err != nil {
		t.Fatal(err)
	}
	e.runDue()
	ms, _ := e.db.ListQueue(sys)
	if len(ms) != 1 || ms[0].Attempts != 1 || !strings.Contains(ms[0].LastError, "451 4.3.0") {
		t.Fatalf("after a 4xx: %+v", ms)
	}
	// Not due yet: nothing happens.
	e.runDue()
	if len(s.transactions()) != 1 {
		t.Fatal("retried before the backoff")
	}
	if !ms[0].NextAttempt.Equal(e.clock.Now().Add(time.Minute)) {
		t.Fatalf("next attempt %v, want now+RetryBase", ms[0].NextAttempt)
	}
	e.clock.Add(time.Minute)
	e.runDue()
	if e.queueLen() != 0 || len(s.transactions()) != 2 {
		t.Fatalf("queue %d, transactions %d", e.queueLen(), len(s.transactions()))
	}
	if d := dsns(e); len(d) != 0 {
		t.Fatal("a DSN for a delivered message")
	}
}

func TestDSNAfter5xx(t *testing.T) {
	t.Parallel()
	s := newSink(t, func(s *sink) {
		s.ext = []string{"PIPELINING"} // no DSN: we report
		s.rcpt = func(a string) string {
			if strings.HasPrefix(a, "gone") {
				return "550 5.1.1 <" + a + ">: user unknown"
			}
			return ""
		}
	})
	e := mxEnv(t, s, nil)
	_, err := e.submit("alice", "alice@acme.test", []string{"gone@remote.test", "ok@remote.test", "nobody@nullmx.test", "x@nowhere.test"}, msg("alice@acme.test", "gone@remote.test", "bounce me"),
		func(s *queue.Submission) { s.EnvID = "ENV42"; s.Recipients[0].ORcpt = "rfc822;gone@remote.test" })
	if err != nil {
		t.Fatal(err)
	}
	e.runDue()
	e.runDue() // the DSN itself (local)
	if n := e.queueLen(); n != 0 {
		t.Fatalf("queue has %d", n)
	}
	if tx := s.transactions(); len(tx) != 1 || strings.Join(tx[0].Rcpts, ",") != "ok@remote.test" {
		t.Fatalf("transactions %+v", tx)
	}
	d := dsns(e)
	if len(d) != 1 {
		t.Fatalf("%d DSNs", len(d))
	}
	all := e.folder("alice", store.SpecialInbox)[0]
	for _, want := range []string{"Final-Recipient: rfc822; gone@remote.test", "Action: failed", "Status: 5.1.1",
		"Diagnostic-Code: smtp; 550 5.1.1 <gone@remote.test>: user unknown", "Original-Recipient: rfc822;gone@remote.test",
		"Original-Envelope-Id: ENV42", "Final-Recipient: rfc822; nobody@nullmx.test", "Status: 5.1.10",
		"Final-Recipient: rfc822; x@nowhere.test", "Status: 5.1.2",
		"Reporting-MTA: dns; mx.acme.test", "Content-Type: message/rfc822", "Subject: bounce me"} {
		if !strings.Contains(all, want) {
			t.Errorf("DSN lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "Final-Recipient: rfc822; ok@remote.test") {
		t.Error("DSN reports the delivered recipient")
	}
}

func TestNoDSNForNullSenderOrNever(t *testing.T) {
	t.Parallel()
	s := newSink(t, func(s *sink) { s.rcpt = func(string) string { return "550 5.1.1 no" } })
	e := mxEnv(t, s, nil)
	_, err := e.submit("alice", "alice@acme.test", []string{"x@remote.test"}, msg("alice@acme.test", "x@remote.test", "never"),
		func(s *queue.Submission) { s.Recipients[0].Notify = "NEVER" })
	if err != nil {
		t.Fatal(err)
	}
	e.runDue()
	e.runDue()
	if e.queueLen() != 0 || len(dsns(e)) != 0 {
		t.Fatalf("queue %d, dsns %d", e.queueLen(), len(dsns(e)))
	}
	// A bounce of a bounce: the null sender never gets a DSN.
	if _, err := e.db.Enqueue(sys, store.QueuedMessage{From: "", Recipients: []store.QueueRecipient{{Addr: "x@remote.test"}},
		Created: e.clock.Now(), Expires: e.clock.Now().Add(time.Hour)}, strings.NewReader(msg("MAILER-DAEMON@mx.acme.test", "x", "dsn"))); err != nil {
		t.Fatal(err)
	}
	e.runDue()
	e.runDue()
	if e.queueLen() != 0 || len(dsns(e)) != 0 {
		t.Fatalf("queue %d, dsns %d", e.queueLen(), len(dsns(e)))
	}
	if tx := s.transactions(); len(tx) != 0 {
		t.Fatalf("rcpt refusals still made transactions: %+v", tx)
	}
}

func TestDSNAfterExpiry(t *testing.T) {
	t.Parallel()
	s := newSink(t, func(s *sink) { s.data = func(int) string { return "421 4.7.0 busy" } })
	e := mxEnv(t, s, func(o *queue.Options) { o.Lifetime = 3 * time.Minute })
	_, err := e.submit("alice", "alice@acme.test", []string{"x@remote.test"}, msg("alice@acme.test", "x@remote.test", "expire"),
		func(s *queue.Submission) { s.Ret = "HDRS" })
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10 && e.queueLen() > 0 && len(dsns(e)) == 0; i++ {
		e.runDue()
		e.clock.Add(time.Minute)
	}
	e.runDue()
	if e.queueLen() != 0 {
		t.Fatalf("queue has %d", e.queueLen())
	}
	d := dsns(e)
	if len(d) != 1 {
		t.Fatalf("%d DSNs", len(d))
	}
	all := e.folder("alice", store.SpecialInbox)[0]
	for _, want := range []string{"Action: failed", "Status: 4.4.7", "delivery time expired", "421 4.7.0 busy", "Content-Type: text/rfc822-headers", "Subject: expire"} {
		if !strings.Contains(all, want) {
			t.Errorf("DSN lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "Hello there.") {
		t.Error("RET=HDRS returned the body")
	}
	if n := len(s.transactions()); n < 3 {
		t.Errorf("only %d attempts before expiry", n)
	}
}

func TestSuccessDSNForLocalDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, err := e.submit("alice", "alice@acme.test", []string{"bob@acme.test"}, msg("alice@acme.test", "bob@acme.test", "notify"),
		func(s *queue.Submission) { s.Recipients[0].Notify = "SUCCESS" })
	if err != nil {
		t.Fatal(err)
	}
	e.runDue()
	all := e.folder("alice", store.SpecialInbox)
	if len(all) != 1 || !strings.Contains(all[0], "Action: delivered") || !strings.Contains(all[0], "text/rfc822-headers") {
		t.Fatalf("inbox %q", all)
	}
}

func TestDKIMSignedAndVerified(t *testing.T) {
	t.Parallel()
	s := newSink(t, nil)
	e := mxEnv(t, s, nil)
	rec, err := queue.GenerateDKIMKey(sys, e.db, "acme.test", "roost1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec, "v=DKIM1; k=rsa; p=") {
		t.Fatalf("record %q", rec)
	}
	if _, err := queue.GenerateDKIMKey(sys, e.db, "acme.test", "bad selector"); err == nil {
		t.Fatal("bad selector accepted")
	}
	if _, err := e.submit("alice", "alice@acme.test", []string{"x@remote.test"}, msg("alice@acme.test", "x@remote.test", "signed")); err != nil {
		t.Fatal(err)
	}
	e.runDue()
	tx := s.transactions()
	if len(tx) != 1 {
		t.Fatal("not delivered")
	}
	lookup := func(name string) ([]string, error) {
		if name == queue.DKIMRecordName("acme.test", "roost1") {
			return []string{rec}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	vs, err := dkim.VerifyWithOptions(strings.NewReader(tx[0].Data), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil || len(vs) != 1 {
		t.Fatalf("verify: %v, %d signatures", err, len(vs))
	}
	if vs[0].Err != nil || vs[0].Domain != "acme.test" {
		t.Fatalf("signature: domain %q err %v", vs[0].Domain, vs[0].Err)
	}
	// A changed body fails verification: the check can fail.
	bad := strings.Replace(tx[0].Data, "Hello there.", "Hello there!", 1)
	vs, _ = dkim.VerifyWithOptions(strings.NewReader(bad), &dkim.VerifyOptions{LookupTXT: lookup})
	if len(vs) != 1 || vs[0].Err == nil {
		t.Fatal("tampered message verified")
	}
}

func TestDisclaimerApplied(t *testing.T) {
	t.Parallel()
	s := newSink(t, nil)
	e := mxEnv(t, s, nil)
	txt, html := "Acme Corp - confidential", "<p>Acme Corp</p>"
	if err := e.db.SetTenantProps(sys, "acme", map[string]*string{queue.PropDisclaimerText: &txt, queue.PropDisclaimerHTML: &html}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.submit("alice", "alice@acme.test", []string{"x@remote.test"}, msg("alice@acme.test", "x@remote.test", "disclaimed"),
		func(s *queue.Submission) { s.SentCopy = true }); err != nil {
		t.Fatal(err)
	}
	e.runDue()
	tx := s.transactions()
	if len(tx) != 1 || !strings.Contains(tx[0].Data, "Hello there.\r\nAcme Corp - confidential\r\n") {
		t.Fatalf("data %+v", tx)
	}
	if sent := e.folder("alice", store.SpecialSent); len(sent) != 1 || !strings.Contains(sent[0], "confidential") {
		t.Fatalf("sent copy %q", sent)
	}
}

func TestAdminShow(t *testing.T) {
	t.Parallel()
	s := newSink(t, func(s *sink) { s.data = func(int) string { return "452 4.2.2 full" } })
	e := mxEnv(t, s, nil)
	res, err := e.submit("alice", "alice@acme.test", []string{"x@remote.test"}, msg("alice@acme.test", "x@remote.test", "admin"))
	if err != nil {
		t.Fatal(err)
	}
	e.runDue()
	out, err := queue.Show(sys, e.db, res.QueueID)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"From:        <alice@acme.test>", "x@remote.test", "pending", "452 4.2.2 full", "Attempts:    1"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	ms, err := queue.List(sys, e.db)
	if err != nil || len(ms) != 1 {
		t.Fatal(ms, err)
	}
	var b strings.Builder
	queue.FormatList(&b, ms)
	if !strings.Contains(b.String(), "<alice@acme.test>") {
		t.Errorf("list:\n%s", b.String())
	}
	// A user may not see the queue; retry and delete work for admins.
	if err := queue.Retry(userCtx(t, e.db, "bob"), e.db, res.QueueID); err == nil {
		t.Error("bob retried alice's message")
	}
	if err := queue.Retry(sys, e.db, res.QueueID); err != nil {
		t.Fatal(err)
	}
	if err := queue.Delete(sys, e.db, res.QueueID); err != nil {
		t.Fatal(err)
	}
	if e.queueLen() != 0 {
		t.Fatal("not deleted")
	}
}

func TestMXTLSFailureFallsBackToPlain(t *testing.T) {
	t.Parallel()
	// The MX offers STARTTLS but cannot complete a handshake (no
	// certificate): opportunistic TLS gives way to plain SMTP.
	s := newSink(t, func(s *sink) { s.tlsCfg = &tls.Config{} })
	e := mxEnv(t, s, nil)
	if _, err := e.submit("alice", "alice@acme.test", []string{"x@remote.test"}, msg("alice@acme.test", "x@remote.test", "plain")); err != nil {
		t.Fatal(err)
	}
	e.runDue()
	if tx := s.transactions(); e.queueLen() != 0 || len(tx) != 1 || tx[0].TLS {
		t.Fatalf("queue %d, transactions %+v", e.queueLen(), tx)
	}
	// A relay that requires STARTTLS is never used without it.
	s2 := newSink(t, nil)
	e2 := newEnv(t, func(o *queue.Options) { o.Relay = &queue.Relay{Addr: s2.addr} })
	if _, err := e2.submit("alice", "alice@acme.test", []string{"x@remote.test"}, msg("alice@acme.test", "x@remote.test", "plain")); err != nil {
		t.Fatal(err)
	}
	e2.runDue()
	if ms, _ := e2.db.ListQueue(sys); len(ms) != 1 || !strings.Contains(ms[0].LastError, "STARTTLS") || len(s2.transactions()) != 0 {
		t.Fatalf("queue %+v", ms)
	}
}

func TestRelayAuthLogin(t *testing.T) {
	t.Parallel()
	s := newSink(t, func(s *sink) {
		s.tlsCfg = serverTLS()
		s.users = map[string]string{"relayuser": "relaypw"}
		s.mechs = "LOGIN"
	})
	e := newEnv(t, func(o *queue.Options) {
		o.Relay = &queue.Relay{Addr: s.addr, TLS: "starttls", Username: "relayuser", Password: "relaypw"}
		o.TLS = clientTLS()
	})
	if _, err := e.submit("alice", "alice@acme.test", []string{"x@remote.test"}, msg("alice@acme.test", "x@remote.test", "login")); err != nil {
		t.Fatal(err)
	}
	e.runDue()
	if tx := s.transactions(); e.queueLen() != 0 || len(tx) != 1 || tx[0].AuthUser != "relayuser" {
		t.Fatalf("queue %d, transactions %+v", e.queueLen(), tx)
	}
}

func TestDelayDSNOnce(t *testing.T) {
	t.Parallel()
	s := newSink(t, func(s *sink) { s.ext = nil; s.data = func(int) string { return "450 4.2.0 later" } })
	e := mxEnv(t, s, func(o *queue.Options) { o.DelayWarning = 2 * time.Minute })
	_, err := e.submit("alice", "alice@acme.test", []string{"x@remote.test"}, msg("alice@acme.test", "x@remote.test", "slow"),
		func(s *queue.Submission) { s.Recipients[0].Notify = "DELAY" })
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		e.runDue()
		e.clock.Add(time.Minute)
	}
	d := dsns(e)
	if len(d) != 1 {
		t.Fatalf("%d delay reports, want exactly one", len(d))
	}
	all := e.folder("alice", store.SpecialInbox)[0]
	for _, want := range []string{"Action: delayed", "Status: 4.2.0", "Subject: Delivery Status Notification (Delay)", "text/rfc822-headers"} {
		if !strings.Contains(all, want) {
			t.Errorf("lacks %q:\n%s", want, all)
		}
	}
	ms, _ := e.db.ListQueue(sys)
	if len(ms) != 1 || ms[0].Recipients[0].Notify != "NEVER" || ms[0].Recipients[0].State != store.QueuePending {
		t.Fatalf("queue %+v", ms)
	}
}
