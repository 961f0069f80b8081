package app

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestAdminAuthThrottled: an administrator whose address is banned after
// failed logins is told to try again later (503), not that the password
// is wrong (401), like every other protocol.
func TestAdminAuthThrottled(t *testing.T) {
	s := testenv.Open(t, testenv.Options{})
	s.Tenants(t, "acme")
	s.User(t, "acme", store.User{Login: "boss", Active: true, Admin: store.AdminSystem}, "boss-pw")
	authn := &directory.Authenticator{Store: s.DB, Throttle: &auth.Throttle{BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond}}
	h := adminAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), authn, testenv.Logger(t))
	call := func(pw string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/v1/users", nil)
		req.RemoteAddr = "192.0.2.1:5000"
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("boss:"+pw)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := call("boss-pw"); rec.Code != http.StatusOK {
		t.Fatalf("right password: %d %s", rec.Code, rec.Body)
	}
	if rec := call("wrong"); rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("wrong password: %d %s", rec.Code, rec.Body)
	}
	for range 20 {
		call("wrong")
	}
	rec := call("boss-pw")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "try again later") {
		t.Fatalf("banned address: %d %q, want 503 with Retry-After", rec.Code, rec.Body)
	}
}
