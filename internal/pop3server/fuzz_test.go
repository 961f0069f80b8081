package pop3server

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// FuzzSession feeds command sequences to a live session: the server must
// never panic, and must keep answering until the input ends.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"CAPA\r\nUSER a\r\nPASS b\r\nSTAT\r\nQUIT\r\n",
		"AUTH PLAIN AGEAYg==\r\nLIST\r\nUIDL 1\r\nTOP 1 0\r\nRETR 1\r\nDELE 1\r\nRSET\r\nQUIT\r\n",
		"STLS\r\nNOOP\r\n",
		"AUTH\r\nAUTH PLAIN\r\n*\r\n",
		strings.Repeat("X", 600) + "\r\nNOOP\r\n",
		"AUTH OAUTHBEARER biwsAWF1dGg9QmVhcmVyIGJhZAEB\r\nAQ==\r\nAUTH XOAUTH2\r\ndXNlcj11AWF1dGg9QmVhcmVyIGdvb2QBAQ==\r\nSTAT\r\n",
		"AUTH OAUTHBEARER =\r\nAUTH OAUTHBEARER\r\n*\r\nAUTH XOAUTH2 bixhPXUsAWF1dGg9QmVhcmVyIGdvb2QBAQ==\r\nQUIT\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		srv := New(Options{
			Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
				return nil, io.EOF // no store behind this fuzz target: logins fail
			},
			// Tokens: "good" is accepted (then the maildrop fails to
			// open), anything else refused with the error challenge.
			VerifyToken: func(ctx context.Context, tok, authz string, _ net.Addr) (*store.Principal, error) {
				if tok == "good" {
					return &store.Principal{Login: "u", UserID: 1, TenantID: 1}, nil
				}
				return nil, directory.ErrBadCredentials
			},
			AllowPlaintextAuth: true,
			IdleTimeout:        time.Second,
		})
		client, server := net.Pipe()
		done := make(chan struct{})
		srv.t.Run(server, func(c net.Conn) {
			defer close(done)
			srv.handle(c, false)
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
