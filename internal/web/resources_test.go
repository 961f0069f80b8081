package web_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestWebAdminResourcesTenancy: what the web admin's rooms and equipment
// and tenant settings send, as a tenant administrator: a room of their
// own tenant is created and given its rules; another tenant's room can
// neither be created, changed nor deleted, nor is it listed; the tenant's
// quotas, viewers and administrators are refused to them (a system
// administrator's), and granted to a system administrator. The store
// decides: the requests go straight at the API.
func TestWebAdminResourcesTenancy(t *testing.T) {
	e := newAdminEnv(t)
	e.st.User(t, "globex", store.User{Login: "hall", Active: false, Resource: store.ResourceSettings{AutoAccept: true}}, "")
	ada := with(cookie(e.login("ada", "pw-ada")), "Content-Type", "application/json")

	if res, body := e.do("POST", "/web/admin/v1/users", `{"login":"room1","active":false}`, ada); res.StatusCode != 201 {
		t.Fatalf("create room: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("PATCH", "/web/admin/v1/users/room1", `{"mr_accept":true,"mr_decline_conflict":true,"capacity":0}`, ada); res.StatusCode != 200 {
		t.Fatalf("room rules: %d %s", res.StatusCode, body)
	}
	u, err := e.st.GetUser(testenv.Sys, "room1")
	if err != nil || u.Tenant != "acme" || u.Active || !u.Resource.AutoAccept || !u.Resource.DeclineConflict || u.CalendarUserType() != "ROOM" {
		t.Fatalf("room1: %+v %v", u, err)
	}
	if res, body := e.do("GET", "/web/admin/v1/users", "", ada); res.StatusCode != 200 || !strings.Contains(body, `"room1"`) || strings.Contains(body, `"hall"`) {
		t.Errorf("tenant admin's list: %d %s", res.StatusCode, body)
	}
	for _, c := range []struct{ name, method, path, body string }{
		{"create in another tenant", "POST", "/web/admin/v1/users", `{"login":"hall2","tenant":"globex","active":false}`},
		{"change another tenant's room", "PATCH", "/web/admin/v1/users/hall", `{"mr_accept":false}`},
		{"delete another tenant's room", "DELETE", "/web/admin/v1/users/hall", ""},
		{"own tenant's quota", "PATCH", "/web/admin/v1/tenants/acme", `{"user_quota_hard_mb":1}`},
		{"add a viewer", "PUT", "/web/admin/v1/tenants/acme/viewers/globex", ""},
		{"add an administrator", "PUT", "/web/admin/v1/tenants/acme/admins/alice", ""},
		{"another tenant", "GET", "/web/admin/v1/tenants/globex", ""},
	} {
		if res, body := e.do(c.method, c.path, c.body, ada); res.StatusCode/100 == 2 {
			t.Errorf("%s: %d %s, want a refusal", c.name, res.StatusCode, body)
		}
	}
	if h, err := e.st.GetUser(testenv.Sys, "hall"); err != nil || !h.Resource.AutoAccept {
		t.Errorf("hall after the attempts: %+v %v", h, err)
	}
	if _, err := e.st.GetUser(testenv.Sys, "hall2"); err == nil {
		t.Error("hall2 was created in globex")
	}
	if tn := tenant(t, e, "acme", ada); tn.UserQuotaHard != 0 || len(tn.Viewers) != 0 || slices.Contains(tn.Admins, "alice") {
		t.Errorf("acme after the attempts: %+v", tn)
	}

	root := with(cookie(e.login("root", "pw-root")), "Content-Type", "application/json")
	for _, c := range []struct{ method, path, body string }{
		{"PATCH", "/web/admin/v1/tenants/globex", `{"user_quota_hard_mb":500,"quota_warn_mb":1000}`},
		{"PUT", "/web/admin/v1/tenants/globex/viewers/acme", ""},
		{"PUT", "/web/admin/v1/tenants/globex/admins/ada", ""},
		{"DELETE", "/web/admin/v1/tenants/globex/admins/ada", ""},
	} {
		if res, body := e.do(c.method, c.path, c.body, root); res.StatusCode/100 != 2 {
			t.Fatalf("system admin %s %s: %d %s", c.method, c.path, res.StatusCode, body)
		}
	}
	if tn := tenant(t, e, "globex", root); tn.UserQuotaHard != 500<<20 || tn.QuotaWarn != 1000<<20 || !slices.Equal(tn.Viewers, []string{"acme"}) || slices.Contains(tn.Admins, "ada") {
		t.Errorf("globex: %+v", tn)
	}
}

type tenantReply struct {
	QuotaWarn     int64    `json:"quota_warn"`
	UserQuotaHard int64    `json:"user_quota_hard"`
	Viewers       []string `json:"viewers"`
	Admins        []string `json:"admins"`
}

func tenant(t *testing.T, e *env, name string, hdr map[string]string) tenantReply {
	t.Helper()
	res, body := e.do("GET", "/web/admin/v1/tenants/"+name, "", hdr)
	var tn tenantReply
	if err := json.Unmarshal([]byte(body), &tn); res.StatusCode != 200 || err != nil {
		t.Fatalf("tenant %s: %d %s", name, res.StatusCode, body)
	}
	return tn
}
