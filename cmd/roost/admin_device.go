package main

import "time"

type deviceView struct {
	ID           string    `json:"id"`
	Login        string    `json:"login"`
	Type         string    `json:"type"`
	Model        string    `json:"model"`
	OS           string    `json:"os"`
	FriendlyName string    `json:"friendly_name"`
	UserAgent    string    `json:"user_agent"`
	Version      string    `json:"protocol_version"`
	FirstSync    time.Time `json:"first_sync"`
	LastSync     time.Time `json:"last_sync"`
	PolicyKey    uint32    `json:"policy_key"`
	Provisioned  time.Time `json:"provisioned"`
	Wipe         *struct {
		State     string    `json:"state"`
		By        string    `json:"by"`
		Requested time.Time `json:"requested"`
		Done      time.Time `json:"done"`
	} `json:"wipe"`
}

func (d deviceView) policy() string {
	switch {
	case d.Wipe != nil && (d.Wipe.State == "done" || d.Wipe.State == "account-done"):
		return "wiped " + d.Wipe.Done.Local().Format("2006-01-02 15:04")
	case d.Wipe != nil:
		return "wipe pending"
	case d.PolicyKey != 0:
		return "provisioned"
	}
	return "not provisioned"
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// deviceList is `roost admin device list [LOGIN]`.
func deviceList(a *admin, _ *adminCmd, in *input) error {
	path := "/v1/devices" + tenantQuery(in.str["tenant"])
	if len(in.pos) == 1 {
		path = "/v1/users/" + pathSeg(in.pos[0]) + "/devices"
	}
	var ds []deviceView
	data, err := a.c.callInto(a.ctx, "GET", path, nil, &ds)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var rows [][]string
	for _, d := range ds {
		model := d.Model
		if model == "" {
			model = d.Type
		}
		rows = append(rows, []string{d.Login, d.ID, model, d.OS, d.Version, when(d.FirstSync), when(d.LastSync), d.policy()})
	}
	printTable(a.stdout, []string{"Username", "Device", "Model", "OS", "Protocol", "First sync", "Last sync", "Policy"}, rows)
	return nil
}

// deviceWipe is `roost admin device wipe LOGIN DEVICE`.
func deviceWipe(a *admin, _ *adminCmd, in *input) error {
	body := map[string]any{"account_only": in.bools["account-only"]}
	var d deviceView
	data, err := a.c.callInto(a.ctx, "POST", "/v1/users/"+pathSeg(in.pos[0])+"/devices/"+pathSeg(in.pos[1])+"/wipe", body, &d)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	what := "wiped"
	if in.bools["account-only"] {
		what = "cleared of this account's data"
	}
	a.say(nil, "device %s of %s will be %s at its next contact", in.pos[1], in.pos[0], what)
	return nil
}

// deviceRemove is `roost admin device remove LOGIN DEVICE`.
func deviceRemove(a *admin, _ *adminCmd, in *input) error {
	data, err := a.c.call(a.ctx, "DELETE", "/v1/users/"+pathSeg(in.pos[0])+"/devices/"+pathSeg(in.pos[1]), nil)
	if err != nil {
		return err
	}
	a.say(data, "removed device %s of %s; it must provision again", in.pos[1], in.pos[0])
	return nil
}
