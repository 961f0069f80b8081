package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

func domainAdd(a *admin, _ *adminCmd, in *input) error {
	body := map[string]any{"name": in.pos[0]}
	if t := in.str["tenant"]; t != "" {
		body["tenant"] = t
	}
	var d domainView
	data, err := a.c.callInto(a.ctx, "POST", "/v1/domains", body, &d)
	if err != nil {
		return err
	}
	if singleTenant(d.Tenant) {
		a.say(data, "added domain %s", d.Name)
	} else {
		a.say(data, "added domain %s to tenant %s", d.Name, d.Tenant)
	}
	return nil
}

func domainRemove(a *admin, _ *adminCmd, in *input) error {
	data, err := a.c.call(a.ctx, "DELETE", "/v1/domains/"+pathSeg(in.pos[0])+tenantQuery(in.str["tenant"]), nil)
	if err != nil {
		return err
	}
	a.say(data, "removed domain %s", in.pos[0])
	return nil
}

func domainList(a *admin, _ *adminCmd, _ *input) error {
	var ds []domainView
	data, err := a.c.callInto(a.ctx, "GET", "/v1/domains", nil, &ds)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var rows [][]string
	for _, d := range ds {
		rows = append(rows, []string{d.Name, d.Tenant})
	}
	printTable(a.stdout, []string{"Domain", "Tenant"}, rows)
	return nil
}

func storeOrphans(a *admin, _ *adminCmd, _ *input) error {
	var ss []storeView
	data, err := a.c.callInto(a.ctx, "GET", "/v1/stores/orphans", nil, &ss)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var rows [][]string
	for _, s := range ss {
		rows = append(rows, []string{fmt.Sprint(s.ID), s.Tenant, s.FormerOwner, s.Kind, s.SizeHuman, fmt.Sprint(s.Messages), shortTime(s.Created)})
	}
	printTable(a.stdout, []string{"Store", "Tenant", "Former owner", "Kind", "Size", "Messages", "Created"}, rows)
	return nil
}

func storeHook(a *admin, cmd *adminCmd, in *input) error {
	id, err := storeIDArg(cmd, in.pos[0])
	if err != nil {
		return err
	}
	user := in.str["user"]
	var s storeView
	data, err := a.c.callInto(a.ctx, "POST", fmt.Sprintf("/v1/stores/%d/hook", id), map[string]string{"user": user}, &s)
	if err != nil {
		return err
	}
	if user == "" {
		a.say(data, "store %d is now the public store of tenant %s", s.ID, s.Tenant)
	} else {
		a.say(data, "store %d now belongs to user %s", s.ID, s.Owner)
	}
	return nil
}

func storeRemove(a *admin, cmd *adminCmd, in *input) error {
	id, err := storeIDArg(cmd, in.pos[0])
	if err != nil {
		return err
	}
	data, err := a.c.call(a.ctx, "DELETE", fmt.Sprintf("/v1/stores/%d", id), nil)
	if err != nil {
		return err
	}
	a.say(data, "removed store %d; it is purged after softdelete_lifetime days (or by roost admin softdelete purge)", id)
	return nil
}

func storeCreatePublic(a *admin, _ *adminCmd, in *input) error {
	body := map[string]any{}
	if t := in.str["tenant"]; t != "" {
		body["tenant"] = t
	}
	var s storeView
	data, err := a.c.callInto(a.ctx, "POST", "/v1/stores/public", body, &s)
	if err != nil {
		return err
	}
	a.say(data, "created public store %d for tenant %s", s.ID, s.Tenant)
	return nil
}

func storePublicFolder(a *admin, _ *adminCmd, in *input) error {
	body := map[string]any{"path": in.pos[0]}
	if t := in.str["type"]; t != "" {
		body["type"] = t
	}
	if t := in.str["tenant"]; t != "" {
		body["tenant"] = t
	}
	if l := in.lists["acl"]; len(l) > 0 {
		acl := map[string]string{}
		for _, e := range l {
			subj, rights, ok := strings.Cut(e, "=")
			if !ok || subj == "" {
				return usagef("store public-folder: --acl %q: want SUBJECT=RIGHTS, e.g. anyone=lr", e)
			}
			acl[subj] = rights
		}
		body["acl"] = acl
	}
	var f struct {
		ID      int64  `json:"id"`
		StoreID int64  `json:"store_id"`
		Path    string `json:"path"`
		Type    string `json:"type"`
		Created bool   `json:"created"`
	}
	data, err := a.c.callInto(a.ctx, "POST", "/v1/stores/public/folders", body, &f)
	if err != nil {
		return err
	}
	verb := "created"
	if !f.Created {
		verb = "found existing"
	}
	a.say(data, "%s %s folder %q (id %d) in public store %d", verb, f.Type, f.Path, f.ID, f.StoreID)
	return nil
}

