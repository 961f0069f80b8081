package onboard_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/onboard"
)

// TestStoreFailure: a failing store is a temporary failure (503), never
// the "not served" answer.
func TestStoreFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := &onboard.Service{Settings: e.svc.Settings, User: e.db.GetUser,
		Props: func(ctx context.Context, domain string) (map[string]string, error) {
			return nil, errors.New("injected: database is gone")
		}}
	mux := http.NewServeMux()
	svc.Mount(mux, onboard.HandlerOptions{})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, c := range []struct{ method, path, host, body string }{
		{"GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice@example.org", "", ""},
		{"GET", "/mail/config-v1.1.xml", "autoconfig.example.org", ""},
		{"POST", "/autodiscover/autodiscover.xml", "", poxRequest("alice@example.org", onboard.SchemaOutlook)},
		{"GET", "/autodiscover/autodiscover.json?Email=alice@example.org&Protocol=AutodiscoverV1", "", ""},
		{"GET", "/.well-known/mta-sts.txt", "mta-sts.example.org", ""},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
		if c.host != "" {
			req.Host = c.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s %s: %d, want 503", c.method, c.path, resp.StatusCode)
		}
	}
}
