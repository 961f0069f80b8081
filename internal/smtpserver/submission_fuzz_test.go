package smtpserver

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
)

// fakeQueue accepts everything except addresses starting with "no", and
// reads the whole message like the real queue.
type fakeQueue struct{}

func (fakeQueue) CheckSender(ctx context.Context, from string) error {
	if store.PrincipalFrom(ctx) == nil {
		return errors.New("no principal")
	}
	if strings.HasPrefix(from, "no") {
		return &queue.Error{Code: 553, Enhanced: "5.7.1", Msg: "not yours"}
	}
	return nil
}

func (fakeQueue) CheckRecipient(ctx context.Context, rcpt string) error {
	if strings.HasPrefix(rcpt, "no") {
		return &queue.Error{Code: 550, Enhanced: "5.1.1", Msg: "no such user"}
	}
	return nil
}

func (fakeQueue) Submit(ctx context.Context, m queue.Submission) (queue.Result, error) {
	if _, err := io.Copy(io.Discard, m.Content); err != nil {
		return queue.Result{}, err
	}
	return queue.Result{Local: len(m.Recipients)}, nil
}

// FuzzSubmissionSession drives whole submission sessions (plaintext AUTH
// allowed so that the fuzzer reaches MAIL, RCPT, DATA and BDAT): the
// server must never panic and must end when its input ends.
func FuzzSubmissionSession(f *testing.F) {
	plain := "AUTH PLAIN AHUAcA==\r\n" // \0u\0p
	for _, s := range []string{
		"EHLO x\r\n" + plain + "MAIL FROM:<a@b.test> SIZE=10 RET=HDRS ENVID=x+2By\r\nRCPT TO:<c@d.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d.test\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n",
		"EHLO x\r\nAUTH LOGIN\r\ndQ==\r\ncA==\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nBDAT 5\r\nhello BDAT 0 LAST\r\nRSET\r\n",
		"EHLO x\r\n" + plain + "MAIL FROM:<no@b.test>\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<no@d.test>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\n.\nQUIT\r\n.\r\nNOOP\r\n",
		"HELO x\r\nMAIL FROM:<a@b>\r\nSTARTTLS\r\nAUTH PLAIN =\r\nBDAT x\r\n",
		"EHLO x\r\nAUTH LOGIN\r\ndQ==\r\ncA==\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nBDAT 5\r\nhello BURL imap://u@h/INBOX/;UID=1;URLAUTH=submit+u:internal:00 LAST\r\nBURL\r\n",
		"EHLO x\r\n" + plain + "MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nBDAT 3\r\nabcMAIL FROM:<a@b>\r\n",
		"EHLO x\r\n" + strings.Repeat("NOOP "+strings.Repeat("y", 1200)+"\r\n", 3) + "BOGUS\r\n",
		"EHLO x\r\nAUTH OAUTHBEARER biwsAWF1dGg9QmVhcmVyIGJhZAEB\r\nAQ==\r\nAUTH XOAUTH2\r\ndXNlcj11AWF1dGg9QmVhcmVyIGdvb2QBAQ==\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\nx\r\n.\r\n",
		"EHLO x\r\nAUTH OAUTHBEARER =\r\nAUTH OAUTHBEARER\r\n*\r\nAUTH XOAUTH2 bixhPXUsAWF1dGg9QmVhcmVyIGdvb2QBAQ==\r\nQUIT\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s := NewSubmission(SubmissionOptions{Queue: fakeQueue{}, IdleTimeout: time.Second, AllowPlaintextAuth: true,
			MaxMessageBytes: 1 << 16, MaxHeaderBytes: 1 << 10, SpoolDir: t.TempDir(),
			Authenticate: func(ctx context.Context, login, pw string, _ net.Addr) (*store.Principal, error) {
				if login == "u" && pw == "p" {
					return &store.Principal{Login: "u", UserID: 1, TenantID: 1}, nil
				}
				return nil, directory.ErrBadCredentials
			},
			VerifyToken: func(ctx context.Context, tok, authz string, _ net.Addr) (*store.Principal, error) {
				if tok == "good" {
					return &store.Principal{Login: "u", UserID: 1, TenantID: 1}, nil
				}
				return nil, directory.ErrBadCredentials
			}})
		defer s.Close()
		client, server := net.Pipe()
		done := make(chan struct{})
		s.t.Run(server, func(c net.Conn) {
			defer close(done)
			s.handle(c, false)
		})
		go io.Copy(io.Discard, client)
		w := bufio.NewWriter(client)
		w.WriteString(in)
		w.Flush()
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("session did not end after its input closed")
		}
	})
}