func softdeletePurge(a *admin, cmd *adminCmd, in *input) error {
	if !in.has("days") {
		return usagef("%s: --days N is required (usage: roost admin %s)", cmd.name(), cmd.syntax)
	}
	days, err := in.count("days", "days")
	if err != nil {
		return err
	}
	var st struct {
		Items   int64 `json:"items"`
		Folders int64 `json:"folders"`
		Stores  int64 `json:"stores"`
		Blobs   int64 `json:"blobs"`
	}
	data, err := a.c.callInto(a.ctx, "POST", "/v1/softdelete/purge", map[string]any{"days": json.Number(fmt.Sprint(*days))}, &st)
	if err != nil {
		return err
	}
	a.say(data, "purged %d items, %d folders, %d stores and %d blobs deleted more than %d days ago",
		st.Items, st.Folders, st.Stores, st.Blobs, *days)
	return nil
}

// adminDeliver pipes standard input to POST /v1/deliver: a local MTA's
// mailbox_command or pipe transport. It returns only after the server
// stored the message durably.
func adminDeliver(a *admin, _ *adminCmd, in *input) error {
	if a.stdin == nil {
		return errors.New("deliver: no message on standard input")
	}
	var d struct {
		User      string   `json:"user"`
		UID       uint32   `json:"uid"`
		Forwarded []string `json:"forwarded"`
	}
	q := "/v1/deliver?rcpt=" + url.QueryEscape(in.pos[0])
	if from, ok := in.str["from"]; ok {
		q += "&from=" + url.QueryEscape(from)
	}
	data, err := a.c.do(a.ctx, "POST", q, a.stdin, "message/rfc822")
	if err != nil {
		return deliverError{err}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("deliver: unexpected reply: %w", err)
	}
	if d.User == "" {
		// A group of contacts only.
		if len(d.Forwarded) == 0 {
			a.say(data, "accepted for %s, not sent on to its contacts: a mail loop, spam, or no outbound queue (see the server's log)", in.pos[0])
			return nil
		}
		a.say(data, "sent on to the %d contacts of %s", len(d.Forwarded), in.pos[0])
		return nil
	}
	if d.UID == 0 {
		a.say(data, "delivered to %s: the user's filter discarded or redirected it", d.User)
		return nil
	}
	a.say(data, "delivered to %s, UID %d", d.User, d.UID)
	return nil
}

func adminStatus(a *admin, _ *adminCmd, _ *input) error {
	var st struct {
		Version       string `json:"version"`
		UptimeSeconds int64  `json:"uptime_seconds"`
	}
	data, err := a.c.callInto(a.ctx, "GET", "/v1/status", nil, &st)
	if err != nil {
		return err
	}
	a.say(data, "Roost %s, up %s, admin socket %s", st.Version, time.Duration(st.UptimeSeconds)*time.Second, a.c.sock)
	return nil
}

// deliverError carries a delivery failure to runAdmin, which turns it into
// a sysexits(3) status an MTA understands: 67 (EX_NOUSER) bounces for an
// unknown recipient, 77 (EX_NOPERM) for a Sieve reject, 75 (EX_TEMPFAIL)
// makes the MTA retry later.
type deliverError struct{ err error }

func (e deliverError) Error() string { return e.err.Error() }
func (e deliverError) Unwrap() error { return e.err }

func (e deliverError) exitCode() int {
	var ae *apiError
	if errors.As(e.err, &ae) {
		switch {
		case ae.status == 404:
			return 67 // EX_NOUSER
		case ae.status == 400 || ae.status == 413:
			return 65 // EX_DATAERR: the message itself is refused
		case ae.status == 422:
			return 77 // EX_NOPERM: the recipient's filter rejects it
		}
	}
	return 75 // EX_TEMPFAIL: server down, over quota, or a server error
}
