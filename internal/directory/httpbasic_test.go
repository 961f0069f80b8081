package directory_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// BasicAuth maps the directory's answers to HTTP in one place: a failing
// directory or a throttled login is 503, never 401 ("wrong password").
func TestBasicAuthMapping(t *testing.T) {
	var answer error
	calls := 0
	b := &directory.BasicAuth{Name: "test", Denied: "no",
		Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
			calls++
			if answer != nil {
				return nil, answer
			}
			return &store.Principal{Login: login}, nil
		}}
	do := func(user, pw string) (*store.Principal, int) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		if user != "" {
			r.SetBasicAuth(user, pw)
		}
		p, _ := b.Check(w, r)
		return p, w.Code
	}
	for _, c := range []struct {
		err  error
		want int
	}{
		{directory.ErrBadCredentials, http.StatusUnauthorized},
		{directory.ErrFeature, http.StatusForbidden},
		{directory.ErrInactive, http.StatusForbidden},
		{directory.ErrThrottled, http.StatusServiceUnavailable},
		{errors.New("database down"), http.StatusServiceUnavailable},
	} {
		answer = c.err
		if _, code := do("alice", "pw"); code != c.want {
			t.Errorf("%v: %d, want %d", c.err, code, c.want)
		}
	}
	if _, code := do("", ""); code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d", code)
	}
	answer = nil
	if p, code := do("alice", "pw"); p == nil || code != http.StatusOK {
		t.Errorf("good login: %v %d", p, code)
	}

	// No cache by default: every request asks the directory.
	calls = 0
	do("alice", "pw")
	do("alice", "pw")
	if calls != 2 {
		t.Errorf("without CacheTTL the directory was asked %d times, want 2", calls)
	}
	// With one: asked once until it expires.
	now := time.Unix(1000, 0)
	b.CacheTTL, b.Now = time.Minute, func() time.Time { return now }
	calls = 0
	do("alice", "pw")
	do("alice", "pw")
	if calls != 1 {
		t.Errorf("with CacheTTL the directory was asked %d times, want 1", calls)
	}
	now = now.Add(2 * time.Minute)
	do("alice", "pw")
	if calls != 2 {
		t.Errorf("after the TTL the directory was asked %d times in all, want 2", calls)
	}
	// A wrong password is never answered from the cache.
	answer = directory.ErrBadCredentials
	if _, code := do("alice", "other"); code != http.StatusUnauthorized {
		t.Errorf("wrong password with a cached login: %d", code)
	}
}

// Bearer tokens (RFC 6750): the same mapping, insufficient_scope as 403,
// never cached.
func TestBasicAuthBearer(t *testing.T) {
	var answer error
	calls := 0
	b := &directory.BasicAuth{Name: "test", Denied: "no", CacheTTL: time.Hour,
		Bearer: func(ctx context.Context, tok string, remote net.Addr) (*store.Principal, error) {
			calls++
			if answer != nil {
				return nil, answer
			}
			return &store.Principal{Login: "alice"}, nil
		}}
	do := func(h string) (*store.Principal, *httptest.ResponseRecorder) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", h)
		p, _ := b.Check(w, r)
		return p, w
	}
	for _, c := range []struct {
		err       error
		want      int
		challenge string
	}{
		{directory.ErrBadCredentials, http.StatusUnauthorized, `error="invalid_token"`},
		{directory.ErrScope, http.StatusForbidden, `error="insufficient_scope"`},
		{directory.ErrFeature, http.StatusForbidden, ""},
		{directory.ErrThrottled, http.StatusServiceUnavailable, ""},
		{errors.New("database down"), http.StatusServiceUnavailable, ""},
	} {
		answer = c.err
		_, w := do("Bearer tok")
		if w.Code != c.want || !strings.Contains(strings.Join(w.Header().Values("WWW-Authenticate"), "\n"), c.challenge) {
			t.Errorf("%v: %d %q, want %d %s", c.err, w.Code, w.Header().Values("WWW-Authenticate"), c.want, c.challenge)
		}
	}
	answer = nil
	calls = 0
	for range 2 {
		if p, w := do("bearer tok"); p == nil || p.Login != "alice" || w.Code != http.StatusOK {
			t.Fatalf("good token: %v %d", p, w.Code)
		}
	}
	if calls != 2 {
		t.Fatalf("bearer logins cached: %d calls", calls)
	}
	// Without credentials both schemes are offered.
	w := httptest.NewRecorder()
	b.Check(w, httptest.NewRequest("GET", "/", nil))
	if h := w.Header().Values("WWW-Authenticate"); w.Code != 401 || len(h) != 2 || !strings.HasPrefix(h[1], "Bearer ") {
		t.Fatalf("challenge %d %q", w.Code, h)
	}
	// Without a Bearer hook a bearer header is no login.
	b.Bearer = nil
	if p, w := do("Bearer tok"); p != nil || w.Code != 401 {
		t.Fatalf("bearer without hook: %d", w.Code)
	}
}

// App passwords are never answered from BasicAuth's own cache, so that
// their revocation is effective at once even with CacheTTL set.
func TestBasicAuthNeverCachesAppPasswords(t *testing.T) {
	calls := 0
	b := &directory.BasicAuth{Name: "test", CacheTTL: time.Hour,
		Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
			calls++
			return &store.Principal{Login: login}, nil
		}}
	do := func(pw string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.SetBasicAuth("alice", pw)
		if p, ok := b.Check(httptest.NewRecorder(), r); !ok || p == nil {
			t.Fatal("refused")
		}
	}
	do("plain password")
	do("plain password")
	if calls != 1 {
		t.Fatalf("password: %d calls, want 1 (cached)", calls)
	}
	calls = 0
	pw := auth.NewAppPassword()
	do(pw)
	do(pw)
	if calls != 2 {
		t.Fatalf("app password: %d calls, want 2 (never cached)", calls)
	}
}
