package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// importView is the admin API's reply to a calendar or contacts import.
type importView struct {
	User     string `json:"user"`
	Folder   string `json:"folder"`
	FolderID int64  `json:"folder_id"`
	Created  bool   `json:"created"`
	Events   int    `json:"events"`
	Tasks    int    `json:"tasks"`
	Journals int    `json:"journals"`
	Contacts int    `json:"contacts"`
	Skipped  []struct {
		UID  string `json:"uid"`
		Kind string `json:"kind"`
	} `json:"skipped"`
}

// exportView is what --json prints after an export (the reply itself is
// the file).
type exportView struct {
	User     string `json:"user"`
	Folder   string `json:"folder"`
	File     string `json:"file"`
	Bytes    int    `json:"bytes"`
	Events   int    `json:"events"`
	Tasks    int    `json:"tasks"`
	Journals int    `json:"journals"`
	Contacts int    `json:"contacts"`
}

// collectionPath is the API path of a user's calendar ("calendars") or
// address book ("contacts") folder.
func collectionPath(kind, login, folder, verb string) string {
	return "/v1/users/" + pathSeg(login) + "/" + kind + "/" + pathSeg(folder) + "/" + verb
}

func calendarImport(a *admin, cmd *adminCmd, in *input) error {
	return importFile(a, cmd, in, "calendars", "text/calendar; charset=utf-8")
}

func contactsImport(a *admin, cmd *adminCmd, in *input) error {
	return importFile(a, cmd, in, "contacts", "text/vcard; charset=utf-8")
}

func calendarExport(a *admin, cmd *adminCmd, in *input) error {
	return exportFile(a, cmd, in, "calendars")
}

func contactsExport(a *admin, cmd *adminCmd, in *input) error {
	return exportFile(a, cmd, in, "contacts")
}

// importFile sends FILE ("-": standard input) to the import endpoint.
func importFile(a *admin, cmd *adminCmd, in *input, kind, ctype string) error {
	login, folder, file := in.pos[0], in.pos[1], in.pos[2]
	var body io.Reader
	if file == "-" {
		if a.stdin == nil {
			return fmt.Errorf("%s: no standard input", cmd.name())
		}
		body = a.stdin
	} else {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("%s: %w", cmd.name(), err)
		}
		defer f.Close()
		body = f
	}
	data, err := a.c.do(a.ctx, "POST", collectionPath(kind, login, folder, "import"), body, ctype)
	if err != nil {
		return err
	}
	var v importView
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("%s: unexpected reply: %w", cmd.name(), err)
	}
	what := counts(v.Events, v.Tasks, v.Journals, v.Contacts, kind)
	created := ""
	if v.Created {
		created = " (created the folder)"
	}
	skipped := ""
	if len(v.Skipped) > 0 {
		n := map[string]int{}
		for _, o := range v.Skipped {
			n[o.Kind]++
		}
		skipped = fmt.Sprintf("; skipped %s, which the folder does not take (import the file into %s as well)",
			counts(n["VEVENT"], n["VTODO"], n["VJOURNAL"], 0, kind), map[bool]string{true: "calendar", false: "tasks"}[n["VTODO"] == 0])
	}
	a.say(data, "imported %s into %s of %s%s%s", what, v.Folder, v.User, created, skipped)
	return nil
}

// counts says "42 events and 3 tasks", "1 contact", "0 events".
func counts(events, tasks, journals, contacts int, kind string) string {
	if kind == "contacts" {
		return plural(contacts, "contact")
	}
	var parts []string
	for _, c := range []struct {
		n    int
		noun string
	}{{events, "event"}, {tasks, "task"}, {journals, "journal entry"}} {
		if c.n > 0 {
			parts = append(parts, plural(c.n, c.noun))
		}
	}
	switch len(parts) {
	case 0:
		return "0 events"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "entry") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// exportFile writes the export to FILE ("-": standard output, and then
// nothing else is printed there).
func exportFile(a *admin, cmd *adminCmd, in *input, kind string) error {
	login, folder, file := in.pos[0], in.pos[1], in.pos[2]
	data, h, err := a.c.doHeader(a.ctx, "GET", collectionPath(kind, login, folder, "export"))
	if err != nil {
		return err
	}
	n := func(k string) int { v, _ := strconv.Atoi(h.Get(k)); return v }
	v := exportView{User: login, Folder: h.Get("Roost-Folder"), File: file, Bytes: len(data),
		Events: n("Roost-Events"), Tasks: n("Roost-Tasks"), Journals: n("Roost-Journals"), Contacts: n("Roost-Contacts")}
	if file == "-" {
		_, err := a.stdout.Write(data)
		return err
	}
	// Calendars and address books are personal data: owner-only file.
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return fmt.Errorf("%s: %w", cmd.name(), err)
	}
	if a.json {
		b, _ := json.MarshalIndent(v, "", "  ")
		a.printRaw(b)
		return nil
	}
	fmt.Fprintf(a.stdout, "exported %s from %s of %s to %s\n", counts(v.Events, v.Tasks, v.Journals, v.Contacts, kind), v.Folder, login, file)
	return nil
}

// doHeader is adminClient.do for a bodiless request whose reply header
// matters too (the export counts).
func (c *adminClient) doHeader(ctx context.Context, method, path string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, nil, err
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var de *dialError
		if errors.As(err, &de) {
			return nil, nil, fmt.Errorf("cannot reach the server at %s: is `%s` running?", c.sock, c.hint)
		}
		return nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading the reply: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return data, resp.Header, nil
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		e.Error = fmt.Sprintf("server replied %s", resp.Status)
	}
	return nil, nil, &apiError{status: resp.StatusCode, msg: e.Error}
}
