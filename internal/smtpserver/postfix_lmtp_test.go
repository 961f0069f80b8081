package smtpserver_test

import (
	"io"
	"net/smtp"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/postfixtest"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// inboxMessages returns the contents of the messages in login's Inbox.
func inboxMessages(t *testing.T, db *sqlstore.DB, login string) []string {
	t.Helper()
	inbox, err := mail.Inbox(sys, db, login)
	if err != nil {
		t.Fatal(err)
	}
	items, err := db.ListItems(sys, inbox, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		r, err := db.OpenItem(sys, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// withoutReceived splits off the Received fields (with their folded
// lines) at the top of a message: what Postfix adds on the way.
func withoutReceived(msg string) (received []string, rest string) {
	for strings.HasPrefix(msg, "Received:") {
		end := 0
		for {
			i := strings.Index(msg[end:], "\r\n")
			if i < 0 {
				return received, msg
			}
			end += i + 2
			if end >= len(msg) || (msg[end] != ' ' && msg[end] != '\t') {
				break
			}
		}
		received = append(received, msg[:end])
		msg = msg[end:]
	}
	return received, msg
}

// oneLine joins folded and wrapped text (bounce reports wrap Roost's
// reply) so that a reply text can be searched for.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestPostfixInFrontOverLMTP puts Debian's Postfix in front of Roost, the
// way it is deployed: Postfix accepts mail for acme.test over SMTP and
// hands it to Roost's LMTP server, over the unix socket and over TCP. In
// one transaction two known recipients get the message byte for byte
// (below Postfix's Received line), an unknown one (550 5.1.1 at RCPT) and
// one over quota (552 5.2.2 after DATA) bounce back to the sender with
// Roost's reply in the report: over the unix socket the sender is remote
// and the bounce reaches the Postfix sink; over TCP the sender is a Roost
// user and the bounce comes back through LMTP into her Inbox.
func TestPostfixInFrontOverLMTP(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, sender string }{
		{"unix", "sender@remote.test"},
		{"inet", "carol@acme.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, 2) // alice, bob
			for _, l := range []string{"carol", "dave"} {
				if _, err := e.db.CreateUser(sys, "acme", store.User{Login: l, Email: l + "@acme.test", Active: true}); err != nil {
					t.Fatal(err)
				}
			}
			hard, yes := int64(10), true
			if _, err := e.db.UpdateUser(sys, "bob", store.UserUpdate{QuotaOverride: &yes, QuotaHard: &hard}); err != nil {
				t.Fatal(err)
			}
			target := "inet:" + e.addr
			if tc.name == "unix" {
				// Postfix's lmtp client runs as user postfix.
				postfixtest.Reachable(t, e.dir)
				if err := os.Chmod(e.sock, 0o666); err != nil {
					t.Fatal(err)
				}
				target = "unix:" + e.sock
			}
			p := postfixtest.Start(t, postfixtest.Config{LMTP: map[string]string{"acme.test": target}, Sink: true})

			// Every header Postfix would otherwise add is there, so the
			// only change on the way is the Received line.
			msg := "From: Sender <" + tc.sender + ">\r\n" +
				"To: alice@acme.test, dave@acme.test, bob@acme.test, ghost@acme.test\r\n" +
				"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= via Postfix\r\n" +
				"Date: Thu, 01 Jan 2026 12:00:00 +0000\r\n" +
				"Message-ID: <pf-" + tc.name + "@remote.test>\r\n" +
				"MIME-Version: 1.0\r\n" +
				"Content-Type: text/plain; charset=utf-8\r\n" +
				"Content-Transfer-Encoding: 8bit\r\n" +
				"\r\n" +
				"Grüße aus dem Test.\r\n" +
				".a line with a leading dot\r\n" +
				"..and two\r\n" +
				"\ttabbed line with trailing space \r\n" +
				strings.Repeat("long line ", 90) + "\r\n" +
				"\r\n" +
				"-- \r\n" +
				"end\r\n"
			if err := smtp.SendMail(p.Addr, nil, tc.sender, []string{"alice@acme.test", "dave@acme.test", "bob@acme.test", "ghost@acme.test"}, []byte(msg)); err != nil {
				t.Fatalf("Postfix refused the message: %v", err)
			}

			// Roost's replies, as Postfix logged them.
			p.WaitLog(t, "to=<alice@acme.test>", "status=sent", "250 2.0.0 <alice@acme.test> delivered")
			p.WaitLog(t, "to=<dave@acme.test>", "status=sent", "250 2.0.0 <dave@acme.test> delivered")
			p.WaitLog(t, "to=<ghost@acme.test>", "status=bounced", "550 5.1.1 <ghost@acme.test>: no such user here", "RCPT TO")
			p.WaitLog(t, "to=<bob@acme.test>", "status=bounced", "552 5.2.2 <bob@acme.test> mailbox full", "end of DATA")

			for _, login := range []string{"alice", "dave"} {
				got := inboxMessages(t, e.db, login)
				if len(got) != 1 {
					t.Fatalf("%s has %d messages", login, len(got))
				}
				rcvd, rest := withoutReceived(got[0])
				if len(rcvd) != 1 || !strings.Contains(rcvd[0], "by postfix.test (Postfix) with UTF8SMTP id") {
					t.Errorf("%s: Received lines %q", login, rcvd)
				}
				if rest != msg {
					t.Errorf("%s: message changed on the way:\n%q\nwant\n%q", login, rest, msg)
				}
			}
			if n := len(inboxMessages(t, e.db, "bob")); n != 0 {
				t.Errorf("bob is over quota but has %d messages", n)
			}

			// The bounce reaches the sender, with Roost's replies.
			wantReport := func(report string) bool {
				r := oneLine(report)
				return strings.Contains(r, "550 5.1.1 <ghost@acme.test>: no such user here") &&
					strings.Contains(r, "552 5.2.2 <bob@acme.test> mailbox full") &&
					strings.Contains(r, "Final-Recipient: rfc822; ghost@acme.test") &&
					strings.Contains(r, "Final-Recipient: rfc822; bob@acme.test") &&
					strings.Contains(r, "Message-ID: <pf-"+tc.name+"@remote.test>")
			}
			if tc.name == "unix" {
				p.Wait(t, "the bounce to "+tc.sender, func(ms []postfixtest.Message) bool {
					var all strings.Builder
					for _, m := range ms {
						if m.From == "" && strings.Join(m.To, ",") == tc.sender {
							all.WriteString(m.Data)
						}
					}
					return wantReport(all.String())
				})
			} else {
				p.WaitLog(t, "to=<carol@acme.test>", "status=sent", "250 2.0.0 <carol@acme.test> delivered")
				got := inboxMessages(t, e.db, "carol")
				if len(got) != 1 || !wantReport(got[0]) || !strings.Contains(got[0], "From: Mail Delivery System <MAILER-DAEMON@postfix.test>") {
					t.Fatalf("carol's Inbox: %q", got)
				}
			}
			// Nothing is left deferred in Postfix (a 4xx would be).
			var list string
			for i := 0; i < 600; i++ {
				empty, l, err := p.QueueEmpty()
				if err != nil {
					t.Fatal(err)
				}
				if empty {
					return
				}
				list = l
				time.Sleep(100 * time.Millisecond)
			}
			t.Fatalf("Postfix queue not empty:\n%s", list)
		})
	}
}
