package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

func userCreate(a *admin, _ *adminCmd, in *input) error {
	body := map[string]any{"login": in.pos[0]}
	for _, f := range [][2]string{{"email", "email"}, {"name", "name"}, {"tenant", "tenant"}} {
		if v, ok := in.str[f[0]]; ok {
			body[f[1]] = v
		}
	}
	lvl, err := in.adminLevel()
	if err != nil {
		return err
	}
	if lvl != nil {
		body["admin"] = *lvl
	}
	if in.has("inactive") {
		body["active"] = !in.bools["inactive"]
	}
	if in.bools["password-stdin"] {
		pw, err := readPassword(a.stdin)
		if err != nil {
			return err
		}
		body["password"] = pw
	}
	var u userView
	data, err := a.c.callInto(a.ctx, "POST", "/v1/users", body, &u)
	if err != nil {
		return err
	}
	a.say(data, "created user %s%s (store %d)", u.Login, inTenant(u.Tenant), u.StoreID)
	return nil
}

func userUpdate(a *admin, cmd *adminCmd, in *input) error {
	body := map[string]any{}
	for _, f := range [][2]string{{"rename", "rename"}, {"email", "email"}, {"name", "name"}} {
		if v, ok := in.str[f[0]]; ok {
			body[f[1]] = v
		}
	}
	if in.bools["password-stdin"] {
		pw, err := readPassword(a.stdin)
		if err != nil {
			return err
		}
		body["password"] = pw
	}
	lvl, err := in.adminLevel()
	if err != nil {
		return err
	}
	if lvl != nil {
		body["admin"] = *lvl
	}
	active, err := in.onOff(cmd, "active", "inactive")
	if err != nil {
		return err
	}
	if active != nil {
		body["active"] = *active
	}
	for _, f := range [][2]string{{"alias-add", "alias_add"}, {"alias-remove", "alias_remove"},
		{"enable-feature", "enable_feature"}, {"disable-feature", "disable_feature"},
		{"add-sendas", "sendas_add"}, {"remove-sendas", "sendas_remove"}} {
		if l := in.lists[f[0]]; len(l) > 0 {
			body[f[1]] = l
		}
	}
	for _, f := range [][2]string{{"quota-override", "quota_override"}, {"mr-accept", "mr_accept"},
		{"mr-decline-conflict", "mr_decline_conflict"}, {"mr-decline-recurring", "mr_decline_recurring"}} {
		b, err := in.yesNo(f[0])
		if err != nil {
			return err
		}
		if b != nil {
			body[f[1]] = *b
		}
	}
	for _, f := range [][2]string{{"quota-warn", "quota_warn_mb"}, {"quota-soft", "quota_soft_mb"}, {"quota-hard", "quota_hard_mb"}} {
		v, err := in.megabytes(f[0])
		if err != nil {
			return err
		}
		if v != "" {
			body[f[1]] = json.Number(v)
		}
	}
	capacity, err := in.count("capacity", "resources")
	if err != nil {
		return err
	}
	if capacity != nil {
		body["capacity"] = *capacity
	}
	if len(body) == 0 {
		return usagef("%s: nothing to change (see roost admin user update --help)", cmd.name())
	}
	var u userView
	data, err := a.c.callInto(a.ctx, "PATCH", "/v1/users/"+pathSeg(in.pos[0]), body, &u)
	if err != nil {
		return err
	}
	if u.Login != in.pos[0] && !strings.EqualFold(u.Login, in.pos[0]) {
		a.say(data, "updated user %s (renamed from %s)", u.Login, in.pos[0])
	} else {
		a.say(data, "updated user %s", u.Login)
	}
	return nil
}

func userDelete(a *admin, _ *adminCmd, in *input) error {
	data, err := a.c.call(a.ctx, "DELETE", "/v1/users/"+pathSeg(in.pos[0]), nil)
	if err != nil {
		return err
	}
	a.say(data, "deleted user %s; its store is kept as an orphan (roost admin store list-orphans)", in.pos[0])
	return nil
}

func userShow(a *admin, _ *adminCmd, in *input) error {
	var u userView
	data, err := a.c.callInto(a.ctx, "GET", "/v1/users/"+pathSeg(in.pos[0]), nil, &u)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	// The order and names of kopano-admin --details.
	var d details
	d.add("Username", "%s", u.Login)
	d.add("Fullname", "%s", u.FullName)
	d.add("Emailaddress", "%s", u.Email)
	d.add("Aliases", "%s", strings.Join(u.Aliases, ", "))
	if !singleTenant(u.Tenant) {
		d.add("Tenant", "%s", u.Tenant)
	}
	d.add("Active", "%s", yesno(u.Active))
	d.add("Administrator", "%s", adminName(u.Admin))
	d.add("Features", "%s", joinOr(u.Features.Effective, "; ", "none"))
	d.add("Enabled features", "%s", strings.Join(u.Features.Enabled, "; "))
	d.add("Disabled features", "%s", strings.Join(u.Features.Disabled, "; "))
	d.add("Store", "%s", storeName(u.StoreID))
	if u.Store != nil {
		d.add("Store size", "%s (%d bytes, %d messages)", u.Store.SizeHuman, u.Store.Size, u.Store.Messages)
	}
	d.add("Home node", "%s", u.HomeNode)
	d.add("Send-as", "%s", strings.Join(u.SendAs, ", "))
	d.add("Auto-accept meeting requests", "%s", yesno(u.Resource.AutoAccept))
	d.add("Decline conflicting requests", "%s", yesno(u.Resource.DeclineConflict))
	d.add("Decline recurring requests", "%s", yesno(u.Resource.DeclineRecurring))
	d.add("Resource capacity", "%d", u.Resource.Capacity)
	d.add("Quota overrides", "%s", yesno(u.Quota.Override))
	// The levels in force: the effective ones when the server sent them,
	// else the user's own (which apply only with an override).
	lv, src := u.Quota.quotaLevels, "user"
	if u.Store != nil {
		lv, src = u.Store.Quota.quotaLevels, u.Store.Quota.Source
	}
	d.add("Warning level", "%s", quotaLevel(lv.Warn))
	d.add("Soft level", "%s", quotaLevel(lv.Soft))
	d.add("Hard level", "%s", quotaLevel(lv.Hard))
	d.add("Quota source", "%s", src)
	d.add("Groups", "%s", strings.Join(u.Groups, ", "))
	d.write(a.stdout)
	return nil
}

func storeName(id int64) string {
	if id == 0 {
		return "none yet (created at first use)"
	}
	return fmt.Sprint(id)
}

func userList(a *admin, _ *adminCmd, in *input) error {
	var us []userView
	data, err := a.c.callInto(a.ctx, "GET", "/v1/users"+tenantQuery(in.str["tenant"]), nil, &us)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var rows [][]string
	for _, u := range us {
		rows = append(rows, []string{u.Login, u.FullName, u.Email, u.Tenant, yesno(u.Active), adminName(u.Admin)})
	}
	printTable(a.stdout, []string{"Username", "Fullname", "Emailaddress", "Tenant", "Active", "Administrator"}, rows)
	return nil
}
