package web_test

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestWebPrefs: alice's time zone, date and time format and first day of
// the week are kept on the server: set in one session, they are read in
// another (another browser); bob sees his own (none); empty fields remove
// them; unknown zones, formats and fields, oversized bodies, cross-site
// writes and requests without the cookie are refused and change nothing.
func TestWebPrefs(t *testing.T) {
	e := newEnv(t, nil, nil)
	a1, a2, bob := e.login("alice", "pw-alice"), e.login("alice", "pw-alice"), e.login("bob", "pw-bob")
	const empty = `{"timeZone":"","dateFormat":"","timeFormat":"","weekStart":""}`
	get := func(tok string) string {
		t.Helper()
		res, body := e.do("GET", "/web/api/prefs", "", cookie(tok))
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("GET prefs: %d %s", res.StatusCode, body)
		}
		return strings.TrimSpace(body)
	}
	if got := get(a1); got != empty {
		t.Fatalf("before any setting: %s", got)
	}
	const berlin = `{"timeZone":"Europe/Berlin","dateFormat":"dmy","timeFormat":"24","weekStart":"mon"}`
	res, body := e.do("PUT", "/web/api/prefs", berlin, cookie(a1))
	if res.StatusCode != 200 || strings.TrimSpace(body) != berlin {
		t.Fatalf("PUT prefs: %d %s", res.StatusCode, body)
	}
	if got := get(a2); got != berlin {
		t.Errorf("alice's other session: %s, want %s", got, berlin)
	}
	if got := get(bob); got != empty {
		t.Errorf("bob sees %s", got)
	}
	// The properties are alice's store's, not visible to bob through the store.
	st, err := e.st.UserStore(testenv.As(t, e.st, "alice"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if props, err := e.st.StoreProps(testenv.As(t, e.st, "alice"), st.ID); err != nil || props["web:time-zone"] != "Europe/Berlin" {
		t.Errorf("alice's store props: %v %v", props, err)
	}
	if _, err := e.st.StoreProps(testenv.As(t, e.st, "bob"), st.ID); err == nil {
		t.Error("bob read alice's store properties")
	}

	for _, c := range []struct {
		name, method, body string
		hdr                map[string]string
		want               int
	}{
		{"unknown zone", "PUT", `{"timeZone":"Europe/Atlantis"}`, cookie(a1), 400},
		{"Local", "PUT", `{"timeZone":"Local"}`, cookie(a1), 400},
		{"path", "PUT", `{"timeZone":"../../etc/passwd"}`, cookie(a1), 400},
		{"absolute path", "PUT", `{"timeZone":"/usr/share/zoneinfo/UTC"}`, cookie(a1), 400},
		{"long zone", "PUT", `{"timeZone":"` + strings.Repeat("A", 65) + `"}`, cookie(a1), 400},
		{"bad date format", "PUT", `{"dateFormat":"yyyy"}`, cookie(a1), 400},
		{"bad time format", "PUT", `{"timeFormat":"13"}`, cookie(a1), 400},
		{"bad week start", "PUT", `{"weekStart":"tue"}`, cookie(a1), 400},
		{"unknown field", "PUT", `{"theme":"dark"}`, cookie(a1), 400},
		{"not JSON", "PUT", `timeZone=UTC`, cookie(a1), 400},
		{"too big", "PUT", `{"timeZone":"UTC"` + strings.Repeat(" ", 2<<10) + `}`, cookie(a1), 400},
		{"cross-site", "PUT", `{"timeZone":"UTC"}`, with(cookie(a1), "Sec-Fetch-Site", "cross-site"), 403},
		{"foreign origin", "PUT", `{"timeZone":"UTC"}`, map[string]string{"Cookie": cookie(a1)["Cookie"], "Origin": "https://evil.example"}, 403},
		{"cross-site read", "GET", "", with(cookie(a1), "Sec-Fetch-Site", "cross-site"), 403},
		{"bearer", "GET", "", with(cookie(a1), "Authorization", "Bearer x"), 401},
		{"not signed in", "PUT", `{"timeZone":"UTC"}`, sameOrigin, 401},
		{"POST", "POST", `{"timeZone":"UTC"}`, cookie(a1), 405},
	} {
		if res, body := e.do(c.method, "/web/api/prefs", c.body, c.hdr); res.StatusCode != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, res.StatusCode, body, c.want)
		}
	}
	if got := get(a1); got != berlin {
		t.Errorf("after the refused requests: %s", got)
	}

	const partial = `{"timeZone":"America/New_York","dateFormat":"mdy","timeFormat":"","weekStart":""}`
	if res, body := e.do("PUT", "/web/api/prefs", `{"timeZone":"America/New_York","dateFormat":"mdy"}`, cookie(a2)); res.StatusCode != 200 || strings.TrimSpace(body) != partial {
		t.Fatalf("PUT without time format and week start: %d %s", res.StatusCode, body)
	}
	if got := get(a1); got != partial {
		t.Errorf("after removing two: %s", got)
	}
}

// TestWebPrefsStoreFails: a failing store is a temporary failure (503).
func TestWebPrefsStoreFails(t *testing.T) {
	var fb *storefault.Backend
	e := newEnv(t, func(b store.Backend) store.Backend { fb = storefault.New(b); return fb }, nil)
	alice := e.login("alice", "pw-alice")
	fb.Fail(nil, "StorePropsPrefix", "SetStoreProps")
	for _, m := range []string{"GET", "PUT"} {
		if res, body := e.do(m, "/web/api/prefs", `{"timeZone":"UTC"}`, cookie(alice)); res.StatusCode != 503 {
			t.Errorf("%s with the store failing: %d %s, want 503", m, res.StatusCode, body)
		}
	}
}
