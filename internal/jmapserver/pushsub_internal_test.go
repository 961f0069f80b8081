package jmapserver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
)

// The callback's address is checked when the connection is made, not
// only when the subscription was: a name that resolved to a public
// address then and to an inner one now (DNS rebinding) is refused at
// connect time, before any byte is sent.
func TestPushRefusedAtConnect(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	s := New(Options{})
	defer s.Close()
	err := s.post(context.Background(), srv.URL, map[string]any{"@type": "StateChange"})
	if !errors.Is(err, errPushTarget) || hits.Load() != 0 {
		t.Fatalf("post to loopback: %v (%d hits)", err, hits.Load())
	}
	// Redirects are not followed (a 3xx is not a success either).
	s2 := New(Options{PushAllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	defer s2.Close()
	if err := s2.post(context.Background(), srv.URL, map[string]any{"@type": "StateChange"}); err != nil || hits.Load() != 1 {
		t.Fatalf("allowed post: %v (%d hits)", err, hits.Load())
	}
	var redirHits atomic.Int32
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirHits.Add(1)
		http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
	}))
	defer redir.Close()
	if err := s2.post(context.Background(), redir.URL, map[string]any{}); err == nil || redirHits.Load() != 1 {
		t.Fatalf("a redirect: %v after %d attempts (want an error, no retry)", err, redirHits.Load())
	}
}

// Addresses that are not the public Internet, or that reach an inner
// IPv4 address through a translator, are refused as callbacks; public
// ones and those of PushAllowedNetworks are not.
func TestPushAllowedAddresses(t *testing.T) {
	s := New(Options{PushAllowedNetworks: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}})
	defer s.Close()
	for _, a := range []string{"127.0.0.1", "10.1.2.3", "169.254.169.254", "224.0.0.1", "0.0.0.0", "0.1.2.3",
		"100.64.0.1", "192.0.0.170", "198.18.0.1", "240.0.0.1", "255.255.255.255", "::1", "fe80::1", "fc00::1",
		"ff02::1", "::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b:1::a00:1", "2002:7f00:1::1",
		"2001:0:4136:e378:8000:63bf:3fff:fdd2", "fec0::1"} {
		if s.pushAllowed(netip.MustParseAddr(a)) {
			t.Errorf("%s allowed as a push callback", a)
		}
	}
	for _, a := range []string{"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "10.9.1.1", "::ffff:93.184.215.14"} {
		if !s.pushAllowed(netip.MustParseAddr(a)) {
			t.Errorf("%s refused as a push callback", a)
		}
	}
}
