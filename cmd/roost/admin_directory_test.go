package main

import (
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/adminapi"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/directory/ldap"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestAdminDirectorySync: `roost admin directory sync` reads a real
// slapd's users into the store and prints a summary (an object with
// --json); `user list` then shows them; a server without a directory
// says so.
func TestAdminDirectorySync(t *testing.T) {
	e := newAdminEnv(t)
	e.fails(1, "user_plugin is not", "directory", "sync")

	srv := testenv.StartSlapd(t)
	for _, u := range []string{"ann", "ben", "cat"} {
		srv.AddUser(u, u+"-pw", u+"@example.org")
	}
	d, err := ldap.New(ldap.Config{URIs: []string{srv.URI}, BindDN: testenv.SlapdSvcDN, BindPass: testenv.SlapdSvcPW,
		Base: testenv.SlapdSuffix, Filter: "(objectClass=inetOrgPerson)", UniqueAttr: "entryUUID", LoginAttr: "uid",
		MailAttr: "mail", FullNameAttr: "cn", Timeout: 5 * time.Second, Tenant: "example"}, e.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	e.api = adminapi.New(e.db, adminapi.Options{Version: "test-7", LoginFormat: func() string { return "%u" }, Directory: d})

	out := e.ok("directory", "sync")
	if !strings.Contains(out, "3 users read: 3 created, 0 updated, 0 renamed, 0 unchanged, 0 orphaned") {
		t.Fatalf("summary:\n%s", out)
	}
	if strings.Contains(out, "\r") {
		t.Errorf("a progress bar was drawn on a pipe: %q", out)
	}
	list := e.ok("user", "list")
	for _, u := range []string{"ann", "ben", "cat"} {
		if !strings.Contains(list, u) {
			t.Errorf("user list lacks %s:\n%s", u, list)
		}
	}
	srv.Modify("dn: uid=cat," + testenv.SlapdPeople + "\nchangetype: delete\n")
	var sum directory.SyncSummary
	e.okJSON(&sum, "directory", "sync")
	if sum.Users != 2 || sum.Unchanged != 2 || sum.Orphaned != 1 || sum.Seconds <= 0 {
		t.Fatalf("second sync %+v", sum)
	}
	if orphans := e.ok("store", "list-orphans"); !strings.Contains(orphans, "cat") {
		t.Errorf("cat's store is not listed as an orphan:\n%s", orphans)
	}
}

// TestSyncBar: on a terminal the bar redraws one line per phase and is
// cleared at the end; elsewhere it draws nothing.
func TestSyncBar(t *testing.T) {
	var out strings.Builder
	b := &syncBar{w: &out, on: true, start: time.Now()}
	b.show(directory.SyncProgress{Phase: "users", Done: 5, Total: 10})
	b.show(directory.SyncProgress{Phase: "users", Done: 10, Total: 10})
	b.done()
	s := out.String()
	if !strings.Contains(s, "users    [###############---------------]  50%  5/10") || !strings.Contains(s, "100%  10/10") ||
		!strings.HasSuffix(s, "\r\x1b[K") || strings.Contains(s, "\n") {
		t.Fatalf("bar %q", s)
	}
	out.Reset()
	off := &syncBar{w: &out, start: time.Now()}
	off.show(directory.SyncProgress{Phase: "users", Done: 1, Total: 2})
	off.done()
	if out.Len() != 0 {
		t.Fatalf("drawn off a terminal: %q", out.String())
	}
}
