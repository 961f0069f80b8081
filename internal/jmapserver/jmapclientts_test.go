package jmapserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// jmapClientTSVersion is the jmap-client-ts release the test installs
// (exact pin).
const jmapClientTSVersion = "1.0.0"

// TestJMAPClientTS drives the server with the unmodified jmap-client-ts
// client from npm (its own FetchTransport over Node's fetch), signed in
// with HTTP Basic: the session, Mailbox/get (the Inbox found by role),
// Email/query on the Inbox and Email/get of the ids, checked against
// messages appended through the store. A wrong password fails the
// session fetch.
func TestJMAPClientTS(t *testing.T) {
	t.Parallel()
	dir := npmClientDir(t, "jmap-client-ts", jmapClientTSVersion, "ROOST_JMAP_CLIENT_TS_DIR")
	e := newEnv(t)
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	older := e.deliverAt("alice", store.SpecialInbox, "From: Joe Bloggs <joe@example.com>\nTo: alice@acme.test\n"+
		"Subject: =?UTF-8?Q?Caf=C3=A9?= plans\nMessage-ID: <c1@example.com>\n\nhello\n", t0)
	newer := e.deliverAt("alice", store.SpecialInbox, "From: bob@acme.test\nTo: alice@acme.test\n"+
		"Subject: Quarterly report\nMessage-ID: <c2@example.com>\n\nnumbers\n", t0.Add(90*time.Minute))
	// Not in the Inbox, so not in the query.
	e.deliverAt("alice", store.SpecialSent, "From: alice@acme.test\nTo: bob@acme.test\nSubject: elsewhere\n\nx\n", t0.Add(time.Hour))
	run := nodeScript(t, dir, "jmapclientts.mjs")

	node := func(pw string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "node", run, e.url+"/.well-known/jmap", "alice")
		cmd.Env = append(os.Environ(), "JMAP_PASSWORD="+pw)
		return cmd.Output()
	}
	out, err := node(password("alice"))
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node: %v\n%s\n%s", err, out, stderr)
	}
	var r struct {
		Username       string   `json:"username"`
		APIURL         string   `json:"apiUrl"`
		AccountID      string   `json:"accountId"`
		FirstAccountID string   `json:"firstAccountId"`
		Inbox          string   `json:"inbox"`
		InboxTotal     int      `json:"inboxTotal"`
		Query          []string `json:"query"`
		Total          int      `json:"total"`
		Emails         []struct {
			ID      string `json:"id"`
			Subject string `json:"subject"`
			From    []struct {
				Name  *string `json:"name"`
				Email string  `json:"email"`
			} `json:"from"`
			ReceivedAt string `json:"receivedAt"`
		} `json:"emails"`
		NotFound []string `json:"notFound"`
		Error    string   `json:"error"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("script output: %v\n%s", err, out)
	}
	acct := e.acct("alice")
	inbox := fmt.Sprintf("M%d", e.folder("alice", store.SpecialInbox).ID)
	if r.Username != "alice" || r.APIURL != e.url+"/jmap/api/" || r.AccountID != acct || r.FirstAccountID != acct {
		t.Fatalf("session as jmap-client-ts read it: %s", out)
	}
	if r.Inbox != inbox || r.InboxTotal != 2 {
		t.Fatalf("Inbox by role: got %s (%d emails), want %s (2)\n%s", r.Inbox, r.InboxTotal, inbox, out)
	}
	newerID, olderID := fmt.Sprintf("E%d", newer.ID), fmt.Sprintf("E%d", older.ID)
	if !slices.Equal(r.Query, []string{newerID, olderID}) || r.Total != 2 {
		t.Fatalf("Email/query: %v (total %d), want [%s %s]", r.Query, r.Total, newerID, olderID)
	}
	if len(r.Emails) != 2 || len(r.NotFound) != 0 {
		t.Fatalf("Email/get: %s", out)
	}
	want := []struct{ id, subject, name, email, at string }{
		{newerID, "Quarterly report", "", "bob@acme.test", "2026-03-04T06:36:07Z"},
		{olderID, "Café plans", "Joe Bloggs", "joe@example.com", "2026-03-04T05:06:07Z"},
	}
	for i, w := range want {
		m := r.Emails[i]
		name := ""
		if len(m.From) == 1 && m.From[0].Name != nil {
			name = *m.From[0].Name
		}
		if m.ID != w.id || m.Subject != w.subject || len(m.From) != 1 || m.From[0].Email != w.email || name != w.name || m.ReceivedAt != w.at {
			t.Errorf("email %d: %+v, want %+v", i, m, w)
		}
	}
	if r.Error != "accountNotFound" {
		t.Errorf("error for another account: %q, want accountNotFound", r.Error)
	}
	// The same client with a wrong password gets no session.
	if out, err := node("wrong"); err == nil {
		t.Fatalf("wrong password accepted: %s", out)
	} else if ee, ok := err.(*exec.ExitError); !ok || !strings.Contains(string(ee.Stderr), "status code 401") {
		t.Fatalf("wrong password: %v %s", err, out)
	}
}
