package web_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestWebRemoteSenders: the senders alice trusts with remote content are
// kept on the server (added in one session, read in another), lowercased
// and once each; bob has his own list; bad addresses, unknown fields,
// oversized bodies, cross-site writes and requests without the cookie
// are refused and change nothing; removing one takes it away; the list
// stops at 1,000.
func TestWebRemoteSenders(t *testing.T) {
	e := newEnv(t, nil, nil)
	a1, a2, bob := e.login("alice", "pw-alice"), e.login("alice", "pw-alice"), e.login("bob", "pw-bob")
	const path = "/web/api/prefs/remote-senders"
	list := func(tok string) []string {
		t.Helper()
		res, body := e.do("GET", path, "", cookie(tok))
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("GET: %d %s", res.StatusCode, body)
		}
		var out struct{ Senders []string }
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("GET: %s: %v", body, err)
		}
		return out.Senders
	}
	post := func(tok, body string, want int) {
		t.Helper()
		if res, got := e.do("POST", path, body, cookie(tok)); res.StatusCode != want {
			t.Fatalf("POST %s: %d %s, want %d", body, res.StatusCode, got, want)
		}
	}
	if got := list(a1); len(got) != 0 {
		t.Fatalf("before any: %v", got)
	}
	post(a1, `{"add":"News@Example.COM"}`, 200)
	post(a2, `{"add":"news@example.com"}`, 200)
	post(a1, `{"add":"carol@example.org"}`, 200)
	if got := list(a2); !slices.Equal(got, []string{"carol@example.org", "news@example.com"}) {
		t.Errorf("alice's other session: %v", got)
	}
	if got := list(bob); len(got) != 0 {
		t.Errorf("bob sees %v", got)
	}
	st, err := e.st.UserStore(testenv.As(t, e.st, "alice"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if props, err := e.st.StoreProps(testenv.As(t, e.st, "alice"), st.ID); err != nil || props["web:remote-senders"] != "carol@example.org\nnews@example.com" {
		t.Errorf("alice's store props: %q %v", props, err)
	}
	for _, c := range []struct {
		name, method, body string
		hdr                map[string]string
		want               int
	}{
		{"with a name", "POST", `{"add":"Evil <evil@example.com>"}`, cookie(a1), 400},
		{"no domain", "POST", `{"add":"evil@"}`, cookie(a1), 400},
		{"no at", "POST", `{"add":"evil"}`, cookie(a1), 400},
		{"two addresses", "POST", `{"add":"a@example.com, b@example.com"}`, cookie(a1), 400},
		{"a newline", "POST", `{"add":"a@example.com\nb@example.com"}`, cookie(a1), 400},
		{"too long", "POST", `{"add":"` + strings.Repeat("a", 250) + `@example.com"}`, cookie(a1), 400},
		{"both", "POST", `{"add":"a@example.com","remove":"carol@example.org"}`, cookie(a1), 400},
		{"neither", "POST", `{}`, cookie(a1), 400},
		{"unknown field", "POST", `{"add":"a@example.com","all":true}`, cookie(a1), 400},
		{"too big", "POST", `{"add":"a@example.com"` + strings.Repeat(" ", 2<<10) + `}`, cookie(a1), 400},
		{"cross-site", "POST", `{"add":"a@example.com"}`, with(cookie(a1), "Sec-Fetch-Site", "cross-site"), 403},
		{"foreign origin", "POST", `{"add":"a@example.com"}`, map[string]string{"Cookie": cookie(a1)["Cookie"], "Origin": "https://evil.example"}, 403},
		{"cross-site read", "GET", "", with(cookie(a1), "Sec-Fetch-Site", "cross-site"), 403},
		{"not signed in", "POST", `{"add":"a@example.com"}`, sameOrigin, 401},
		{"PUT", "PUT", `{"add":"a@example.com"}`, cookie(a1), 405},
	} {
		if res, body := e.do(c.method, path, c.body, c.hdr); res.StatusCode != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, res.StatusCode, body, c.want)
		}
	}
	if got := list(a1); len(got) != 2 {
		t.Errorf("after the refused requests: %v", got)
	}
	post(a1, `{"remove":"NEWS@example.com"}`, 200)
	post(a1, `{"remove":"nobody@example.com"}`, 200)
	if got := list(a2); !slices.Equal(got, []string{"carol@example.org"}) {
		t.Errorf("after the removal: %v", got)
	}

	// At most 1,000: the list filled (straight into the store), the next
	// one refused, a removal makes room.
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "s%04d@example.net\n", i)
	}
	v := b.String()
	if err := e.st.SetStoreProps(testenv.As(t, e.st, "alice"), st.ID, map[string]*string{"web:remote-senders": &v}); err != nil {
		t.Fatal(err)
	}
	if got := list(a1); len(got) != 1000 {
		t.Fatalf("filled: %d", len(got))
	}
	post(a1, `{"add":"one-more@example.net"}`, 409)
	post(a1, `{"add":"s0001@example.net"}`, 200) // already there
	post(a1, `{"remove":"s0000@example.net"}`, 200)
	post(a1, `{"add":"one-more@example.net"}`, 200)
	if got := list(a1); len(got) != 1000 || !slices.Contains(got, "one-more@example.net") || slices.Contains(got, "s0000@example.net") {
		t.Errorf("after making room: %d, %v…", len(got), got[:3])
	}
}

// TestWebRemoteSendersStoreFails: a failing store is a temporary failure
// (503).
func TestWebRemoteSendersStoreFails(t *testing.T) {
	var fb *storefault.Backend
	e := newEnv(t, func(b store.Backend) store.Backend { fb = storefault.New(b); return fb }, nil)
	alice := e.login("alice", "pw-alice")
	fb.Fail(nil, "StorePropsPrefix", "SetStoreProps")
	for _, m := range []string{"GET", "POST"} {
		if res, body := e.do(m, "/web/api/prefs/remote-senders", `{"add":"a@example.com"}`, cookie(alice)); res.StatusCode != 503 {
			t.Errorf("%s with the store failing: %d %s, want 503", m, res.StatusCode, body)
		}
	}
}
