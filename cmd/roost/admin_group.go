package main

import (
	"fmt"
	"strings"
)

func groupCreate(a *admin, _ *adminCmd, in *input) error {
	body := map[string]any{"name": in.pos[0]}
	for _, k := range []string{"tenant", "email", "kind"} {
		if v := in.str[k]; v != "" {
			body[k] = v
		}
	}
	if in.bools["hidden"] {
		body["hidden"] = true
	}
	var g groupView
	data, err := a.c.callInto(a.ctx, "POST", "/v1/groups", body, &g)
	if err != nil {
		return err
	}
	a.say(data, "created group %s%s", g.Name, inTenant(g.Tenant))
	return nil
}

func groupDelete(a *admin, _ *adminCmd, in *input) error {
	data, err := a.c.call(a.ctx, "DELETE", "/v1/groups/"+pathSeg(in.pos[0])+tenantQuery(in.str["tenant"]), nil)
	if err != nil {
		return err
	}
	a.say(data, "deleted group %s", in.pos[0])
	return nil
}

func groupShow(a *admin, _ *adminCmd, in *input) error {
	var g groupView
	data, err := a.c.callInto(a.ctx, "GET", "/v1/groups/"+pathSeg(in.pos[0])+tenantQuery(in.str["tenant"]), nil, &g)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var d details
	d.add("Name", "%s", g.Name)
	if !singleTenant(g.Tenant) {
		d.add("Tenant", "%s", g.Tenant)
	}
	d.add("Emailaddress", "%s", g.Email)
	d.add("Kind", "%s", g.Kind)
	d.add("Address book", "%s", map[bool]string{false: "visible", true: "hidden"}[g.Hidden])
	d.add("Built in", "%s", yesno(g.BuiltIn))
	d.add(fmt.Sprintf("Users (%d)", len(g.Members)), "%s", strings.Join(g.Members, ", "))
	if len(g.Contacts) > 0 {
		d.add(fmt.Sprintf("Contacts (%d)", len(g.Contacts)), "%s", strings.Join(g.Contacts, ", "))
	}
	d.write(a.stdout)
	return nil
}

func groupList(a *admin, _ *adminCmd, in *input) error {
	var gs []groupView
	data, err := a.c.callInto(a.ctx, "GET", "/v1/groups"+tenantQuery(in.str["tenant"]), nil, &gs)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var rows [][]string
	for _, g := range gs {
		rows = append(rows, []string{g.Name, g.Tenant, g.Kind, g.Email, fmt.Sprint(len(g.Members) + len(g.Contacts))})
	}
	printTable(a.stdout, []string{"Group", "Tenant", "Kind", "Emailaddress", "Members"}, rows)
	return nil
}

func groupMember(a *admin, cmd *adminCmd, in *input) error {
	group, user := in.pos[0], in.pos[1]
	method, msg := "PUT", "added %s to group %s"
	if cmd.verb == "remove-member" {
		method, msg = "DELETE", "removed %s from group %s"
	}
	data, err := a.c.call(a.ctx, method, "/v1/groups/"+pathSeg(group)+"/members/"+pathSeg(user)+tenantQuery(in.str["tenant"]), nil)
	if err != nil {
		return err
	}
	a.say(data, msg, user, group)
	return nil
}

// groupContact makes one of the tenant's contacts (roost admin contact) a
// member of a group: mail to the group goes out to its address too.
func groupContact(a *admin, cmd *adminCmd, in *input) error {
	group, email := in.pos[0], in.pos[1]
	method, msg := "PUT", "added contact %s to group %s"
	if cmd.verb == "remove-contact" {
		method, msg = "DELETE", "removed contact %s from group %s"
	}
	data, err := a.c.call(a.ctx, method, "/v1/groups/"+pathSeg(group)+"/contacts/"+pathSeg(email)+tenantQuery(in.str["tenant"]), nil)
	if err != nil {
		return err
	}
	a.say(data, msg, email, group)
	return nil
}

// groupUpdate changes a group's name, address, kind or visibility.
func groupUpdate(a *admin, cmd *adminCmd, in *input) error {
	body := map[string]any{}
	for _, f := range [][2]string{{"rename", "name"}, {"email", "email"}, {"kind", "kind"}} {
		if v, ok := in.str[f[0]]; ok {
			body[f[1]] = v
		}
	}
	hidden, err := in.onOff(cmd, "hidden", "visible")
	if err != nil {
		return err
	}
	if hidden != nil {
		body["hidden"] = *hidden
	}
	if len(body) == 0 {
		return nothingToChange(cmd)
	}
	var g groupView
	data, err := a.c.callInto(a.ctx, "PATCH", "/v1/groups/"+pathSeg(in.pos[0])+tenantQuery(in.str["tenant"]), body, &g)
	if err != nil {
		return err
	}
	a.say(data, "updated group %s%s", g.Name, inTenant(g.Tenant))
	return nil
}
