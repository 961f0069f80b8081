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
	redir := httptest.NewServer(http.RedirectHandler("http://169.254.169.254/", http.StatusFound))
	defer redir.Close()
	if err := s2.post(context.Background(), redir.URL, map[string]any{}); err == nil {
		t.Fatal("a redirect counted as delivered")
	}
}
