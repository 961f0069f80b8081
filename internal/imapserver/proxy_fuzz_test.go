package imapserver

import (
	"net"
	"testing"

	"github.com/roost-mail/roost/internal/proto/imap"
)

// FuzzOriginOf: whatever ID fields a client sends, the origin is "" or a
// valid IP address with a port.
func FuzzOriginOf(f *testing.F) {
	f.Add("198.51.100.7", "51234")
	f.Add("::1", "x")
	f.Add("not an ip", "1")
	f.Fuzz(func(t *testing.T, ip, port string) {
		o := originOf([]imap.IDField{{Name: "x-originating-ip", Value: ip}, {Name: "X-Originating-Port", Value: port}})
		if o == "" {
			return
		}
		host, p, err := net.SplitHostPort(o)
		if err != nil || net.ParseIP(host) == nil || p == "" {
			t.Fatalf("originOf(%q, %q) = %q", ip, port, o)
		}
	})
}
