package sieveserver

import (
	"net"
	"strings"
	"testing"
)

// FuzzXclientOrigin: whatever XCLIENT arguments a client sends, the
// origin is "" or a valid IP address with a port.
func FuzzXclientOrigin(f *testing.F) {
	f.Add("ADDR=198.51.100.7 PORT=51234")
	f.Add("ADDR=::1 PORT=x")
	f.Add("addr=not-an-ip port=1 NAME=x")
	f.Fuzz(func(t *testing.T, args string) {
		o := xclientOrigin(strings.Fields(args))
		if o == "" {
			return
		}
		host, p, err := net.SplitHostPort(o)
		if err != nil || net.ParseIP(host) == nil || p == "" {
			t.Fatalf("xclientOrigin(%q) = %q", args, o)
		}
	})
}
