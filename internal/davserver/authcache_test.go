package davserver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/davserver"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestAuthCacheDAV: the shared credential cache over HTTP Basic auth, sent
// with every request, with each invalidating event (issue 10). The DAV
// server's own cache is off, as the app runs it by default
// (dav_auth_cache_ttl = 0).
func TestAuthCacheDAV(t *testing.T) {
	var c *testenv.AuthCounter
	e := newEnv(t, func(o *davserver.Options) {
		c = testenv.NewAuthCounter(o.Store)
		o.AuthCacheTTL = -1
		o.Authenticate = c.Authenticate("dav")
	})
	testenv.AuthCacheScenario(t, c, func(user, pw string) bool {
		req, err := http.NewRequest("PROPFIND", e.url+"/dav/", strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Depth", "0")
		req.SetBasicAuth(user, pw)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		switch res.StatusCode {
		case http.StatusMultiStatus:
			return true
		case http.StatusUnauthorized, http.StatusForbidden:
			return false
		}
		t.Fatalf("PROPFIND /dav/: %s", res.Status)
		return false
	}, "alice", password("alice"))
}
