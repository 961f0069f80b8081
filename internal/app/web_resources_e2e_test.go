package app

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// TestWebAdminResourcesE2E: rooms and equipment and tenant settings in
// the web admin (web/e2e/resources.mjs). A tenant administrator creates a
// room that declines conflicts, makes it decline recurring bookings too,
// creates equipment with a capacity and deletes it, and sees neither
// another tenant's room nor another tenant; the store refuses their
// change of the tenant's quota. A system administrator sets another
// tenant's quotas and viewers and adds and removes an administrator.
// Here, afterwards, over the admin API (the socket `roost admin` uses):
// the room's settings, the equipment gone, the tenant's quotas and
// viewers.
func TestWebAdminResourcesE2E(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	httpsAddr := freePort(t)
	c := startServer(t, dir, fmt.Sprintf("https_listen = %q\n", httpsAddr))
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, c, "POST", "/v1/tenants", `{"name":"globex"}`, 201)
	adminCall(t, c, "POST", "/v1/domains", `{"name":"globex.test","tenant":"globex"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"tad","tenant":"default","email":"tad@example.org","name":"Tenant Admin","password":"pw-tad-12345","admin":1}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"sysop","tenant":"default","email":"sysop@example.org","name":"System Admin","password":"pw-sysop-12345","admin":2}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"globexroom","tenant":"globex","email":"hall@globex.test","name":"Globex Hall","active":false}`, 201)
	adminCall(t, c, "PATCH", "/v1/users/globexroom", `{"mr_accept":true}`, 200)

	runWebE2E(t, node, chromium, webDir, "resources.mjs", "web-resources",
		"BASE=https://"+httpsAddr, "TADMIN=tad", "TADMIN_PW=pw-tad-12345", "ROOT=sysop", "ROOT_PW=pw-sysop-12345",
		"OTHER_ROOM=globexroom", "OTHER_TENANT=globex")

	var room struct {
		Tenant   string `json:"tenant"`
		Active   bool   `json:"active"`
		Email    string `json:"email"`
		Resource struct {
			AutoAccept       bool `json:"auto_accept"`
			DeclineConflict  bool `json:"decline_conflict"`
			DeclineRecurring bool `json:"decline_recurring"`
			Capacity         int  `json:"capacity"`
		} `json:"resource"`
	}
	if err := json.Unmarshal([]byte(adminCall(t, c, "GET", "/v1/users/room7", "", 200)), &room); err != nil {
		t.Fatal(err)
	}
	if room.Tenant != "default" || room.Active || room.Email != "room7@example.org" || !room.Resource.AutoAccept ||
		!room.Resource.DeclineConflict || !room.Resource.DeclineRecurring || room.Resource.Capacity != 0 {
		t.Errorf("room7 over the admin API: %+v", room)
	}
	adminCall(t, c, "GET", "/v1/users/beamer", "", 404)
	var other struct {
		Resource struct {
			AutoAccept bool `json:"auto_accept"`
		} `json:"resource"`
	}
	json.Unmarshal([]byte(adminCall(t, c, "GET", "/v1/users/globexroom", "", 200)), &other)
	if !other.Resource.AutoAccept {
		t.Error("the tenant admin's direct request changed another tenant's room")
	}
	var tn struct {
		QuotaWarn     int64    `json:"quota_warn"`
		UserQuotaWarn int64    `json:"user_quota_warn"`
		UserQuotaHard int64    `json:"user_quota_hard"`
		Viewers       []string `json:"viewers"`
		Admins        []string `json:"admins"`
	}
	if err := json.Unmarshal([]byte(adminCall(t, c, "GET", "/v1/tenants/globex", "", 200)), &tn); err != nil {
		t.Fatal(err)
	}
	if tn.UserQuotaHard != 500<<20 || tn.UserQuotaWarn != 400<<20 || tn.QuotaWarn != 10000<<20 || !slices.Contains(tn.Viewers, "default") || slices.Contains(tn.Admins, "tad") {
		t.Errorf("globex over the admin API: %+v", tn)
	}
	var def struct {
		UserQuotaHard int64 `json:"user_quota_hard"`
	}
	json.Unmarshal([]byte(adminCall(t, c, "GET", "/v1/tenants/default", "", 200)), &def)
	if def.UserQuotaHard == 1<<20 {
		t.Error("the tenant admin changed their tenant's quota")
	}
}
