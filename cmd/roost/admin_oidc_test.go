package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/oidc"
	"github.com/roost-mail/roost/internal/store"
)

// The grammar of issue 13: oidc client add NAME --redirect-uri URI
// [--public] prints the client id and secret; list; remove.
func TestAdminOIDCClients(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	out := e.ok("oidc", "client", "add", "grafana", "--redirect-uri", "https://grafana.example.com/login/generic_oauth")
	m := regexp.MustCompile(`(?m)^client id: grafana\nclient secret: (\S{32,})\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("client add printed %q", out)
	}
	var js struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		RedirectURIs []string `json:"redirect_uris"`
		Public       bool     `json:"public"`
	}
	e.okJSON(&js, "oidc", "client", "add", "app", "--redirect-uri", "http://127.0.0.1/cb", "--redirect-uri", "https://app.example/cb", "--public")
	if js.ClientID != "app" || js.ClientSecret != "" || !js.Public || len(js.RedirectURIs) != 2 {
		t.Fatalf("--json: %+v", js)
	}
	e.fails(1, "exists", "oidc", "client", "add", "grafana", "--redirect-uri", "https://x.example/cb")
	e.fails(1, "is not an https URL", "oidc", "client", "add", "evil", "--redirect-uri", "http://evil.example/cb")
	e.fails(2, "--redirect-uri is required", "oidc", "client", "add", "x")
	out = e.ok("oidc", "client", "list")
	if !regexp.MustCompile(`(?m)^grafana\s+confidential\s+https://grafana.example.com/login/generic_oauth$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^app\s+public\s+http://127.0.0.1/cb https://app.example/cb$`).MatchString(out) || strings.Contains(out, m[1]) {
		t.Fatalf("client list:\n%s", out)
	}
	e.ok("oidc", "client", "remove", "grafana")
	e.fails(1, `roost admin: oidc client "grafana": not found`, "oidc", "client", "remove", "grafana")
	cs, err := oidc.ListClients(store.SystemContext(context.Background()), e.db)
	if err != nil || len(cs) != 1 || cs[0].ID != "app" {
		t.Fatalf("clients left: %v %v", cs, err)
	}
}
