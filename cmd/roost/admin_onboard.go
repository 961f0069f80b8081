package main

import (
	"fmt"
	"net/url"
	"strings"
)

// Client onboarding (docs/clients.md): DNS guidance, DNS checks, a
// domain's public host name, Apple configuration profiles.

type dnsRecordView struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
	About string `json:"about"`
}

type domainDNSView struct {
	Domain  string          `json:"domain"`
	Host    string          `json:"host"`
	Records []dnsRecordView `json:"records"`
	Zone    string          `json:"zone"`
}

type checkResultView struct {
	dnsRecordView
	State string   `json:"state"`
	Found []string `json:"found"`
	Error string   `json:"error"`
}

// domainDNS is `roost admin domain dns DOMAIN`: the zone-file lines to publish.
func domainDNS(a *admin, _ *adminCmd, in *input) error {
	var d domainDNSView
	data, err := a.c.callInto(a.ctx, "GET", "/v1/domains/"+pathSeg(in.pos[0])+"/dns", nil, &d)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	fmt.Fprintf(a.stdout, "; DNS records for %s (clients connect to %s)\n", d.Domain, d.Host)
	fmt.Fprint(a.stdout, d.Zone)
	return nil
}

// domainCheck is `roost admin domain check DOMAIN [--resolver ADDR]`. It
// exits non-zero when a record is not present.
func domainCheck(a *admin, _ *adminCmd, in *input) error {
	path := "/v1/domains/" + pathSeg(in.pos[0]) + "/check"
	if r, ok := in.str["resolver"]; ok {
		if r == "" {
			return usagef("domain check: --resolver needs a value")
		}
		path += "?resolver=" + url.QueryEscape(r)
	}
	var res struct {
		Results []checkResultView `json:"results"`
	}
	data, err := a.c.callInto(a.ctx, "GET", path, nil, &res)
	if err != nil {
		return err
	}
	bad := 0
	var rows [][]string
	for _, r := range res.Results {
		if r.State != "present" {
			bad++
		}
		found := strings.Join(r.Found, " | ")
		if r.Error != "" {
			found = r.Error
		}
		rows = append(rows, []string{r.State, r.Type, r.Name, r.Value, found})
	}
	if a.json {
		a.printRaw(data)
	} else {
		printTable(a.stdout, []string{"State", "Type", "Name", "Expected", "Found"}, rows)
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d records are not in place", bad, len(res.Results))
	}
	return nil
}

// domainUpdate is `roost admin domain update DOMAIN [--public-hostname H] [--mta-sts-mode M]`.
func domainUpdate(a *admin, _ *adminCmd, in *input) error {
	body := map[string]string{}
	if v, ok := in.str["public-hostname"]; ok {
		body["public_hostname"] = v
	}
	if v, ok := in.str["mta-sts-mode"]; ok {
		body["mta_sts_mode"] = v
	}
	if len(body) == 0 {
		return usagef("domain update: give --public-hostname or --mta-sts-mode")
	}
	var d domainDNSView
	data, err := a.c.callInto(a.ctx, "PATCH", "/v1/domains/"+pathSeg(in.pos[0]), body, &d)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	fmt.Fprintf(a.stdout, "Domain %s: clients connect to %s\n", d.Domain, d.Host)
	return nil
}

// userProfile is `roost admin user profile LOGIN`: the signed Apple
// configuration profile (DER) on standard output.
func userProfile(a *admin, _ *adminCmd, in *input) error {
	data, err := a.c.call(a.ctx, "GET", "/v1/users/"+pathSeg(in.pos[0])+"/profile", nil)
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(data)
	return err
}
