package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

func tenantCreate(a *admin, _ *adminCmd, in *input) error {
	var t tenantView
	data, err := a.c.callInto(a.ctx, "POST", "/v1/tenants", map[string]string{"name": in.pos[0]}, &t)
	if err != nil {
		return err
	}
	a.say(data, "created tenant %s", t.Name)
	return nil
}

func tenantDelete(a *admin, _ *adminCmd, in *input) error {
	data, err := a.c.call(a.ctx, "DELETE", "/v1/tenants/"+pathSeg(in.pos[0]), nil)
	if err != nil {
		return err
	}
	a.say(data, "deleted tenant %s", in.pos[0])
	return nil
}

func tenantShow(a *admin, _ *adminCmd, in *input) error {
	var t tenantView
	data, err := a.c.callInto(a.ctx, "GET", "/v1/tenants/"+pathSeg(in.pos[0]), nil, &t)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var d details
	d.add("Name", "%s", t.Name)
	d.add("Created", "%s", shortTime(t.Created))
	if t.HomeNode != "" {
		d.add("Home node", "%s", t.HomeNode)
	}
	if t.PublicStoreID != 0 {
		d.add("Public store", "%d", t.PublicStoreID)
	} else {
		d.add("Public store", "none")
	}
	warn := quotaLevel(t.QuotaWarn)
	if t.QuotaWarn == 0 && t.Usage != nil && t.Usage.QuotaWarn != 0 {
		warn = quotaLevel(t.Usage.QuotaWarn) + " (companyquota_warn)"
	}
	d.add("Warning level", "%s", warn)
	if t.Usage != nil {
		d.add("Store usage", "%s (%d bytes)", t.Usage.SizeHuman, t.Usage.Size)
	}
	d.add("User warning level", "%s", userDefault(t.UserQuotaWarn))
	d.add("User soft level", "%s", userDefault(t.UserQuotaSoft))
	d.add("User hard level", "%s", userDefault(t.UserQuotaHard))
	d.add("Viewers", "%s", strings.Join(t.Viewers, ", "))
	d.add("Admins", "%s", strings.Join(t.Admins, ", "))
	d.write(a.stdout)
	return nil
}

func tenantList(a *admin, _ *adminCmd, _ *input) error {
	var ts []tenantView
	data, err := a.c.callInto(a.ctx, "GET", "/v1/tenants", nil, &ts)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var rows [][]string
	for _, t := range ts {
		pub := "none"
		if t.PublicStoreID != 0 {
			pub = fmt.Sprint(t.PublicStoreID)
		}
		rows = append(rows, []string{t.Name, pub, quotaLevel(t.QuotaWarn),
			userDefault(t.UserQuotaWarn) + " / " + userDefault(t.UserQuotaSoft) + " / " + userDefault(t.UserQuotaHard)})
	}
	printTable(a.stdout, []string{"Tenant", "Public store", "Warning level", "User quota warn / soft / hard"}, rows)
	return nil
}

func tenantUpdate(a *admin, cmd *adminCmd, in *input) error {
	body := map[string]any{}
	for _, f := range [][2]string{{"quota-warn", "quota_warn_mb"}, {"user-quota-warn", "user_quota_warn_mb"},
		{"user-quota-soft", "user_quota_soft_mb"}, {"user-quota-hard", "user_quota_hard_mb"}} {
		v, err := in.megabytes(f[0])
		if err != nil {
			return err
		}
		if v != "" {
			body[f[1]] = json.Number(v)
		}
	}
	if in.has("home-node") {
		body["home_node"] = in.str["home-node"]
	}
	if len(body) == 0 {
		return nothingToChange(cmd)
	}
	var t tenantView
	data, err := a.c.callInto(a.ctx, "PATCH", "/v1/tenants/"+pathSeg(in.pos[0]), body, &t)
	if err != nil {
		return err
	}
	a.say(data, "updated tenant %s", t.Name)
	return nil
}

func tenantViewer(a *admin, cmd *adminCmd, in *input) error {
	viewer, name := in.pos[0], in.pos[1]
	method, msg := "PUT", "tenant %s may now see the address book of tenant %s"
	if strings.HasSuffix(cmd.verb, "remove") {
		method, msg = "DELETE", "tenant %s no longer sees the address book of tenant %s"
	}
	data, err := a.c.call(a.ctx, method, "/v1/tenants/"+pathSeg(name)+"/viewers/"+pathSeg(viewer), nil)
	if err != nil {
		return err
	}
	a.say(data, msg, viewer, name)
	return nil
}

func tenantAdmin(a *admin, cmd *adminCmd, in *input) error {
	user, name := in.pos[0], in.pos[1]
	method, msg := "PUT", "%s now administers tenant %s"
	if strings.HasSuffix(cmd.verb, "remove") {
		method, msg = "DELETE", "%s no longer administers tenant %s"
	}
	data, err := a.c.call(a.ctx, method, "/v1/tenants/"+pathSeg(name)+"/admins/"+pathSeg(user), nil)
	if err != nil {
		return err
	}
	a.say(data, msg, user, name)
	return nil
}

// userDefault formats a tenant's default user quota level, 0 meaning the
// global level (quota_warn, quota_soft, quota_hard) applies.
func userDefault(b int64) string {
	if b == 0 {
		return "global default"
	}
	return quotaLevel(b)
}
