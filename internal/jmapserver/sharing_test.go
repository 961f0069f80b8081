package jmapserver_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
	"github.com/roost-mail/roost/internal/testenv"
)

// Sharing (RFC 9670): principals, shared stores as accounts, shareWith
// over the store's ACLs, checked through JMAP and IMAP on SQLite and
// PostgreSQL.

const shareUsing = `["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail","urn:ietf:params:jmap:calendars",` +
	`"urn:ietf:params:jmap:contacts","urn:ietf:params:jmap:principals"]`

// sh posts one method call with the sharing capabilities and returns
// the response name and arguments.
func (e *gwEnv) sh(login, name string, args any) (string, map[string]any) {
	e.t.Helper()
	b, _ := json.Marshal([]any{[]any{name, args, "c0"}})
	r := e.do(login, "POST", "/jmap/api/", strings.NewReader(`{"using":`+shareUsing+`,"methodCalls":`+string(b)+`}`))
	if r.code != 200 {
		e.t.Fatalf("API %d: %s", r.code, r.body)
	}
	inv := r.json(e.t)["methodResponses"].([]any)[0].([]any)
	return inv[0].(string), inv[1].(map[string]any)
}

func (e *gwEnv) shMust(login, name string, args any) map[string]any {
	e.t.Helper()
	n, a := e.sh(login, name, args)
	if n != name {
		e.t.Fatalf("%s: %s %v", name, n, a)
	}
	return a
}

// shErr expects the method error typ.
func (e *gwEnv) shErr(login, name string, args any, typ string) {
	e.t.Helper()
	n, a := e.sh(login, name, args)
	if n != "error" || a["type"] != typ {
		e.t.Fatalf("%s: want error %s, got %s %v", name, typ, n, a)
	}
}

// principalID is the Principal id of a user (U<user id>).
func (e *gwEnv) principalID(login string) string {
	e.t.Helper()
	u, err := e.db.GetUser(sys, login)
	if err != nil {
		e.t.Fatal(err)
	}
	return fmt.Sprintf("U%d", u.ID)
}

// session returns login's session resource.
func (e *gwEnv) session(login string) map[string]any {
	e.t.Helper()
	r := e.do(login, "GET", "/jmap/session", nil)
	if r.code != 200 {
		e.t.Fatalf("session %d: %s", r.code, r.body)
	}
	return r.json(e.t)
}

