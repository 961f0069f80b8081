package pop3server

import (
	"net"
	"testing"
)

// FuzzXClientOrigin: whatever a client sends after XCLIENT, the origin is
// "" or a valid IP address with a port.
func FuzzXClientOrigin(f *testing.F) {
	for _, s := range []string{"ADDR=198.51.100.7 PORT=51234", "ADDR=::1 PORT=1", "ADDR=x PORT=y", "PORT=99999 ADDR=10.0.0.1", "", "ADDR==="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		o := xclientOrigin(arg)
		if o == "" {
			return
		}
		host, port, err := net.SplitHostPort(o)
		if err != nil || net.ParseIP(host) == nil || port == "" {
			t.Fatalf("xclientOrigin(%q) = %q", arg, o)
		}
	})
}
