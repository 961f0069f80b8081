package netserve_test

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/netserve"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestVerifyClientCert: a certificate of the CA for client authentication
// is accepted (its common name returned); one of another CA, one for
// servers only, an expired one (no revocation list is checked: short-lived
// certificates are how a node is shut out, docs/cluster.md), none, and a
// connection without TLS are refused.
func TestVerifyClientCert(t *testing.T) {
	ca := testenv.NewCA(t, "Roost CA")
	other := testenv.NewCA(t, "Another CA")
	server := ca.Issue("server")
	check := func(certs []tls.Certificate) (string, error) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		srv := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{server.TLS}, ClientAuth: tls.RequestClientCert})
		cli := tls.Client(b, &tls.Config{Certificates: certs, RootCAs: ca.Pool, ServerName: "localhost"})
		go cli.Handshake()
		if err := srv.Handshake(); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		return netserve.VerifyClientCert(srv, ca.Pool)
	}
	if name, err := check([]tls.Certificate{ca.Issue("node-c").TLS}); err != nil || name != "node-c" {
		t.Errorf("good certificate: %q %v", name, err)
	}
	for what, certs := range map[string][]tls.Certificate{
		"another CA":  {other.Issue("x").TLS},
		"server only": {ca.IssueServerOnly("web").TLS},
		"expired":     {ca.IssueExpired("node-old").TLS},
	} {
		if _, err := check(certs); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
	if _, err := check([]tls.Certificate{ca.IssueExpired("node-old2").TLS}); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired certificate: %v", err)
	}
	if _, err := check(nil); !errors.Is(err, netserve.ErrNoClientCert) {
		t.Errorf("no certificate: %v", err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := netserve.VerifyClientCert(a, ca.Pool); !errors.Is(err, netserve.ErrNoClientCert) {
		t.Errorf("plain connection: %v", err)
	}
}