// imapAs logs login in to a real IMAP server on the same store.
func (e *gwEnv) imapAs(t *testing.T, login string) *imapclient.Client {
	t.Helper()
	srv := imapserver.New(imapserver.Options{Store: e.db, Logger: testLogger(), AllowPlaintextAuth: true,
		Authenticate: authenticator(e.db)})
	ln := testenv.Listen(t)
	go srv.Serve(ln, false)
	t.Cleanup(func() { srv.Close() })
	c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(login, password(login)).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestShareMailboxAcrossProtocols: alice shares a folder through JMAP;
// IMAP GETACL shows the entry; bob's session lists alice's store as an
// account in which he reads the email, with the store refusing what the
// rights do not allow; alice's IMAP SETACL revokes it and bob's calls
// answer accountNotFound; a share set over IMAP shows in shareWith.
func TestShareMailboxAcrossProtocols(t *testing.T) { eachBackend(t, testShareMailboxAcrossProtocols) }

func testShareMailboxAcrossProtocols(t *testing.T, e *gwEnv) {
	alice, bob := e.acct("alice"), e.acct("bob")
	bobP, aliceP := e.principalID("bob"), e.principalID("alice")
	// Before any share alice's account is not bob's.
	e.shErr("bob", "Mailbox/get", map[string]any{"accountId": alice}, "accountNotFound")
	if _, ok := e.session("bob")["accounts"].(map[string]any)[alice]; ok {
		t.Fatal("alice's account listed for bob before any share")
	}
	set := e.shMust("alice", "Mailbox/set", map[string]any{"accountId": alice, "create": map[string]any{
		"p": map[string]any{"name": "Projects", "shareWith": map[string]any{bobP: map[string]any{"mayReadItems": true, "maySetSeen": true}}}}})
	projID, _ := set["created"].(map[string]any)["p"].(map[string]any)["id"].(string)
	if projID == "" {
		t.Fatalf("Mailbox/set: %v", set)
	}
	proj := e.folder("alice", "Projects")
	it, err := e.db.AppendItem(e.as("alice"), proj.ID, store.NewItem{Content: strings.NewReader(crlfs(plainMsg))})
	if err != nil {
		t.Fatal(err)
	}
	e.deliver("alice", store.SpecialInbox, plainMsg) // not shared

	// IMAP GETACL shows the entry JMAP wrote.
	ic := e.imapAs(t, "alice")
	acl, err := ic.GetACL("Projects").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(acl.Rights["bob"]); got != "lrs" {
		t.Fatalf("GETACL Projects: bob has %q, want lrs (%v)", got, acl.Rights)
	}
	// Alice's Mailbox/get shows the share.
	g := e.shMust("alice", "Mailbox/get", map[string]any{"accountId": alice, "ids": []string{projID}, "properties": []string{"shareWith", "myRights"}})
	sw, _ := firstOf(t, g)["shareWith"].(map[string]any)
	if r, _ := sw[bobP].(map[string]any); r["mayReadItems"] != true || r["maySetSeen"] != true || r["mayAddItems"] != false || len(sw) != 1 {
		t.Fatalf("alice's shareWith: %v", sw)
	}

	// Bob's session lists alice's store.
	acct, _ := e.session("bob")["accounts"].(map[string]any)[alice].(map[string]any)
	if acct == nil || acct["isPersonal"] != false || acct["isReadOnly"] != false || acct["name"] != "alice" {
		t.Fatalf("bob's session, alice's account: %v", acct)
	}
	caps := acct["accountCapabilities"].(map[string]any)
	owner, _ := caps["urn:ietf:params:jmap:principals:owner"].(map[string]any)
	if caps["urn:ietf:params:jmap:mail"] == nil || caps["urn:ietf:params:jmap:calendars"] != nil || owner["principalId"] != aliceP ||
		owner["accountIdForPrincipal"] != bob {
		t.Fatalf("alice's account capabilities for bob: %v", caps)
	}
	// Bob sees the one folder shared, as a top-level mailbox, with his
	// rights and without the ACL (no admin right).
	mb := e.shMust("bob", "Mailbox/get", map[string]any{"accountId": alice})
	o := firstOf(t, mb)
	rights := o["myRights"].(map[string]any)
	if o["id"] != projID || o["parentId"] != nil || o["shareWith"] != nil || rights["mayReadItems"] != true ||
		rights["mayAddItems"] != false || rights["mayShare"] != false {
		t.Fatalf("bob's Mailbox/get in alice's account: %v", o)
	}
	q := e.shMust("bob", "Email/query", map[string]any{"accountId": alice})
	emailID := fmt.Sprintf("E%d", it.ID)
	if !slices.Equal(ids(q["ids"]), []string{emailID}) {
		t.Fatalf("bob's Email/query in alice's account: %v", q)
	}
	eg := e.shMust("bob", "Email/get", map[string]any{"accountId": alice, "ids": []string{emailID}, "properties": []string{"subject", "mailboxIds"}})
	if firstOf(t, eg)["subject"] != "Café plans" {
		t.Fatalf("bob's Email/get: %v", eg)
	}
	// Threads and changes in the shared account: only what the shared
	// folder holds.
	tid, _ := e.shMust("bob", "Email/get", map[string]any{"accountId": alice, "ids": []string{emailID},
		"properties": []string{"threadId"}})["list"].([]any)[0].(map[string]any)["threadId"].(string)
	tg := e.shMust("bob", "Thread/get", map[string]any{"accountId": alice, "ids": []string{tid}})
	if !slices.Equal(ids(firstOf(t, tg)["emailIds"]), []string{emailID}) {
		t.Fatalf("bob's Thread/get: %v", tg)
	}
	cq := e.shMust("bob", "Email/query", map[string]any{"accountId": alice, "collapseThreads": true,
		"sort": []any{map[string]any{"property": "receivedAt", "isAscending": false}}})
	if !slices.Equal(ids(cq["ids"]), []string{emailID}) {
		t.Fatalf("bob's Email/query collapseThreads: %v", cq)
	}
	since := eg["state"].(string)
	it2, err := e.db.AppendItem(e.as("alice"), proj.ID, store.NewItem{Content: strings.NewReader(crlfs(mixedMsg))})
	if err != nil {
		t.Fatal(err)
	}
	e.deliver("alice", store.SpecialInbox, mixedMsg)
	ch := e.shMust("bob", "Email/changes", map[string]any{"accountId": alice, "sinceState": since})
	if !slices.Equal(ids(ch["created"]), []string{fmt.Sprintf("E%d", it2.ID)}) || len(ch["updated"].([]any)) != 0 {
		t.Fatalf("bob's Email/changes in alice's account: %v", ch)
	}
	tch := e.shMust("bob", "Thread/changes", map[string]any{"accountId": alice, "sinceState": since})
	if !slices.Equal(ids(tch["created"]), []string{fmt.Sprintf("T%d", it2.ThreadID)}) {
		t.Fatalf("bob's Thread/changes in alice's account: %v", tch)
	}
	// The message downloads from alice's account; her inbox's does not.
	if r := e.do("bob", "GET", fmt.Sprintf("/jmap/download/%s/m%d/x.eml", alice, it.ID), nil); r.code != 200 || !strings.Contains(string(r.body), "Hello Alice") {
		t.Fatalf("bob's download of the shared message: %d %s", r.code, r.body)
	}
	inboxItem := e.folder("alice", store.SpecialInbox)
	if items, err := e.db.ListItems(e.as("alice"), inboxItem.ID, 1, 0); err != nil || len(items) == 0 {
		t.Fatalf("alice's inbox: %v %v", items, err)
	} else if r := e.do("bob", "GET", fmt.Sprintf("/jmap/download/%s/m%d/x.eml", alice, items[0].ID), nil); r.code != 404 {
		t.Fatalf("bob's download of alice's unshared message: %d", r.code)
	}
	inboxEmail := fmt.Sprintf("E%d", inboxItemID(t, e))
	if g := e.shMust("bob", "Email/get", map[string]any{"accountId": alice, "ids": []string{inboxEmail}}); !slices.Equal(ids(g["notFound"]), []string{inboxEmail}) {
		t.Fatalf("bob's Email/get of alice's unshared email: %v", g)
	}
	if r := e.shMust("bob", "Email/set", map[string]any{"accountId": alice, "update": map[string]any{inboxEmail: map[string]any{"keywords/$seen": true}}}); r["notUpdated"].(map[string]any)[inboxEmail].(map[string]any)["type"] != "notFound" {
		t.Fatalf("bob's Email/set on alice's unshared email: %v", r)
	}
	if r := e.shMust("bob", "Email/query", map[string]any{"accountId": alice, "filter": map[string]any{"inMailbox": inbox0(e)}}); len(ids(r["ids"])) != 0 {
		t.Fatalf("bob's Email/query in alice's inbox: %v", r)
	}
	// The rights hold: seen may be set, the email not destroyed, no
	// mailbox created, and alice's inbox is not found.
	es := e.shMust("bob", "Email/set", map[string]any{"accountId": alice,
		"update":  map[string]any{emailID: map[string]any{"keywords/$seen": true}},
		"destroy": []string{emailID}})
	if _, ok := es["updated"].(map[string]any)[emailID]; !ok {
		t.Fatalf("bob setting $seen: %v", es)
	}
	if nd, _ := es["notDestroyed"].(map[string]any)[emailID].(map[string]any); nd["type"] != "forbidden" {
		t.Fatalf("bob destroying alice's email: %v", es)
	}
	ms := e.shMust("bob", "Mailbox/set", map[string]any{"accountId": alice,
		"update": map[string]any{projID: map[string]any{"shareWith/" + bobP + "/mayShare": true}}})
	if nu, _ := ms["notUpdated"].(map[string]any)[projID].(map[string]any); nu["type"] != "forbidden" {
		t.Fatalf("bob sharing alice's folder: %v", ms)
	}
	inbox := fmt.Sprintf("M%d", e.folder("alice", store.SpecialInbox).ID)
	nf := e.shMust("bob", "Mailbox/get", map[string]any{"accountId": alice, "ids": []string{inbox}})
	if !slices.Equal(ids(nf["notFound"]), []string{inbox}) {
		t.Fatalf("alice's inbox for bob: %v", nf)
	}
	// Bob's own account and other data types are not alice's.
	e.shErr("bob", "Calendar/get", map[string]any{"accountId": alice}, "accountNotSupportedByMethod")
	e.shErr("bob", "Principal/get", map[string]any{"accountId": alice}, "accountNotFound")

	// Alice revokes over IMAP: bob's account is gone.
	if err := ic.SetACL("Projects", "bob", imap.RightModificationReplace, imap.RightSet("")).Wait(); err != nil {
		t.Fatal(err)
	}
	e.shErr("bob", "Email/get", map[string]any{"accountId": alice, "ids": []string{emailID}}, "accountNotFound")
	if up := e.do("bob", "POST", "/jmap/upload/"+alice+"/", strings.NewReader("x")); up.code != 404 {
		t.Fatalf("bob's upload to alice's account after the revocation: %d", up.code)
	}
	if r := e.do("bob", "GET", fmt.Sprintf("/jmap/download/%s/m%d/x.eml", alice, it.ID), nil); r.code != 404 {
		t.Fatalf("bob's download after the revocation: %d", r.code)
	}
	if _, ok := e.session("bob")["accounts"].(map[string]any)[alice]; ok {
		t.Fatal("alice's account still listed for bob after DELETEACL")
	}
	// A share set over IMAP is in shareWith.
	if err := ic.SetACL("Projects", "bob", imap.RightModificationReplace, imap.RightSet("lrite")).Wait(); err != nil {
		t.Fatal(err)
	}
	g = e.shMust("alice", "Mailbox/get", map[string]any{"accountId": alice, "ids": []string{projID}, "properties": []string{"shareWith"}})
	sw, _ = firstOf(t, g)["shareWith"].(map[string]any)
	if r, _ := sw[bobP].(map[string]any); r["mayReadItems"] != true || r["mayAddItems"] != true || r["mayRemoveItems"] != true ||
		r["maySetSeen"] != false {
		t.Fatalf("shareWith after IMAP SETACL: %v", sw)
	}
	// With the insert right bob uploads to alice's account and imports
	// into the shared folder.
	up := e.do("bob", "POST", "/jmap/upload/"+alice+"/", strings.NewReader(crlfs(plainMsg)), "Content-Type", "message/rfc822")
	if up.code != 201 {
		t.Fatalf("bob's upload to alice's account: %d %s", up.code, up.body)
	}
	im := e.shMust("bob", "Email/import", map[string]any{"accountId": alice, "emails": map[string]any{"i": map[string]any{
		"blobId": up.json(t)["blobId"], "mailboxIds": map[string]any{projID: true}}}})
	if _, ok := im["created"].(map[string]any)["i"]; !ok {
		t.Fatalf("bob's Email/import into alice's folder: %v", im)
	}
	// Now bob may destroy the email.
	es = e.shMust("bob", "Email/set", map[string]any{"accountId": alice, "destroy": []string{emailID}})
	if !slices.Equal(ids(es["destroyed"]), []string{emailID}) {
		t.Fatalf("bob destroying with the t and e rights: %v", es)
	}
	// shareWith null removes every principal's entry.
	e.shMust("alice", "Mailbox/set", map[string]any{"accountId": alice, "update": map[string]any{projID: map[string]any{"shareWith": nil}}})
	if acl, err := ic.GetACL("Projects").Wait(); err != nil || len(acl.Rights) != 1 {
		t.Fatalf("GETACL after shareWith null: %v %v", acl, err)
	}
	e.shErr("bob", "Mailbox/get", map[string]any{"accountId": alice}, "accountNotFound")
}

// TestPrincipals walks Principal/get, /query, /changes, /set: the users
// and groups of the caller's tenant, never another tenant's.
func TestPrincipals(t *testing.T) { eachBackend(t, testPrincipals) }

func testPrincipals(t *testing.T, e *gwEnv) {
	alice, bob := e.acct("alice"), e.acct("bob")
	aliceP, bobP, eveP := e.principalID("alice"), e.principalID("bob"), e.principalID("eve")
	if _, err := e.db.CreateGroup(sys, "acme", store.Group{Name: "sales", Email: "sales@acme.test", Kind: store.GroupSecurity}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateGroup(sys, "acme", store.Group{Name: "secret", Kind: store.GroupSecurity, Hidden: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateGroup(sys, "globex", store.Group{Name: "globexers", Kind: store.GroupSecurity}); err != nil {
		t.Fatal(err)
	}
	// The session: principals in bob's own account.
	s := e.session("bob")
	if _, ok := s["capabilities"].(map[string]any)["urn:ietf:params:jmap:principals"]; !ok {
		t.Fatalf("no principals capability: %v", s["capabilities"])
	}
	own := s["accounts"].(map[string]any)[bob].(map[string]any)["accountCapabilities"].(map[string]any)
	if pc, _ := own["urn:ietf:params:jmap:principals"].(map[string]any); pc["currentUserPrincipalId"] != bobP {
		t.Fatalf("principals account capability: %v", own)
	}
	if s["primaryAccounts"].(map[string]any)["urn:ietf:params:jmap:principals"] != bob {
		t.Fatalf("primary principals account: %v", s["primaryAccounts"])
	}

	g := e.shMust("bob", "Principal/get", map[string]any{"accountId": bob})
	var names []string
	for _, x := range g["list"].([]any) {
		o := x.(map[string]any)
		names = append(names, o["type"].(string)+":"+o["name"].(string))
		if o["id"] == bobP {
			accts, _ := o["accounts"].(map[string]any)
			if _, ok := accts[bob]; !ok {
				t.Fatalf("bob's principal without his account: %v", o)
			}
		}
		if o["id"] == aliceP && o["accounts"] != nil {
			t.Fatalf("alice's principal shows an account bob cannot use: %v", o)
		}
	}
	slices.Sort(names)
	if want := []string{"group:Everyone", "group:sales", "individual:alice", "individual:bob"}; !slices.Equal(names, want) {
		t.Fatalf("principals of acme: %v, want %v", names, want)
	}
	state := g["state"].(string)
	nf := e.shMust("bob", "Principal/get", map[string]any{"accountId": bob, "ids": []string{eveP, aliceP}, "properties": []string{"email"}})
	if !slices.Equal(ids(nf["notFound"]), []string{eveP}) || firstOf(t, nf)["email"] != "alice@acme.test" || firstOf(t, nf)["name"] != nil {
		t.Fatalf("Principal/get by ids: %v", nf)
	}

	// Alice shares her calendar with bob: her principal now has her
	// account, and accountIds finds her.
	cal := fmt.Sprintf("C%d", e.folder("alice", store.SpecialCalendar).ID)
	e.shMust("alice", "Calendar/set", map[string]any{"accountId": alice, "update": map[string]any{cal: map[string]any{
		"shareWith": map[string]any{bobP: map[string]any{"mayReadItems": true}}}}})

	for _, tc := range []struct {
		name   string
		filter any
		sort   any
		want   []string // principal names in order; nil with errType
		err    string
	}{
		{"all by name", nil, nil, []string{"alice", "bob", "Everyone", "sales"}, ""},
		{"name", map[string]any{"name": "ALI"}, nil, []string{"alice"}, ""},
		{"email", map[string]any{"email": "bob@acme"}, nil, []string{"bob"}, ""},
		{"text in email", map[string]any{"text": "sales@"}, nil, []string{"sales"}, ""},
		{"type", map[string]any{"type": "group"}, nil, []string{"Everyone", "sales"}, ""},
		{"accountIds", map[string]any{"accountIds": []string{alice}}, nil, []string{"alice"}, ""},
		{"timeZone", map[string]any{"timeZone": "Europe/Berlin"}, nil, []string{}, ""},
		{"operator", map[string]any{"operator": "NOT", "conditions": []any{map[string]any{"type": "group"}}}, nil, []string{"alice", "bob"}, ""},
		{"OR", map[string]any{"operator": "OR", "conditions": []any{map[string]any{"name": "bob"}, map[string]any{"name": "sales"}}}, nil, []string{"bob", "sales"}, ""},
		{"descending", map[string]any{"type": "individual"}, []any{map[string]any{"property": "name", "isAscending": false}}, []string{"bob", "alice"}, ""},
		{"globex never", map[string]any{"text": "globex"}, nil, []string{}, ""},
		{"unknown condition", map[string]any{"role": "x"}, nil, nil, "unsupportedFilter"},
		{"bad operator", map[string]any{"operator": "XOR", "conditions": []any{}}, nil, nil, "unsupportedFilter"},
		{"bad sort", nil, []any{map[string]any{"property": "timeZone"}}, nil, "unsupportedSort"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := map[string]any{"accountId": bob, "filter": tc.filter}
			if tc.sort != nil {
				args["sort"] = tc.sort
			}
			if tc.err != "" {
				e.shErr("bob", "Principal/query", args, tc.err)
				return
			}
			q := e.shMust("bob", "Principal/query", args)
			got := []string{}
			for _, id := range ids(q["ids"]) {
				p := e.shMust("bob", "Principal/get", map[string]any{"accountId": bob, "ids": []string{id}})
				got = append(got, firstOf(t, p)["name"].(string))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Principal/query %v: %v, want %v", tc.filter, got, tc.want)
			}
		})
	}

	// Changes: the state moved with alice's share (her principal's
	// accounts); an unchanged state has no changes.
	g2 := e.shMust("bob", "Principal/get", map[string]any{"accountId": bob, "ids": []string{}})
	if g2["state"] == state {
		t.Fatal("Principal state did not change with alice's share")
	}
	e.shErr("bob", "Principal/changes", map[string]any{"accountId": bob, "sinceState": state}, "cannotCalculateChanges")
	ch := e.shMust("bob", "Principal/changes", map[string]any{"accountId": bob, "sinceState": g2["state"]})
	if len(ch["created"].([]any))+len(ch["updated"].([]any))+len(ch["destroyed"].([]any)) != 0 || ch["newState"] != g2["state"] {
		t.Fatalf("Principal/changes from the current state: %v", ch)
	}
	qc := e.shMust("bob", "Principal/queryChanges", map[string]any{"accountId": bob, "sinceQueryState": g2["state"]})
	if qc["newQueryState"] != g2["state"] {
		t.Fatalf("Principal/queryChanges: %v", qc)
	}
	// Set: principals are the administrators'.
	ps := e.shMust("bob", "Principal/set", map[string]any{"accountId": bob,
		"create":  map[string]any{"x": map[string]any{"name": "new"}},
		"update":  map[string]any{bobP: map[string]any{"name": "Bobby"}, eveP: map[string]any{"name": "x"}},
		"destroy": []string{aliceP}})
	if ps["notCreated"].(map[string]any)["x"].(map[string]any)["type"] != "forbidden" ||
		ps["notUpdated"].(map[string]any)[bobP].(map[string]any)["type"] != "forbidden" ||
		ps["notUpdated"].(map[string]any)[eveP].(map[string]any)["type"] != "notFound" ||
		ps["notDestroyed"].(map[string]any)[aliceP].(map[string]any)["type"] != "forbidden" {
		t.Fatalf("Principal/set: %v", ps)
	}
	e.shErr("bob", "Principal/set", map[string]any{"accountId": bob, "ifInState": "nope"}, "stateMismatch")
	// Principals are in the user's own account only; eve's is another
	// tenant's.
	e.shErr("bob", "Principal/get", map[string]any{"accountId": e.acct("eve")}, "accountNotFound")
	e.shErr("bob", "Principal/query", map[string]any{"accountId": alice}, "accountNotFound")
	// Eve sees globex only.
	eg := e.shMust("eve", "Principal/get", map[string]any{"accountId": e.acct("eve")})
	for _, x := range eg["list"].([]any) {
		if n := x.(map[string]any)["name"]; n == "alice" || n == "bob" || n == "sales" {
			t.Fatalf("eve sees acme's %v", n)
		}
	}
	// Without the capability in "using" the methods are unknown.
	n, a := e.gw("bob", "Principal/get", map[string]any{"accountId": bob})
	if n != "error" || a["type"] != "unknownMethod" {
		t.Fatalf("Principal/get without the capability: %s %v", n, a)
	}
	// getAvailability takes the principal id.
	e.shMust("bob", "Principal/getAvailability", map[string]any{"accountId": bob, "id": bobP,
		"utcStart": "2026-01-01T00:00:00Z", "utcEnd": "2026-01-02T00:00:00Z"})
}

// TestShareCalendarAndAddressBook: shareWith on calendars and address
// books writes the ACL; the grantee works in the shared account; bad
// shareWith values are invalidProperties.
func TestShareCalendarAndAddressBook(t *testing.T) { eachBackend(t, testShareCalendarAndAddressBook) }

func testShareCalendarAndAddressBook(t *testing.T, e *gwEnv) {
	alice := e.acct("alice")
	bobP, aliceP, eveP := e.principalID("bob"), e.principalID("alice"), e.principalID("eve")
	hidden, err := e.db.CreateGroup(sys, "acme", store.Group{Name: "secret", Kind: store.GroupSecurity, Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	hiddenG := fmt.Sprintf("G%d", hidden.ID)
	calF := e.folder("alice", store.SpecialCalendar)
	abF := e.folder("alice", store.SpecialContacts)
	cal, ab := fmt.Sprintf("C%d", calF.ID), fmt.Sprintf("B%d", abF.ID)
	if code, body := e.davDo("alice", "PUT", e.calPath("alice")+"weekly.ics", crlfs(weeklyICS), "Content-Type", "text/calendar"); code != 201 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	r := e.shMust("alice", "Calendar/set", map[string]any{"accountId": alice, "update": map[string]any{cal: map[string]any{
		"shareWith": map[string]any{bobP: map[string]any{"mayReadItems": true, "mayReadFreeBusy": true}}}}})
	if _, ok := r["updated"].(map[string]any)[cal]; !ok {
		t.Fatalf("Calendar/set shareWith: %v", r)
	}
	r = e.shMust("alice", "AddressBook/set", map[string]any{"accountId": alice, "update": map[string]any{ab: map[string]any{
		"shareWith/" + bobP: map[string]any{"mayRead": true}}}})
	if _, ok := r["updated"].(map[string]any)[ab]; !ok {
		t.Fatalf("AddressBook/set shareWith: %v", r)
	}
	r = e.shMust("alice", "AddressBook/set", map[string]any{"accountId": alice, "update": map[string]any{ab: map[string]any{
		"shareWith/" + bobP + "/mayWrite": true}}})
	if _, ok := r["updated"].(map[string]any)[ab]; !ok {
		t.Fatalf("AddressBook/set shareWith/…/mayWrite: %v", r)
	}
	acl := func(f *store.Folder) string {
		t.Helper()
		es, err := e.db.GetACL(e.as("alice"), f.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range es {
			out = append(out, x.Subject+"="+x.Rights)
		}
		return strings.Join(out, ",")
	}
	if got := acl(calF); got != "user:bob=lr" {
		t.Fatalf("calendar ACL: %s", got)
	}
	if got := acl(abF); got != "user:bob=lrwite" {
		t.Fatalf("address book ACL: %s", got)
	}
	// Bob's account: calendars and contacts, writable.
	acct := e.session("bob")["accounts"].(map[string]any)[alice].(map[string]any)
	caps := acct["accountCapabilities"].(map[string]any)
	if caps["urn:ietf:params:jmap:calendars"] == nil || caps["urn:ietf:params:jmap:contacts"] == nil ||
		caps["urn:ietf:params:jmap:mail"] != nil || acct["isReadOnly"] != false {
		t.Fatalf("alice's account for bob: %v", acct)
	}
	cg := e.shMust("bob", "Calendar/get", map[string]any{"accountId": alice})
	if o := firstOf(t, cg); o["id"] != cal || o["shareWith"] != nil || o["myRights"].(map[string]any)["mayReadItems"] != true ||
		o["myRights"].(map[string]any)["mayWriteAll"] != false {
		t.Fatalf("bob's Calendar/get: %v", cg)
	}
	q := e.shMust("bob", "CalendarEvent/query", map[string]any{"accountId": alice})
	if len(ids(q["ids"])) != 1 {
		t.Fatalf("bob's CalendarEvent/query: %v", q)
	}
	ev := e.shMust("bob", "CalendarEvent/get", map[string]any{"accountId": alice, "ids": ids(q["ids"]), "properties": []string{"title"}})
	if firstOf(t, ev)["title"] != "Team sync" {
		t.Fatalf("bob's CalendarEvent/get: %v", ev)
	}
	// Read-only calendar: bob cannot destroy the event.
	es := e.shMust("bob", "CalendarEvent/set", map[string]any{"accountId": alice, "destroy": ids(q["ids"])})
	if nd, _ := es["notDestroyed"].(map[string]any)[ids(q["ids"])[0]].(map[string]any); nd["type"] != "forbidden" {
		t.Fatalf("bob destroying alice's event: %v", es)
	}
	// Writable address book: bob creates a card in it.
	cs := e.shMust("bob", "ContactCard/set", map[string]any{"accountId": alice, "create": map[string]any{"k": map[string]any{
		"@type": "Card", "version": "1.0", "addressBookIds": map[string]any{ab: true}, "name": map[string]any{"full": "Carol"}}}})
	if _, ok := cs["created"].(map[string]any)["k"]; !ok {
		t.Fatalf("bob creating a card in alice's address book: %v", cs)
	}
	// Alice reads shareWith back.
	ag := e.shMust("alice", "AddressBook/get", map[string]any{"accountId": alice, "ids": []string{ab}, "properties": []string{"shareWith"}})
	if r, _ := firstOf(t, ag)["shareWith"].(map[string]any)[bobP].(map[string]any); r["mayRead"] != true || r["mayWrite"] != true || r["mayShare"] != false {
		t.Fatalf("address book shareWith: %v", ag)
	}

	// Bad shareWith values.
	for _, tc := range []struct {
		name  string
		patch map[string]any
		typ   string
	}{
		{"unknown principal", map[string]any{"shareWith": map[string]any{"U999999": map[string]any{"mayReadItems": true}}}, "invalidProperties"},
		{"hidden group", map[string]any{"shareWith/" + hiddenG: map[string]any{"mayReadItems": true}}, "invalidProperties"},
		{"another tenant's user", map[string]any{"shareWith/" + eveP: map[string]any{"mayReadItems": true}}, "invalidProperties"},
		{"the owner", map[string]any{"shareWith/" + aliceP: map[string]any{"mayReadItems": true}}, "invalidProperties"},
		{"unknown right", map[string]any{"shareWith/" + bobP: map[string]any{"mayFly": true}}, "invalidProperties"},
		{"not a boolean", map[string]any{"shareWith/" + bobP: map[string]any{"mayReadItems": "yes"}}, "invalidProperties"},
		{"not a map", map[string]any{"shareWith": []any{bobP}}, "invalidProperties"},
		{"too deep a path", map[string]any{"shareWith/" + bobP + "/mayReadItems/x": true}, "invalidPatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.shMust("alice", "Calendar/set", map[string]any{"accountId": alice, "update": map[string]any{cal: tc.patch}})
			if nu, _ := r["notUpdated"].(map[string]any)[cal].(map[string]any); nu["type"] != tc.typ {
				t.Fatalf("%v: %v, want %s", tc.patch, r, tc.typ)
			}
		})
	}
	if got := acl(calF); got != "user:bob=lr" {
		t.Fatalf("calendar ACL after refused patches: %s", got)
	}
	// A user's IMAP "anyone" entry is not a principal: it stays.
	if err := e.db.SetACL(e.as("alice"), calF.ID, store.SubjectAnyone, "l"); err != nil {
		t.Fatal(err)
	}
	// An entry naming a hidden group (set over IMAP) shows and is editable.
	if err := e.db.SetACL(e.as("alice"), calF.ID, "group:secret", "lr"); err != nil {
		t.Fatal(err)
	}
	cg = e.shMust("alice", "Calendar/get", map[string]any{"accountId": alice, "ids": []string{cal}, "properties": []string{"shareWith"}})
	if sw, _ := firstOf(t, cg)["shareWith"].(map[string]any); len(sw) != 2 || sw[hiddenG] == nil {
		t.Fatalf("shareWith with a hidden group's entry: %v", cg)
	}
	r = e.shMust("alice", "Calendar/set", map[string]any{"accountId": alice, "update": map[string]any{cal: map[string]any{
		"shareWith/" + hiddenG + "/mayReadItems": false}}})
	if _, ok := r["updated"].(map[string]any)[cal]; !ok || acl(calF) != "anyone=l,group:secret=l,user:bob=lr" {
		t.Fatalf("editing the hidden group's entry: %v, ACL %s", r, acl(calF))
	}
	e.shMust("alice", "Calendar/set", map[string]any{"accountId": alice, "update": map[string]any{cal: map[string]any{"shareWith": nil}}})
	if got := acl(calF); got != "anyone=l" {
		t.Fatalf("calendar ACL after shareWith null: %s", got)
	}
	// Eve, of another tenant, never gets an account.
	if accts := e.session("eve")["accounts"].(map[string]any); len(accts) != 1 {
		t.Fatalf("eve's accounts: %v", accts)
	}
	e.shErr("eve", "Calendar/get", map[string]any{"accountId": alice}, "accountNotFound")
}

// TestShareNotifications: a share changed over JMAP or IMAP gives the
// user whose rights changed a ShareNotification, with /changes from the
// journal, /query filters and sort, and /set destroy only.
func TestShareNotifications(t *testing.T) { eachBackend(t, testShareNotifications) }

func testShareNotifications(t *testing.T, e *gwEnv) {
	alice, bob := e.acct("alice"), e.acct("bob")
	bobP, aliceP := e.principalID("bob"), e.principalID("alice")
	g0 := e.shMust("bob", "ShareNotification/get", map[string]any{"accountId": bob})
	if len(g0["list"].([]any)) != 0 {
		t.Fatalf("notifications before any share: %v", g0)
	}
	s0 := g0["state"].(string)
	set := e.shMust("alice", "Mailbox/set", map[string]any{"accountId": alice, "create": map[string]any{
		"p": map[string]any{"name": "Projects", "shareWith": map[string]any{bobP: map[string]any{"mayReadItems": true}}}}})
	projID := set["created"].(map[string]any)["p"].(map[string]any)["id"].(string)
	cal := fmt.Sprintf("C%d", e.folder("alice", store.SpecialCalendar).ID)
	e.shMust("alice", "Calendar/set", map[string]any{"accountId": alice, "update": map[string]any{cal: map[string]any{
		"shareWith/" + bobP: map[string]any{"mayReadItems": true, "mayWriteAll": true}}}})
	// Over IMAP alice adds the insert right on Projects.
	ic := e.imapAs(t, "alice")
	if err := ic.SetACL("Projects", "bob", imap.RightModificationAdd, imap.RightSet("i")).Wait(); err != nil {
		t.Fatal(err)
	}
	g := e.shMust("bob", "ShareNotification/get", map[string]any{"accountId": bob})
	list := g["list"].([]any)
	if len(list) != 3 {
		t.Fatalf("bob's notifications: %v", g)
	}
	first := list[0].(map[string]any)
	by := first["changedBy"].(map[string]any)
	if first["objectType"] != "Mailbox" || first["objectAccountId"] != alice || first["objectId"] != projID || first["name"] != "Projects" ||
		first["oldRights"] != nil || first["newRights"].(map[string]any)["mayReadItems"] != true || by["name"] != "alice" ||
		by["email"] != "alice@acme.test" || by["principalId"] != aliceP || first["created"] == "" {
		t.Fatalf("first notification: %v", first)
	}
	second, third := list[1].(map[string]any), list[2].(map[string]any)
	if second["objectType"] != "Calendar" || second["objectId"] != cal || second["newRights"].(map[string]any)["mayWriteAll"] != true {
		t.Fatalf("calendar notification: %v", second)
	}
	if third["objectId"] != projID || third["oldRights"].(map[string]any)["mayAddItems"] != false ||
		third["newRights"].(map[string]any)["mayAddItems"] != true {
		t.Fatalf("IMAP SETACL notification: %v", third)
	}
	ids3 := []string{first["id"].(string), second["id"].(string), third["id"].(string)}
	ch := e.shMust("bob", "ShareNotification/changes", map[string]any{"accountId": bob, "sinceState": s0})
	if !slices.Equal(ids(ch["created"]), ids3) || len(ch["destroyed"].([]any)) != 0 || ch["newState"] != g["state"] {
		t.Fatalf("changes since the first state: %v", ch)
	}
	ch = e.shMust("bob", "ShareNotification/changes", map[string]any{"accountId": bob, "sinceState": s0, "maxChanges": 2})
	if !slices.Equal(ids(ch["created"]), ids3[:2]) || ch["hasMoreChanges"] != true {
		t.Fatalf("changes with maxChanges 2: %v", ch)
	}
	ch = e.shMust("bob", "ShareNotification/changes", map[string]any{"accountId": bob, "sinceState": ch["newState"]})
	if !slices.Equal(ids(ch["created"]), ids3[2:]) {
		t.Fatalf("the rest of the changes: %v", ch)
	}
	for _, tc := range []struct {
		name   string
		filter any
		sort   any
		want   []string
		err    string
	}{
		{"all", nil, nil, ids3, ""},
		{"calendars", map[string]any{"objectType": "Calendar"}, nil, ids3[1:2], ""},
		{"account", map[string]any{"objectAccountId": alice}, nil, ids3, ""},
		{"other account", map[string]any{"objectAccountId": bob}, nil, []string{}, ""},
		{"before", map[string]any{"before": "2000-01-01T00:00:00Z"}, nil, []string{}, ""},
		{"after", map[string]any{"after": "2000-01-01T00:00:00Z"}, nil, ids3, ""},
		{"newest first", nil, []any{map[string]any{"property": "created", "isAscending": false}}, []string{ids3[2], ids3[1], ids3[0]}, ""},
		{"bad filter", map[string]any{"name": "x"}, nil, nil, "unsupportedFilter"},
		{"bad sort", nil, []any{map[string]any{"property": "name"}}, nil, "unsupportedSort"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := map[string]any{"accountId": bob, "filter": tc.filter}
			if tc.sort != nil {
				args["sort"] = tc.sort
			}
			if tc.err != "" {
				e.shErr("bob", "ShareNotification/query", args, tc.err)
				return
			}
			q := e.shMust("bob", "ShareNotification/query", args)
			if got := ids(q["ids"]); !slices.Equal(append([]string{}, got...), tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("%v: %v, want %v", tc.filter, got, tc.want)
			}
		})
	}
	// Destroy only.
	st1 := g["state"].(string)
	r := e.shMust("bob", "ShareNotification/set", map[string]any{"accountId": bob,
		"create":  map[string]any{"x": map[string]any{"name": "x"}},
		"update":  map[string]any{ids3[1]: map[string]any{"name": "x"}},
		"destroy": []string{ids3[0], "N999999", "bogus"}})
	if !slices.Equal(ids(r["destroyed"]), ids3[:1]) || r["notCreated"].(map[string]any)["x"].(map[string]any)["type"] != "forbidden" ||
		r["notUpdated"].(map[string]any)[ids3[1]].(map[string]any)["type"] != "forbidden" ||
		r["notDestroyed"].(map[string]any)["N999999"].(map[string]any)["type"] != "notFound" ||
		r["notDestroyed"].(map[string]any)["bogus"].(map[string]any)["type"] != "notFound" || r["newState"] == st1 {
		t.Fatalf("ShareNotification/set: %v", r)
	}
	ch = e.shMust("bob", "ShareNotification/changes", map[string]any{"accountId": bob, "sinceState": st1})
	if !slices.Equal(ids(ch["destroyed"]), ids3[:1]) || len(ch["created"].([]any)) != 0 {
		t.Fatalf("changes after the destroy: %v", ch)
	}
	e.shErr("bob", "ShareNotification/set", map[string]any{"accountId": bob, "ifInState": st1}, "stateMismatch")
	// Nobody else reads them; alice has none.
	e.shErr("alice", "ShareNotification/get", map[string]any{"accountId": bob}, "accountNotFound")
	e.shErr("eve", "ShareNotification/get", map[string]any{"accountId": bob}, "accountNotFound")
	e.shErr("bob", "ShareNotification/get", map[string]any{"accountId": alice}, "accountNotFound")
	if ag := e.shMust("alice", "ShareNotification/get", map[string]any{"accountId": alice}); len(ag["list"].([]any)) != 0 {
		t.Fatalf("alice's notifications: %v", ag)
	}
	// A notification moves the state of bob's mail types too (one
	// journal), without a change to report there.
	mc := e.shMust("bob", "Email/changes", map[string]any{"accountId": bob, "sinceState": s0})
	if len(mc["created"].([]any))+len(mc["updated"].([]any))+len(mc["destroyed"].([]any)) != 0 {
		t.Fatalf("Email/changes over share notifications: %v", mc)
	}
	mb := e.shMust("bob", "Mailbox/changes", map[string]any{"accountId": bob, "sinceState": s0})
	if len(mb["created"].([]any))+len(mb["updated"].([]any))+len(mb["destroyed"].([]any)) != 0 {
		t.Fatalf("Mailbox/changes over share notifications: %v", mb)
	}
}

// TestSharePushed: EventSource tells bob of a share given to him (his
// ShareNotification state) and of new mail in a shared account.
func TestSharePushed(t *testing.T) { eachBackend(t, testSharePushed) }

func testSharePushed(t *testing.T, e *gwEnv) {
	alice, bob := e.acct("alice"), e.acct("bob")
	open := func(types string) *bufio.Reader {
		t.Helper()
		req, _ := http.NewRequest("GET", e.url+"/jmap/eventsource/?types="+types+"&closeafter=state&ping=0", nil)
		req.SetBasicAuth("bob", password("bob"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return bufio.NewReader(res.Body)
	}
	changed := func(br *bufio.Reader) map[string]map[string]string {
		t.Helper()
		typ, data := readEvent(t, br)
		var sc struct {
			Changed map[string]map[string]string `json:"changed"`
		}
		if err := json.Unmarshal([]byte(data), &sc); err != nil || typ != "state" {
			t.Fatalf("event %s %s", typ, data)
		}
		return sc.Changed
	}
	br := open("ShareNotification,Email")
	proj, err := e.db.CreateFolder(e.as("alice"), e.storeOf("alice").ID, 0, "Projects", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetACL(e.as("alice"), proj.ID, "user:bob", "lr"); err != nil {
		t.Fatal(err)
	}
	ch := changed(br)
	if ch[bob]["ShareNotification"] == "" || len(ch) != 1 {
		t.Fatalf("push of the share: %v", ch)
	}
	// A stream opened now follows alice's shared store too.
	br = open("Email,ShareNotification")
	it, err := e.db.AppendItem(e.as("alice"), proj.ID, store.NewItem{Content: strings.NewReader(crlfs(plainMsg))})
	if err != nil {
		t.Fatal(err)
	}
	ch = changed(br)
	if ch[alice]["Email"] != fmt.Sprint(it.ModSeq) || ch[alice]["ShareNotification"] != "" || ch[bob] != nil {
		t.Fatalf("push of mail in the shared account: %v", ch)
	}
}

func inboxItemID(t *testing.T, e *gwEnv) int64 {
	t.Helper()
	items, err := e.db.ListItems(e.as("alice"), e.folder("alice", store.SpecialInbox).ID, 1, 0)
	if err != nil || len(items) == 0 {
		t.Fatalf("alice's inbox: %v %v", items, err)
	}
	return items[0].ID
}

func inbox0(e *gwEnv) string { return fmt.Sprintf("M%d", e.folder("alice", store.SpecialInbox).ID) }

// TestSharingStoreFailure: a failing store is serverFail (HTTP 500 for
// the session), never accountNotFound or notFound.
func TestSharingStoreFailure(t *testing.T) {
	t.Parallel()
	var fb *storefault.Backend
	e := newEnv(t, func(o *jmapserver.Options) {
		fb = storefault.New(o.Store)
		o.Store = fb
		o.Authenticate = fb.Authenticate("web")
		o.AuthCacheTTL = -1
	})
	alice, bob := e.acct("alice"), e.acct("bob")
	if err := e.db.SetACL(e.as("alice"), e.folder("alice", store.SpecialInbox).ID, "user:bob", "lr"); err != nil {
		t.Fatal(err)
	}
	call := func(login, name string, args any) (string, map[string]any) {
		t.Helper()
		b, _ := json.Marshal([]any{[]any{name, args, "c0"}})
		r := e.do(login, "POST", "/jmap/api/", strings.NewReader(`{"using":`+shareUsing+`,"methodCalls":`+string(b)+`}`))
		if r.code != 200 {
			t.Fatalf("API %d: %s", r.code, r.body)
		}
		inv := r.json(t)["methodResponses"].([]any)[0].([]any)
		return inv[0].(string), inv[1].(map[string]any)
	}
	inbox := fmt.Sprintf("M%d", e.folder("alice", store.SpecialInbox).ID)
	for _, tc := range []struct {
		fail, login, method string
		args                any
	}{
		{"SharedFolders", "bob", "Mailbox/get", map[string]any{"accountId": alice}},
		// The archive is one of the accounts beyond the user's own.
		{"UserArchive", "bob", "Mailbox/get", map[string]any{"accountId": alice}},
		{"ListUsers", "bob", "Principal/get", map[string]any{"accountId": bob}},
		{"ListGroups", "bob", "Principal/query", map[string]any{"accountId": bob}},
		{"ShareNotifications", "bob", "ShareNotification/get", map[string]any{"accountId": bob}},
		{"DeleteShareNotifications", "bob", "ShareNotification/set", map[string]any{"accountId": bob, "destroy": []string{"N1"}}},
		{"GetACL", "alice", "Mailbox/get", map[string]any{"accountId": alice, "properties": []string{"shareWith"}}},
		{"SetACL", "alice", "Mailbox/set", map[string]any{"accountId": alice, "update": map[string]any{inbox: map[string]any{"shareWith": nil}}}},
	} {
		fb.Fail(nil, tc.fail)
		if n, a := call(tc.login, tc.method, tc.args); n != "error" || a["type"] != "serverFail" {
			t.Errorf("%s with %s failing: %s %v", tc.method, tc.fail, n, a)
		}
		fb.Heal()
	}
	fb.Fail(nil, "SharedFolders")
	if r := e.do("bob", "GET", "/jmap/session", nil); r.code != 500 {
		t.Fatalf("session with SharedFolders failing: %d", r.code)
	}
	fb.Heal()
	fb.Fail(nil, "UserArchive")
	if r := e.do("bob", "GET", "/jmap/session", nil); r.code != 500 {
		t.Fatalf("session with UserArchive failing: %d", r.code)
	}
	fb.Heal()
	if n, a := call("bob", "Mailbox/get", map[string]any{"accountId": alice}); n != "Mailbox/get" {
		t.Fatalf("after healing: %s %v", n, a)
	}
}
