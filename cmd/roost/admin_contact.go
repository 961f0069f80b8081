package main

// `roost admin contact …`: a tenant's contacts, address book entries with
// an address and no account (POST/GET /v1/contacts, PATCH/DELETE
// /v1/contacts/{email}).

// contactView is a contact as the admin API returns it.
type contactView struct {
	Email      string `json:"email"`
	Name       string `json:"name"`
	Tenant     string `json:"tenant"`
	Hidden     bool   `json:"hidden"`
	Directory  bool   `json:"directory"`
	ExternalID string `json:"external_id"`
}

func contactCreate(a *admin, _ *adminCmd, in *input) error {
	body := map[string]any{"email": in.pos[0]}
	if v, ok := in.str["name"]; ok {
		body["name"] = v
	}
	if t := in.str["tenant"]; t != "" {
		body["tenant"] = t
	}
	if in.bools["hidden"] {
		body["hidden"] = true
	}
	var c contactView
	data, err := a.c.callInto(a.ctx, "POST", "/v1/contacts", body, &c)
	if err != nil {
		return err
	}
	a.say(data, "created contact %s%s", c.Email, inTenant(c.Tenant))
	return nil
}

func contactList(a *admin, _ *adminCmd, in *input) error {
	var cs []contactView
	data, err := a.c.callInto(a.ctx, "GET", "/v1/contacts"+tenantQuery(in.str["tenant"]), nil, &cs)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var rows [][]string
	for _, c := range cs {
		source := "local"
		if c.Directory {
			source = "directory"
		}
		rows = append(rows, []string{c.Email, c.Name, c.Tenant, yesno(c.Hidden), source})
	}
	printTable(a.stdout, []string{"Emailaddress", "Fullname", "Tenant", "Hidden", "Source"}, rows)
	return nil
}

func contactUpdate(a *admin, cmd *adminCmd, in *input) error {
	body := map[string]any{}
	for _, f := range []string{"email", "name"} {
		if v, ok := in.str[f]; ok {
			body[f] = v
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
	var c contactView
	data, err := a.c.callInto(a.ctx, "PATCH", "/v1/contacts/"+pathSeg(in.pos[0])+tenantQuery(in.str["tenant"]), body, &c)
	if err != nil {
		return err
	}
	a.say(data, "updated contact %s%s", c.Email, inTenant(c.Tenant))
	return nil
}

func contactDelete(a *admin, _ *adminCmd, in *input) error {
	data, err := a.c.call(a.ctx, "DELETE", "/v1/contacts/"+pathSeg(in.pos[0])+tenantQuery(in.str["tenant"]), nil)
	if err != nil {
		return err
	}
	a.say(data, "deleted contact %s", in.pos[0])
	return nil
}
