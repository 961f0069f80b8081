// Package storetest is the conformance suite every store.Backend passes
// (SQLite and PostgreSQL run it in the same CI run).
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/store"
)

// Instance is a backend under test.
type Instance struct {
	Backend store.Backend
	Blobs   blob.Store
	// Reopen closes Backend and opens the same database again, as after a
	// restart.
	Reopen func(t *testing.T) store.Backend
}

// Run runs the whole suite. newInstance must return a fresh, empty
// database each call (subtests run in parallel).
func Run(t *testing.T, newInstance func(t *testing.T) *Instance) {
	tests := []struct {
		name string
		fn   func(*testing.T, *Instance)
	}{
		{"Tenants", testTenants},
		{"Users", testUsers},
		{"Groups", testGroups},
		{"GroupUpdate", testGroupUpdate},
		{"Contacts", testContacts},
		{"Domains", testDomains},
		{"SpecialFolders", testSpecialFolders},
		{"FolderTree", testFolderTree},
		{"AppendAndRead", testAppendAndRead},
		{"TenancyIsolation", testTenancyIsolation},
		{"ACL", testACL},
		{"NoPrincipal", testNoPrincipal},
		{"Flags", testFlags},
		{"UIDsAcrossRestart", testUIDsAcrossRestart},
		{"SoftDeleteRestorePurge", testSoftDelete},
		{"FolderSoftDelete", testFolderSoftDelete},
		{"SingleInstanceBlobs", testBlobRefs},
		{"Quota", testQuota},
		{"Orphans", testOrphans},
		{"MoveCopy", testMoveCopy},
		{"Journal", testJournal},
		{"JournalActors", testJournalActors},
		{"ConcurrentWriters", testConcurrentWriters},
		{"AdminRights", testAdminRights},
		{"Recipients", testRecipients},
		{"IDsNeverReused", testIDsNeverReused},
		{"LargeFolderListing", testLargeFolderListing},
		{"Objects", testObjects},
		{"Props", testProps},
		{"PropsPrefix", testPropsPrefix},
		{"RecordOnce", testRecordOnce},
		{"Concurrency", testConcurrency},
		{"Queue", testQueue},
		{"PartSingleInstance", testPartSingleInstance},
		{"PasswordSwap", testPasswordSwap},
		{"PasswordRevokesGrants", testPasswordRevokesGrants},
		{"SaveDates", testSaveDates},
		{"MessageLimit", testMessageLimit},
		{"EmptyContent", testEmptyContent},
		{"MessageMetas", testMessageMetas},
		{"OpenItems", testOpenItems},
		{"Threads", testThreads},
		{"ShareNotifications", testShareNotifications},
		{"ShareNotificationFanout", testShareNotificationFanout},
		{"QueryItems", testQueryItems},
		{"Secrets", testSecrets},
		{"SecretLimits", testSecretLimits},
		{"TOTP", testTOTP},
		{"Index", testIndex},
		{"SSO", testSSO},
		{"Archives", testArchives},
		{"NodeURLs", testNodeURLs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if r := recover(); r != nil {
					if f, ok := r.(failure); ok {
						t.Fatalf("%v\n%s", f.err, f.stack)
					}
					panic(r)
				}
			}()
			tc.fn(t, newInstance(t))
		})
	}
}

var sys = store.SystemContext(context.Background())

// failure is panicked by must and turned into t.Fatal by Run.
type failure struct {
	err   error
	stack string
}

// must returns v or, on error, fails the running test (through Run's
// recover, since a generic helper cannot take t and a call's two results).
func must[T any](v T, err error) T {
	if err != nil {
		panic(failure{err, string(debug.Stack())})
	}
	return v
}

func check(err error) {
	if err != nil {
		panic(failure{err, string(debug.Stack())})
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

// setup creates tenant "acme" with alice and bob, and tenant "globex"
// with eve.
type fixture struct {
	b                store.Backend
	alice, bob, eve  context.Context
	aliceStore       *store.Store
	bobStore         *store.Store
	eveStore         *store.Store
	aliceInbox       *store.Folder
	bobInbox         *store.Folder
	eveInbox         *store.Folder
	aliceU, bobU, eU *store.User
}

func setup(t *testing.T, b store.Backend) *fixture {
	t.Helper()
	f := &fixture{b: b}
	must(b.CreateTenant(sys, "acme"))
	must(b.CreateTenant(sys, "globex"))
	f.aliceU = must(b.CreateUser(sys, "acme", store.User{Login: "alice", Email: "alice@acme.test", FullName: "Alice A", Active: true}))
	f.bobU = must(b.CreateUser(sys, "acme", store.User{Login: "bob", Email: "bob@acme.test", FullName: "Bob B", Active: true}))
	f.eU = must(b.CreateUser(sys, "globex", store.User{Login: "eve", Email: "eve@globex.test", Active: true}))
	f.alice = as(t, b, "alice")
	f.bob = as(t, b, "bob")
	f.eve = as(t, b, "eve")
	f.aliceStore = must(b.UserStore(f.alice, "alice"))
	f.bobStore = must(b.UserStore(f.bob, "bob"))
	f.eveStore = must(b.UserStore(f.eve, "eve"))
	f.aliceInbox = special(t, b, f.alice, f.aliceStore.ID, store.SpecialInbox)
	f.bobInbox = special(t, b, f.bob, f.bobStore.ID, store.SpecialInbox)
	f.eveInbox = special(t, b, f.eve, f.eveStore.ID, store.SpecialInbox)
	return f
}

func as(t *testing.T, b store.Backend, login string) context.Context {
	t.Helper()
	p := must(b.Principal(sys, login))
	return store.WithPrincipal(context.Background(), p)
}

func special(t *testing.T, b store.Backend, ctx context.Context, storeID int64, role string) *store.Folder {
	t.Helper()
	for _, f := range must(b.ListFolders(ctx, storeID)) {
		if f.Special == role {
			return f
		}
	}
	t.Fatalf("store %d has no %s folder", storeID, role)
	return nil
}

func msg(i int) string {
	return fmt.Sprintf("From: a@example.test\r\nSubject: message %d\r\n\r\nBody %d\r\n", i, i)
}

func appendMsg(t *testing.T, b store.Backend, ctx context.Context, folderID int64, body string, flags ...string) *store.Item {
	t.Helper()
	return must(b.AppendItem(ctx, folderID, store.NewItem{Content: strings.NewReader(body), Flags: flags}))
}

func readItem(t *testing.T, b store.Backend, ctx context.Context, id int64) string {
	t.Helper()
	r := must(b.OpenItem(ctx, id))
	defer r.Close()
	return string(must(io.ReadAll(r)))
}

func testTenants(t *testing.T, in *Instance) {
	b := in.Backend
	tn := must(b.CreateTenant(sys, "Acme"))
	if tn.Name != "Acme" || tn.ID == 0 {
		t.Fatalf("tenant %+v", tn)
	}
	_, err := b.CreateTenant(sys, "acme")
	wantErr(t, err, store.ErrConflict)
	_, err = b.CreateTenant(sys, "bad/name")
	wantErr(t, err, store.ErrInvalid)
	must(b.CreateTenant(sys, "Other"))
	g := must(b.GetGroup(sys, "Acme", store.EveryoneGroup))
	if !g.BuiltIn {
		t.Fatal("Everyone is not built in")
	}
	w := int64(100 << 20)
	tn = must(b.UpdateTenant(sys, "acme", store.TenantUpdate{QuotaWarn: &w}))
	if tn.QuotaWarn != w {
		t.Fatalf("quota warn %d", tn.QuotaWarn)
	}
	// The tenant's home node (sharded mode): set, kept by other
	// updates, cleared.
	// Only a registered backend can be one.
	node, none, front, nowhere := "node-b", "", "node-f", "node-x"
	cl, ok := b.(store.Cluster)
	if !ok {
		t.Fatal("the backend keeps no node registry (store.Cluster)")
	}
	must(cl.Heartbeat(sys, store.Node{Name: "node-b", Roles: []string{"backend"}}, time.Minute))
	must(cl.Heartbeat(sys, store.Node{Name: "node-f", Roles: []string{"frontend"}}, time.Minute))
	_, err = b.UpdateTenant(sys, "acme", store.TenantUpdate{HomeNode: &nowhere})
	wantErr(t, err, store.ErrInvalid)
	_, err = b.UpdateTenant(sys, "acme", store.TenantUpdate{HomeNode: &front})
	wantErr(t, err, store.ErrInvalid)
	if tn = must(b.UpdateTenant(sys, "acme", store.TenantUpdate{HomeNode: &node})); tn.HomeNode != "node-b" || tn.QuotaWarn != w {
		t.Fatalf("home node set: %+v", tn)
	}
	if tn = must(b.UpdateTenant(sys, "acme", store.TenantUpdate{QuotaWarn: &w})); tn.HomeNode != "node-b" {
		t.Fatalf("home node after another update: %+v", tn)
	}
	if tn = must(b.GetTenant(sys, "acme")); tn.HomeNode != "node-b" {
		t.Fatalf("home node read back: %+v", tn)
	}
	if tn = must(b.UpdateTenant(sys, "acme", store.TenantUpdate{HomeNode: &none})); tn.HomeNode != "" {
		t.Fatalf("home node cleared: %+v", tn)
	}
	neg := int64(-1)
	_, err = b.UpdateTenant(sys, "acme", store.TenantUpdate{UserQuotaHard: &neg})
	wantErr(t, err, store.ErrInvalid)
	hard, soft := int64(10<<20), int64(20<<20)
	_, err = b.UpdateTenant(sys, "acme", store.TenantUpdate{UserQuotaHard: &hard, UserQuotaSoft: &soft})
	wantErr(t, err, store.ErrInvalid)
	if err := b.AddTenantViewer(sys, "Acme", "Other"); err != nil {
		t.Fatal(err)
	}
	tn = must(b.GetTenant(sys, "acme"))
	if !slices.Equal(tn.Viewers, []string{"Other"}) {
		t.Fatalf("viewers %v", tn.Viewers)
	}
	// Rename and link (the LDAP sync follows a renamed company): the
	// same tenant, its settings, users and viewers; a taken or invalid
	// name is refused; only a system administrator may.
	must(b.CreateUser(sys, "Acme", store.User{Login: "r1"}))
	ext, newName, taken, bad := "entryUUID:1234", "Acme Corp", "other", "bad/name"
	_, err = b.UpdateTenant(sys, "acme", store.TenantUpdate{Name: &taken})
	wantErr(t, err, store.ErrConflict)
	_, err = b.UpdateTenant(sys, "acme", store.TenantUpdate{Name: &bad})
	wantErr(t, err, store.ErrInvalid)
	r1 := must(b.Principal(sys, "r1"))
	r1.Admin = store.AdminTenant
	_, err = b.UpdateTenant(store.WithPrincipal(context.Background(), r1), "acme", store.TenantUpdate{Name: &newName})
	wantErr(t, err, store.ErrPermission)
	id := tn.ID
	tn = must(b.UpdateTenant(sys, "acme", store.TenantUpdate{Name: &newName, ExternalID: &ext}))
	if tn.ID != id || tn.Name != newName || tn.ExternalID != ext || tn.QuotaWarn != w || !slices.Equal(tn.Viewers, []string{"Other"}) {
		t.Fatalf("renamed tenant %+v", tn)
	}
	_, err = b.GetTenant(sys, "acme")
	wantErr(t, err, store.ErrNotFound)
	if tn = must(b.GetTenant(sys, "acme corp")); tn.ID != id || tn.ExternalID != ext {
		t.Fatalf("renamed tenant read back %+v", tn)
	}
	if u := must(b.GetUser(sys, "r1")); u.Tenant != newName {
		t.Fatalf("user of the renamed tenant %+v", u)
	}
	if g := must(b.GetGroup(sys, newName, store.EveryoneGroup)); !g.BuiltIn {
		t.Fatalf("Everyone of the renamed tenant %+v", g)
	}
	// A change of case only, and back; the link cleared.
	acme, none := "Acme", ""
	if tn = must(b.UpdateTenant(sys, newName, store.TenantUpdate{Name: &acme, ExternalID: &none})); tn.Name != "Acme" || tn.ExternalID != "" {
		t.Fatalf("renamed back %+v", tn)
	}
	if err := b.DeleteUser(sys, "r1"); err != nil {
		t.Fatal(err)
	}
	must(b.CreateUser(sys, "Acme", store.User{Login: "u1"}))
	wantErr(t, b.DeleteTenant(sys, "Acme"), store.ErrConflict)
	if err := b.DeleteUser(sys, "u1"); err != nil {
		t.Fatal(err)
	}
	for _, o := range must(b.ListOrphans(sys)) {
		if err := b.RemoveStore(sys, o.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.DeleteTenant(sys, "Acme"); err != nil {
		t.Fatal(err)
	}
	_, err = b.GetTenant(sys, "acme")
	wantErr(t, err, store.ErrNotFound)
	names := []string{}
	for _, x := range must(b.ListTenants(sys)) {
		names = append(names, x.Name)
	}
	if !slices.Equal(names, []string{"Other"}) {
		t.Fatalf("tenants %v", names)
	}
}

func testUsers(t *testing.T, in *Instance) {
	b := in.Backend
	must(b.CreateTenant(sys, "acme"))
	u := must(b.CreateUser(sys, "acme", store.User{Login: "Alice", Email: "Alice@Acme.test", FullName: "Alice", Active: true,
		Aliases: []string{"a@acme.test"}, PasswordHash: "hash"}))
	if u.StoreID == 0 || u.Email != "alice@acme.test" {
		t.Fatalf("user %+v", u)
	}
	_, err := b.CreateUser(sys, "acme", store.User{Login: "alice"})
	wantErr(t, err, store.ErrConflict)
	_, err = b.CreateUser(sys, "acme", store.User{Login: "x", Email: "A@acme.test"})
	wantErr(t, err, store.ErrConflict)
	_, err = b.CreateUser(sys, "nope", store.User{Login: "y"})
	wantErr(t, err, store.ErrNotFound)
	_, err = b.CreateUser(sys, "acme", store.User{Login: "z", Email: "not-an-address"})
	wantErr(t, err, store.ErrInvalid)
	_, err = b.CreateUser(sys, "acme", store.User{Login: "z", Admin: 3})
	wantErr(t, err, store.ErrInvalid)
	got := must(b.UserByAddress(sys, "A@ACME.TEST"))
	if got.Login != "Alice" || got.PasswordHash != "hash" {
		t.Fatalf("by alias: %+v", got)
	}
	must(b.CreateUser(sys, "acme", store.User{Login: "bob", Email: "bob@acme.test", Active: true}))
	name, email := "Alice Liddell", "alice.l@acme.test"
	off, cap := false, 3
	accept := true
	q := int64(5 << 20)
	qo := true
	u = must(b.UpdateUser(sys, "alice", store.UserUpdate{FullName: &name, Email: &email, Active: &off,
		AliasAdd: []string{"al@acme.test"}, AliasRemove: []string{"a@acme.test"}, EnableFeature: []string{"imap"},
		DisableFeat: []string{"pop3"}, SendAsAdd: []string{"bob"}, AutoAccept: &accept, Capacity: &cap,
		QuotaOverride: &qo, QuotaHard: &q}))
	if u.FullName != name || u.Email != email || u.Active || !slices.Equal(u.Aliases, []string{"al@acme.test"}) ||
		!slices.Equal(u.EnabledFeatures, []string{"imap"}) || !slices.Equal(u.DisabledFeatures, []string{"pop3"}) ||
		!slices.Equal(u.SendAs, []string{"bob"}) || !u.Resource.AutoAccept || u.Resource.Capacity != 3 ||
		!u.QuotaOverride || u.Quota.Hard != q {
		t.Fatalf("updated %+v", u)
	}
	_, err = b.UserByAddress(sys, "alice@acme.test")
	wantErr(t, err, store.ErrNotFound)
	_, err = b.UpdateUser(sys, "alice", store.UserUpdate{EnableFeature: []string{"teleport"}})
	wantErr(t, err, store.ErrInvalid)
	_, err = b.UpdateUser(sys, "alice", store.UserUpdate{AliasRemove: []string{"never@acme.test"}})
	wantErr(t, err, store.ErrNotFound)
	newName := "alice2"
	must(b.UpdateUser(sys, "alice", store.UserUpdate{Rename: &newName}))
	_, err = b.GetUser(sys, "alice")
	wantErr(t, err, store.ErrNotFound)
	bobName := "bob"
	_, err = b.UpdateUser(sys, "alice2", store.UserUpdate{Rename: &bobName})
	wantErr(t, err, store.ErrConflict)
	users := must(b.ListUsers(sys, "acme"))
	if len(users) != 2 {
		t.Fatalf("%d users", len(users))
	}
	// The list carries each user's aliases, send-as delegates and groups
	// as GetUser does (read for all of them at once).
	for _, u := range users {
		one := must(b.GetUser(sys, u.Login))
		if !slices.Equal(u.Aliases, one.Aliases) || !slices.Equal(u.SendAs, one.SendAs) || !slices.Equal(u.Groups, one.Groups) {
			t.Fatalf("ListUsers gives %s aliases %v, send-as %v, groups %v; GetUser %v, %v, %v",
				u.Login, u.Aliases, u.SendAs, u.Groups, one.Aliases, one.SendAs, one.Groups)
		}
	}
	if i := slices.IndexFunc(users, func(u *store.User) bool { return u.Login == "alice2" }); i < 0 || !slices.Equal(users[i].Aliases, []string{"al@acme.test"}) {
		t.Fatalf("alice2's aliases not listed: %+v", users)
	}
	// Principals other than the system never see password hashes.
	bob := as(t, b, "bob")
	if u := must(b.GetUser(bob, "alice2")); u.PasswordHash != "" {
		t.Fatal("password hash leaked")
	}
	// A user may change its own name, not its admin level.
	nn := "Bobby"
	must(b.UpdateUser(bob, "bob", store.UserUpdate{FullName: &nn}))
	lvl := store.AdminSystem
	_, err = b.UpdateUser(bob, "bob", store.UserUpdate{Admin: &lvl})
	wantErr(t, err, store.ErrPermission)
}

func testGroups(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	g := must(b.CreateGroup(sys, "acme", store.Group{Name: "Sales", Email: "sales@acme.test", Kind: store.GroupDistribution}))
	if g.Kind != store.GroupDistribution {
		t.Fatalf("%+v", g)
	}
	_, err := b.CreateGroup(sys, "acme", store.Group{Name: "sales"})
	wantErr(t, err, store.ErrConflict)
	// Same name in another tenant is fine.
	must(b.CreateGroup(sys, "globex", store.Group{Name: "Sales"}))
	if err := b.AddGroupMember(sys, "acme", "sales", "alice"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, b.AddGroupMember(sys, "acme", "sales", "alice"), store.ErrConflict)
	wantErr(t, b.AddGroupMember(sys, "acme", "sales", "eve"), store.ErrInvalid)
	wantErr(t, b.AddGroupMember(sys, "acme", store.EveryoneGroup, "bob"), store.ErrInvalid)
	g = must(b.GetGroup(sys, "acme", "Sales"))
	if !slices.Equal(g.Members, []string{"alice"}) {
		t.Fatalf("members %v", g.Members)
	}
	ev := must(b.GetGroup(sys, "acme", store.EveryoneGroup))
	if !slices.Equal(ev.Members, []string{"alice", "bob"}) {
		t.Fatalf("Everyone %v", ev.Members)
	}
	u := must(b.GetUser(sys, "alice"))
	if !slices.Equal(u.Groups, []string{store.EveryoneGroup, "Sales"}) {
		t.Fatalf("groups %v", u.Groups)
	}
	// Ordinary users cannot manage groups.
	_, err = b.CreateGroup(f.alice, "acme", store.Group{Name: "x"})
	wantErr(t, err, store.ErrPermission)
	wantErr(t, b.DeleteGroup(sys, "acme", store.EveryoneGroup), store.ErrInvalid)
	wantErr(t, b.RemoveGroupMember(sys, "acme", "sales", "bob"), store.ErrNotFound)
	if err := b.DeleteGroup(sys, "acme", "sales"); err != nil {
		t.Fatal(err)
	}
	if n := len(must(b.ListGroups(sys, "acme"))); n != 1 {
		t.Fatalf("%d groups left", n)
	}
}

func testDomains(t *testing.T, in *Instance) {
	b := in.Backend
	must(b.CreateTenant(sys, "acme"))
	must(b.CreateTenant(sys, "globex"))
	if err := b.AddDomain(sys, "acme", "Acme.Test"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, b.AddDomain(sys, "globex", "acme.test"), store.ErrConflict)
	wantErr(t, b.AddDomain(sys, "acme", "bad domain"), store.ErrInvalid)
	// An address in another tenant's domain is refused.
	_, err := b.CreateUser(sys, "globex", store.User{Login: "mallory", Email: "ceo@acme.test"})
	wantErr(t, err, store.ErrInvalid)
	must(b.CreateUser(sys, "acme", store.User{Login: "ceo", Email: "ceo@acme.test"}))
	wantErr(t, b.RemoveDomain(sys, "acme.test"), store.ErrConflict)
	ds := must(b.ListDomains(sys))
	if len(ds) != 1 || ds[0].Name != "acme.test" || ds[0].Tenant != "acme" {
		t.Fatalf("%+v", ds)
	}
	wantErr(t, b.RemoveDomain(sys, "nope.test"), store.ErrNotFound)
}

func testSpecialFolders(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	fs := must(b.ListFolders(f.alice, f.aliceStore.ID))
	roles := map[string]store.FolderType{}
	for _, x := range fs {
		roles[x.Special] = x.Type
	}
	for role, typ := range map[string]store.FolderType{store.SpecialInbox: store.FolderMail, store.SpecialDrafts: store.FolderMail,
		store.SpecialSent: store.FolderMail, store.SpecialTrash: store.FolderMail, store.SpecialJunk: store.FolderMail,
		store.SpecialOutbox: store.FolderMail, store.SpecialArchive: store.FolderMail, store.SpecialCalendar: store.FolderCalendar,
		store.SpecialContacts: store.FolderContacts, store.SpecialTasks: store.FolderTasks, store.SpecialNotes: store.FolderNotes} {
		if roles[role] != typ {
			t.Errorf("special folder %s: type %q", role, roles[role])
		}
	}
	wantErr(t, b.DeleteFolder(f.alice, f.aliceInbox.ID), store.ErrInvalid)
	// Localised names.
	b.SetDefaults(store.Defaults{Locale: "de_DE"})
	must(b.CreateUser(sys, "acme", store.User{Login: "dieter"}))
	ds := must(b.UserStore(sys, "dieter"))
	if got := special(t, b, sys, ds.ID, store.SpecialTrash).Name; got != "Papierkorb" {
		t.Fatalf("de_DE trash is %q", got)
	}
	b.SetDefaults(store.Defaults{Locale: "en_US"})
}

func testFolderTree(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	ctx := f.alice
	a := must(b.CreateFolder(ctx, f.aliceStore.ID, 0, "Projects", store.FolderMail))
	c := must(b.CreateFolder(ctx, f.aliceStore.ID, a.ID, "Roost", store.FolderMail))
	_, err := b.CreateFolder(ctx, f.aliceStore.ID, 0, "projects", store.FolderMail)
	wantErr(t, err, store.ErrConflict)
	for _, bad := range []string{"", "..", ".", "a/b", "nul\x00", " lead", strings.Repeat("x", 300)} {
		_, err = b.CreateFolder(ctx, f.aliceStore.ID, 0, bad, store.FolderMail)
		wantErr(t, err, store.ErrInvalid)
	}
	_, err = b.CreateFolder(ctx, f.aliceStore.ID, 0, "x", "weird")
	wantErr(t, err, store.ErrInvalid)
	// Depth is bounded.
	parent := int64(0)
	var derr error
	for i := 0; i < 70; i++ {
		nf, err := b.CreateFolder(ctx, f.aliceStore.ID, parent, fmt.Sprint("d", i), store.FolderMail)
		if err != nil {
			derr = err
			break
		}
		parent = nf.ID
	}
	wantErr(t, derr, store.ErrInvalid)
	// Rename and move.
	r := must(b.RenameFolder(ctx, c.ID, 0, "Roost Top"))
	if r.ParentID != 0 || r.Name != "Roost Top" || r.UIDValidity != c.UIDValidity {
		t.Fatalf("renamed %+v", r)
	}
	_, err = b.RenameFolder(ctx, a.ID, a.ID, "loop")
	wantErr(t, err, store.ErrInvalid)
	// Another user's store is not theirs to change.
	_, err = b.CreateFolder(f.bob, f.aliceStore.ID, 0, "intruder", store.FolderMail)
	wantErr(t, err, store.ErrNotFound)
	// UIDVALIDITY differs for a folder recreated under the same name.
	if err := b.DeleteFolder(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	a2 := must(b.CreateFolder(ctx, f.aliceStore.ID, 0, "Projects", store.FolderMail))
	if a2.UIDValidity == a.UIDValidity {
		t.Fatal("UIDVALIDITY reused for a recreated folder")
	}
}

func testAppendAndRead(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	it := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(1), `\seen`, "$Label1")
	if it.UID != 1 || it.Size != int64(len(msg(1))) || !slices.Equal(it.Flags, []string{"$Label1", `\Seen`}) {
		t.Fatalf("item %+v", it)
	}
	if got := readItem(t, b, f.alice, it.ID); got != msg(1) {
		t.Fatalf("content %q", got)
	}
	it2 := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(2))
	if it2.UID != 2 || it2.ModSeq <= it.ModSeq {
		t.Fatalf("second item %+v", it2)
	}
	got := must(b.ItemByUID(f.alice, f.aliceInbox.ID, 2))
	if got.ID != it2.ID {
		t.Fatal("ItemByUID")
	}
	l := must(b.ListItems(f.alice, f.aliceInbox.ID, 2, 0))
	if len(l) != 1 || l[0].UID != 2 || !l[0].InternalDate.Equal(it2.InternalDate) {
		t.Fatalf("list %+v", l)
	}
	fo := must(b.GetFolder(f.alice, f.aliceInbox.ID))
	if fo.Messages != 2 || fo.UIDNext != 3 || fo.HighestModSeq != it2.ModSeq {
		t.Fatalf("folder %+v", fo)
	}
	_, err := b.AppendItem(f.alice, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader("x"), Flags: []string{`\Recent`}})
	wantErr(t, err, store.ErrInvalid)
	_, err = b.AppendItem(f.alice, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader("x"), Flags: []string{"bad flag"}})
	wantErr(t, err, store.ErrInvalid)
	// Calendars hold items too.
	cal := special(t, b, f.alice, f.aliceStore.ID, store.SpecialCalendar)
	appendMsg(t, b, f.alice, cal.ID, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
}

func testTenancyIsolation(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	it := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(1))
	e := f.eve
	// Every id from another tenant is NotFound, never Permission.
	_, err := b.GetStore(e, f.aliceStore.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.GetFolder(e, f.aliceInbox.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.ListFolders(e, f.aliceStore.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.GetItem(e, it.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.OpenItem(e, it.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.ListItems(e, f.aliceInbox.ID, 1, 0)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.AppendItem(e, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader("x")})
	wantErr(t, err, store.ErrNotFound)
	_, err = b.GetACL(e, f.aliceInbox.ID)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, b.SetACL(e, f.aliceInbox.ID, "user:eve", "lr"), store.ErrNotFound)
	_, err = b.GetUser(e, "alice")
	wantErr(t, err, store.ErrNotFound)
	_, err = b.UserByAddress(e, "alice@acme.test")
	wantErr(t, err, store.ErrNotFound)
	_, err = b.GetTenant(e, "acme")
	wantErr(t, err, store.ErrNotFound)
	_, err = b.Changes(e, f.aliceStore.ID, 0, 0)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.CopyItems(e, f.aliceInbox.ID, []uint32{1}, f.eveInbox.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.MoveItems(f.alice, f.aliceInbox.ID, []uint32{1}, f.eveInbox.ID)
	wantErr(t, err, store.ErrNotFound)
	for _, tn := range must(b.ListTenants(e)) {
		if tn.Name != "globex" {
			t.Fatalf("eve lists tenant %q", tn.Name)
		}
	}
	for _, u := range must(b.ListUsers(e, "")) {
		if u.Tenant != "globex" {
			t.Fatalf("eve lists user %q", u.Login)
		}
	}
	// Even "anyone" does not reach across tenants.
	if err := b.SetACL(f.alice, f.aliceInbox.ID, "anyone", "lr"); err != nil {
		t.Fatal(err)
	}
	_, err = b.GetFolder(e, f.aliceInbox.ID)
	wantErr(t, err, store.ErrNotFound)
	// Nor can alice name eve in an ACL.
	wantErr(t, b.SetACL(f.alice, f.aliceInbox.ID, "user:eve", "lr"), store.ErrNotFound)
	// Tenant admins are limited to their tenant.
	lvl := store.AdminTenant
	must(b.UpdateUser(sys, "eve", store.UserUpdate{Admin: &lvl}))
	eveAdmin := as(t, b, "eve")
	_, err = b.CreateUser(eveAdmin, "acme", store.User{Login: "sneaky"})
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, b.DeleteUser(eveAdmin, "alice"), store.ErrNotFound)
	must(b.CreateUser(eveAdmin, "globex", store.User{Login: "fine"}))
}

func testACL(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	it := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(1))
	// Without rights bob does not even see the folder.
	_, err := b.GetFolder(f.bob, f.aliceInbox.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.GetItem(f.bob, it.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.GetStore(f.bob, f.aliceStore.ID)
	wantErr(t, err, store.ErrNotFound)
	// Lookup only: visible but not readable.
	if err := b.SetACL(f.alice, f.aliceInbox.ID, "user:Bob", "l"); err != nil {
		t.Fatal(err)
	}
	must(b.GetFolder(f.bob, f.aliceInbox.ID))
	_, err = b.ListItems(f.bob, f.aliceInbox.ID, 1, 0)
	wantErr(t, err, store.ErrPermission)
	must(b.GetStore(f.bob, f.aliceStore.ID))
	if fs := must(b.ListFolders(f.bob, f.aliceStore.ID)); len(fs) != 1 {
		t.Fatalf("bob sees %d folders", len(fs))
	}
	// Read: items readable, flags \Seen need "s", append needs "i".
	if err := b.SetACL(f.alice, f.aliceInbox.ID, "user:bob", "lr"); err != nil {
		t.Fatal(err)
	}
	if got := readItem(t, b, f.bob, it.ID); got != msg(1) {
		t.Fatal("bob cannot read")
	}
	_, err = b.UpdateFlags(f.bob, f.aliceInbox.ID, []uint32{1}, store.FlagsAdd, []string{`\Seen`})
	wantErr(t, err, store.ErrPermission)
	_, err = b.AppendItem(f.bob, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader("x")})
	wantErr(t, err, store.ErrPermission)
	_, err = b.DeleteItems(f.bob, f.aliceInbox.ID, []uint32{1})
	wantErr(t, err, store.ErrPermission)
	_, err = b.GetACL(f.bob, f.aliceInbox.ID)
	wantErr(t, err, store.ErrPermission)
	wantErr(t, b.SetACL(f.bob, f.aliceInbox.ID, "user:bob", "lrswipkxtea"), store.ErrPermission)
	if r := must(b.MyRights(f.bob, f.aliceInbox.ID)); r != "lr" {
		t.Fatalf("myrights %q", r)
	}
	// Groups grant rights.
	must(b.CreateGroup(sys, "acme", store.Group{Name: "team"}))
	if err := b.AddGroupMember(sys, "acme", "team", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetACL(f.alice, f.aliceInbox.ID, "group:team", "si"); err != nil {
		t.Fatal(err)
	}
	bob := as(t, b, "bob") // group membership is read at login
	must(b.UpdateFlags(bob, f.aliceInbox.ID, []uint32{1}, store.FlagsAdd, []string{`\Seen`}))
	appendMsg(t, b, bob, f.aliceInbox.ID, msg(2))
	acl := must(b.GetACL(f.alice, f.aliceInbox.ID))
	if len(acl) != 2 || acl[0].Subject != "group:team" || acl[1].Subject != "user:bob" {
		t.Fatalf("acl %+v", acl)
	}
	wantErr(t, b.SetACL(f.alice, f.aliceInbox.ID, "user:bob", "lrz"), store.ErrInvalid)
	wantErr(t, b.SetACL(f.alice, f.aliceInbox.ID, "user:nobody", "lr"), store.ErrNotFound)
	wantErr(t, b.SetACL(f.alice, f.aliceInbox.ID, "robot", "lr"), store.ErrInvalid)
	// The delegate finds what is shared with it without scanning stores.
	shared := must(b.SharedFolders(bob))
	if len(shared) != 1 || shared[0].Folder.ID != f.aliceInbox.ID || shared[0].Store.Owner != "alice" || shared[0].Rights != "lrsi" {
		t.Fatalf("shared folders %+v", shared)
	}
	if n := len(must(b.SharedFolders(f.eve))); n != 0 {
		t.Fatalf("eve (other tenant) sees %d shared folders", n)
	}
	// Subscriptions are per user: bob subscribes to alice's shared Inbox
	// without changing alice's.
	check(b.SetSubscribed(bob, f.aliceInbox.ID, true))
	if !must(b.GetFolder(bob, f.aliceInbox.ID)).Subscribed || !must(b.GetFolder(f.alice, f.aliceInbox.ID)).Subscribed {
		t.Fatal("subscriptions")
	}
	check(b.SetSubscribed(f.alice, f.aliceInbox.ID, false))
	if !must(b.GetFolder(bob, f.aliceInbox.ID)).Subscribed || must(b.GetFolder(f.alice, f.aliceInbox.ID)).Subscribed {
		t.Fatal("unsubscribing alice changed bob's subscription")
	}
	check(b.SetSubscribed(f.alice, f.aliceInbox.ID, true))
	// Revoking hides the folder again.
	if err := b.DeleteACL(f.alice, f.aliceInbox.ID, "user:bob"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteACL(f.alice, f.aliceInbox.ID, "group:team"); err != nil {
		t.Fatal(err)
	}
	_, err = b.GetFolder(bob, f.aliceInbox.ID)
	wantErr(t, err, store.ErrNotFound)
	// A subfolder inherits its parent's ACL: a delegate with "k" creates
	// one and still sees it.
	check(b.SetACL(f.alice, f.aliceInbox.ID, "user:bob", "lrk"))
	sub := must(b.CreateFolder(bob, f.aliceStore.ID, f.aliceInbox.ID, "From Bob", store.FolderMail))
	if r := must(b.MyRights(bob, sub.ID)); r != "lrk" {
		t.Fatalf("rights on the new subfolder: %q", r)
	}
	check(b.DeleteACL(f.alice, f.aliceInbox.ID, "user:bob"))
	// Obsolete rights map onto RFC 4314 ones.
	if err := b.SetACL(f.alice, f.aliceInbox.ID, "user:bob", "lrcd"); err != nil {
		t.Fatal(err)
	}
	if r := must(b.MyRights(bob, f.aliceInbox.ID)); r != "lrkxte" {
		t.Fatalf("rights after c/d: %q", r)
	}
}

func testNoPrincipal(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	bare := context.Background()
	_, err := b.GetFolder(bare, f.aliceInbox.ID)
	wantErr(t, err, store.ErrPermission)
	_, err = b.ListUsers(bare, "")
	wantErr(t, err, store.ErrPermission)
	_, err = b.CreateTenant(f.alice, "mine")
	wantErr(t, err, store.ErrPermission)
	_, err = b.Principal(f.alice, "bob")
	wantErr(t, err, store.ErrPermission)
	_, err = b.PurgeDeleted(f.alice, 0)
	wantErr(t, err, store.ErrPermission)
}

func testFlags(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	for i := 0; i < 3; i++ {
		appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(i))
	}
	before := must(b.GetFolder(f.alice, f.aliceInbox.ID)).HighestModSeq
	res := must(b.UpdateFlags(f.alice, f.aliceInbox.ID, []uint32{1, 3, 99}, store.FlagsAdd, []string{`\Flagged`, "todo"}))
	if len(res) != 2 || res[0].UID != 1 || res[1].UID != 3 || res[0].ModSeq <= before || res[1].ModSeq <= res[0].ModSeq {
		t.Fatalf("%+v", res)
	}
	after := must(b.GetFolder(f.alice, f.aliceInbox.ID)).HighestModSeq
	if after != res[1].ModSeq {
		t.Fatalf("highestmodseq %d want %d", after, res[1].ModSeq)
	}
	// No change, no new MODSEQ.
	res2 := must(b.UpdateFlags(f.alice, f.aliceInbox.ID, []uint32{1}, store.FlagsAdd, []string{`\Flagged`}))
	if res2[0].ModSeq != res[0].ModSeq {
		t.Fatal("unchanged flags got a new MODSEQ")
	}
	must(b.UpdateFlags(f.alice, f.aliceInbox.ID, []uint32{1}, store.FlagsRemove, []string{"todo"}))
	must(b.UpdateFlags(f.alice, f.aliceInbox.ID, []uint32{3}, store.FlagsReplace, []string{`\Seen`}))
	l := must(b.ListItems(f.alice, f.aliceInbox.ID, 1, 0))
	if !slices.Equal(l[0].Flags, []string{`\Flagged`}) || len(l[1].Flags) != 0 || !slices.Equal(l[2].Flags, []string{`\Seen`}) {
		t.Fatalf("%+v", l)
	}
	many := make([]string, 200)
	for i := range many {
		many[i] = fmt.Sprint("k", i)
	}
	_, err := b.UpdateFlags(f.alice, f.aliceInbox.ID, []uint32{1}, store.FlagsAdd, many)
	wantErr(t, err, store.ErrInvalid)
}

func testUIDsAcrossRestart(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	for i := 0; i < 5; i++ {
		appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(i))
	}
	// Expunge the highest UIDs: they must never come back.
	must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{4, 5}))
	if _, err := b.PurgeDeleted(sys, 0); err != nil {
		t.Fatal(err)
	}
	uv := must(b.GetFolder(f.alice, f.aliceInbox.ID)).UIDValidity
	b = in.Reopen(t)
	alice := as(t, b, "alice")
	fo := must(b.GetFolder(alice, f.aliceInbox.ID))
	if fo.UIDValidity != uv || fo.UIDNext != 6 {
		t.Fatalf("after restart %+v", fo)
	}
	it := appendMsg(t, b, alice, f.aliceInbox.ID, msg(6))
	if it.UID != 6 {
		t.Fatalf("UID %d after restart, want 6", it.UID)
	}
	nf := must(b.CreateFolder(alice, f.aliceStore.ID, 0, "After", store.FolderMail))
	if nf.UIDValidity <= uv {
		t.Fatalf("new UIDVALIDITY %d not above %d", nf.UIDValidity, uv)
	}
}

func testSoftDelete(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	it := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(1))
	appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(2))
	gone := must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{1, 42}))
	if !slices.Equal(gone, []uint32{1}) {
		t.Fatalf("deleted %v", gone)
	}
	_, err := b.GetItem(f.alice, it.ID)
	wantErr(t, err, store.ErrNotFound)
	if s := must(b.GetStore(f.alice, f.aliceStore.ID)); s.Messages != 1 || s.Size != int64(len(msg(2))) {
		t.Fatalf("store after delete %+v", s)
	}
	del := must(b.ListDeletedItems(f.alice, f.aliceInbox.ID))
	if len(del) != 1 || del[0].ID != it.ID {
		t.Fatalf("deleted list %+v", del)
	}
	// A deleted item's content stays readable to its owner (backups);
	// a live item is not "deleted", and bob, without rights, sees nothing.
	rc := must(b.OpenDeletedItem(f.alice, it.ID))
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(data) != msg(1) {
		t.Fatalf("deleted item's content: %q %v", data, err)
	}
	_, err = b.OpenDeletedItem(f.alice, it.ID+1)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.OpenDeletedItem(f.bob, it.ID)
	wantErr(t, err, store.ErrNotFound)
	if err := b.RestoreItems(f.alice, []int64{it.ID}); err != nil {
		t.Fatal(err)
	}
	r := must(b.GetItem(f.alice, it.ID))
	if r.UID != 3 {
		t.Fatalf("restored item has UID %d, want a new one (3)", r.UID)
	}
	if got := readItem(t, b, f.alice, it.ID); got != msg(1) {
		t.Fatal("restored content differs")
	}
	wantErr(t, b.RestoreItems(f.alice, []int64{it.ID}), store.ErrInvalid)
	// Purge honours the age.
	must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{3}))
	st := must(b.PurgeDeleted(sys, time.Hour))
	if st.Items != 0 {
		t.Fatalf("purged %d young items", st.Items)
	}
	st = must(b.PurgeDeleted(sys, 0))
	if st.Items != 1 {
		t.Fatalf("purged %d items, want 1", st.Items)
	}
	wantErr(t, b.RestoreItems(f.alice, []int64{it.ID}), store.ErrNotFound)
	if n := len(must(b.ListDeletedItems(f.alice, f.aliceInbox.ID))); n != 0 {
		t.Fatalf("%d deleted items after purge", n)
	}
}

func testFolderSoftDelete(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	p := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "Old", store.FolderMail))
	c := must(b.CreateFolder(f.alice, f.aliceStore.ID, p.ID, "Child", store.FolderMail))
	appendMsg(t, b, f.alice, c.ID, msg(1))
	before := must(b.GetStore(f.alice, f.aliceStore.ID)).Size
	if err := b.DeleteFolder(f.alice, p.ID); err != nil {
		t.Fatal(err)
	}
	_, err := b.GetFolder(f.alice, c.ID)
	wantErr(t, err, store.ErrNotFound)
	if s := must(b.GetStore(f.alice, f.aliceStore.ID)).Size; s != 0 || before == 0 {
		t.Fatalf("size %d after deleting, %d before", s, before)
	}
	if n := len(must(b.ListDeletedFolders(f.alice, f.aliceStore.ID))); n != 2 {
		t.Fatalf("%d deleted folders", n)
	}
	must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "Old", store.FolderMail))
	if err := b.RestoreFolder(f.alice, p.ID); err != nil {
		t.Fatal(err)
	}
	rp := must(b.GetFolder(f.alice, p.ID))
	if rp.Name == "Old" {
		t.Fatal("restored folder took a name in use")
	}
	must(b.GetFolder(f.alice, c.ID))
	if s := must(b.GetStore(f.alice, f.aliceStore.ID)).Size; s != before {
		t.Fatalf("size %d after restore, want %d", s, before)
	}
	if err := b.DeleteFolder(f.alice, p.ID); err != nil {
		t.Fatal(err)
	}
	st := must(b.PurgeDeleted(sys, 0))
	if st.Folders != 2 || st.Items != 1 {
		t.Fatalf("purge %+v", st)
	}
	wantErr(t, b.RestoreFolder(f.alice, p.ID), store.ErrNotFound)
}

func testBlobRefs(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	big := strings.Repeat("attachment ", 10000)
	i1 := appendMsg(t, b, f.alice, f.aliceInbox.ID, big)
	i2 := appendMsg(t, b, f.bob, f.bobInbox.ID, big)
	i3 := appendMsg(t, b, f.eve, f.eveInbox.ID, big)
	if i1.Blob != i2.Blob || i2.Blob != i3.Blob {
		t.Fatal("identical content stored twice")
	}
	count := func() int {
		n := 0
		if err := in.Blobs.Walk(context.Background(), func(id blob.ID) error {
			if id == i1.Blob {
				n++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count() != 1 {
		t.Fatal("blob missing")
	}
	must(b.CopyItems(f.alice, f.aliceInbox.ID, []uint32{i1.UID}, special(t, b, f.alice, f.aliceStore.ID, store.SpecialArchive).ID))
	must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{i1.UID}))
	must(b.DeleteItems(f.bob, f.bobInbox.ID, []uint32{i2.UID}))
	must(b.PurgeDeleted(sys, 0))
	if count() != 1 {
		t.Fatal("blob freed while eve's message and alice's copy still use it")
	}
	must(b.DeleteItems(f.eve, f.eveInbox.ID, []uint32{i3.UID}))
	arch := special(t, b, f.alice, f.aliceStore.ID, store.SpecialArchive)
	must(b.DeleteItems(f.alice, arch.ID, []uint32{1}))
	st := must(b.PurgeDeleted(sys, 0))
	if count() != 0 || st.Blobs < 1 {
		t.Fatalf("blob not freed after the last reference went (%+v)", st)
	}
	// The same content arriving again is stored again.
	i4 := appendMsg(t, b, f.alice, f.aliceInbox.ID, big)
	if got := readItem(t, b, f.alice, i4.ID); got != big {
		t.Fatal("content after re-store")
	}
}

func testQuota(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	q := must(b.StoreQuota(f.alice, f.aliceStore.ID))
	if q.Size != 0 || q.Source != "global" {
		t.Fatalf("%+v", q)
	}
	b.SetDefaults(store.Defaults{Quota: store.Quota{Warn: 100, Soft: 200, Hard: 300}, TenantWarn: 1000})
	defer b.SetDefaults(store.Defaults{})
	appendMsg(t, b, f.alice, f.aliceInbox.ID, strings.Repeat("x", 250))
	_, err := b.AppendItem(f.alice, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader(strings.Repeat("y", 100))})
	wantErr(t, err, store.ErrOverQuota)
	q = must(b.StoreQuota(f.alice, f.aliceStore.ID))
	if q.Size != 250 || q.Messages != 1 || q.Quota.Hard != 300 {
		t.Fatalf("%+v", q)
	}
	// Tenant user defaults beat the global ones; a user override beats both.
	th := int64(10000)
	must(b.UpdateTenant(sys, "acme", store.TenantUpdate{UserQuotaHard: &th}))
	appendMsg(t, b, f.alice, f.aliceInbox.ID, strings.Repeat("y", 100))
	if q = must(b.StoreQuota(f.alice, f.aliceStore.ID)); q.Source != "tenant" || q.Size != 350 {
		t.Fatalf("%+v", q)
	}
	yes, uh := true, int64(350)
	must(b.UpdateUser(sys, "alice", store.UserUpdate{QuotaOverride: &yes, QuotaHard: &uh}))
	_, err = b.AppendItem(f.alice, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader(strings.Repeat("z", 100))})
	wantErr(t, err, store.ErrOverQuota)
	// Deleting frees quota.
	must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{1}))
	appendMsg(t, b, f.alice, f.aliceInbox.ID, strings.Repeat("z", 100))
	// Copy is checked too.
	_, err = b.CopyItems(f.alice, f.aliceInbox.ID, []uint32{2, 3}, f.aliceInbox.ID)
	wantErr(t, err, store.ErrOverQuota)
	// Only the system may store past the hard quota (quota warnings).
	_, err = b.AppendItem(f.alice, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader(strings.Repeat("y", 200)), OverQuota: true})
	wantErr(t, err, store.ErrOverQuota)
	w := must(b.AppendItem(sys, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader(strings.Repeat("w", 200)), OverQuota: true}))
	must(b.DeleteItems(sys, f.aliceInbox.ID, []uint32{w.UID}))
	// Tenant usage counts every store of the tenant, the public one too.
	pub := must(b.CreatePublicStore(sys, "acme"))
	pf := must(b.CreateFolder(sys, pub.ID, 0, "Announcements", store.FolderMail))
	appendMsg(t, b, sys, pf.ID, strings.Repeat("p", 50))
	appendMsg(t, b, f.bob, f.bobInbox.ID, strings.Repeat("b", 10))
	u := must(b.TenantUsage(sys, "acme"))
	if u.Size != 200+50+10 || u.QuotaWarn != 1000 {
		t.Fatalf("tenant usage %+v", u)
	}
	_, err = b.TenantUsage(f.alice, "acme")
	wantErr(t, err, store.ErrPermission)
}

func testOrphans(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	appendMsg(t, b, f.bob, f.bobInbox.ID, msg(1))
	if err := b.DeleteUser(sys, "bob"); err != nil {
		t.Fatal(err)
	}
	orphans := must(b.ListOrphans(sys))
	if len(orphans) != 1 || orphans[0].ID != f.bobStore.ID || !orphans[0].Orphan || orphans[0].FormerOwner != "bob" {
		t.Fatalf("orphans %+v", orphans)
	}
	// The old owner's session no longer reaches it.
	if _, err := b.Principal(sys, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("principal of deleted user: %v", err)
	}
	// Attach it to carol, whose own new store becomes an orphan.
	must(b.CreateUser(sys, "acme", store.User{Login: "carol", Active: true}))
	carolOld := must(b.UserStore(sys, "carol"))
	if err := b.HookStore(sys, f.bobStore.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	carol := as(t, b, "carol")
	cs := must(b.UserStore(carol, "carol"))
	if cs.ID != f.bobStore.ID {
		t.Fatalf("carol's store %d, want %d", cs.ID, f.bobStore.ID)
	}
	if n := len(must(b.ListItems(carol, f.bobInbox.ID, 1, 0))); n != 1 {
		t.Fatalf("carol sees %d messages of the hooked store", n)
	}
	orphans = must(b.ListOrphans(sys))
	if len(orphans) != 1 || orphans[0].ID != carolOld.ID {
		t.Fatalf("orphans %+v", orphans)
	}
	wantErr(t, b.HookStore(sys, f.aliceStore.ID, "carol"), store.ErrInvalid)
	wantErr(t, b.RemoveStore(sys, f.aliceStore.ID), store.ErrInvalid)
	// An orphan may become the public store.
	if err := b.HookStore(sys, carolOld.ID, ""); err != nil {
		t.Fatal(err)
	}
	if tn := must(b.GetTenant(sys, "acme")); tn.PublicStoreID != carolOld.ID {
		t.Fatalf("public store %d", tn.PublicStoreID)
	}
	_, err := b.CreatePublicStore(sys, "acme")
	wantErr(t, err, store.ErrConflict)
	// Another tenant's admin cannot see or hook them.
	lvl := store.AdminTenant
	must(b.UpdateUser(sys, "eve", store.UserUpdate{Admin: &lvl}))
	if err := b.DeleteUser(sys, "alice"); err != nil {
		t.Fatal(err)
	}
	eve := as(t, b, "eve")
	if n := len(must(b.ListOrphans(eve))); n != 0 {
		t.Fatalf("eve lists %d orphans of acme", n)
	}
	wantErr(t, b.RemoveStore(eve, f.aliceStore.ID), store.ErrNotFound)
	if err := b.RemoveStore(sys, f.aliceStore.ID); err != nil {
		t.Fatal(err)
	}
	st := must(b.PurgeDeleted(sys, 0))
	if st.Stores != 1 {
		t.Fatalf("purge %+v", st)
	}
	_, err = b.GetStore(sys, f.aliceStore.ID)
	wantErr(t, err, store.ErrNotFound)
}

func testMoveCopy(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	for i := 0; i < 3; i++ {
		appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(i), "$k")
	}
	arch := special(t, b, f.alice, f.aliceStore.ID, store.SpecialArchive)
	m := must(b.MoveItems(f.alice, f.aliceInbox.ID, []uint32{1, 3}, arch.ID))
	if len(m) != 2 || m[0] != (store.UIDMap{From: 1, To: 1}) || m[1] != (store.UIDMap{From: 3, To: 2}) {
		t.Fatalf("move map %+v", m)
	}
	if n := must(b.GetFolder(f.alice, f.aliceInbox.ID)).Messages; n != 1 {
		t.Fatalf("inbox has %d", n)
	}
	l := must(b.ListItems(f.alice, arch.ID, 1, 0))
	if len(l) != 2 || !slices.Equal(l[0].Flags, []string{"$k"}) {
		t.Fatalf("archive %+v", l)
	}
	c := must(b.CopyItems(f.alice, arch.ID, []uint32{1, 2}, f.aliceInbox.ID))
	if len(c) != 2 || c[0].To != 4 || c[1].To != 5 {
		t.Fatalf("copy map %+v", c)
	}
	if s := must(b.GetStore(f.alice, f.aliceStore.ID)); s.Messages != 5 {
		t.Fatalf("store has %d", s.Messages)
	}
	_, err := b.MoveItems(f.alice, arch.ID, []uint32{1}, arch.ID)
	wantErr(t, err, store.ErrInvalid)
	// Moving into a shared folder of another user needs "i" there.
	_, err = b.MoveItems(f.alice, arch.ID, []uint32{1}, f.bobInbox.ID)
	wantErr(t, err, store.ErrNotFound)
	if err := b.SetACL(f.bob, f.bobInbox.ID, "user:alice", "li"); err != nil {
		t.Fatal(err)
	}
	must(b.MoveItems(f.alice, arch.ID, []uint32{1}, f.bobInbox.ID))
	if s := must(b.GetStore(f.bob, f.bobStore.ID)); s.Messages != 1 {
		t.Fatalf("bob's store has %d", s.Messages)
	}
}

func testJournal(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	var start uint64
	for _, c := range must(b.Changes(f.alice, f.aliceStore.ID, 0, 0)) {
		start = c.Seq
	}
	it := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(1))
	must(b.UpdateFlags(f.alice, f.aliceInbox.ID, []uint32{1}, store.FlagsAdd, []string{`\Seen`}))
	must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{1}))
	nf := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "J", store.FolderMail))
	ch := must(b.Changes(f.alice, f.aliceStore.ID, start, 0))
	var kinds []store.ChangeKind
	var last uint64
	for _, c := range ch {
		if c.Seq <= last {
			t.Fatalf("journal not strictly increasing: %+v", ch)
		}
		last = c.Seq
		kinds = append(kinds, c.Kind)
	}
	want := []store.ChangeKind{store.ChangeItemCreated, store.ChangeItemUpdated, store.ChangeItemDeleted, store.ChangeFolderCreated}
	if !slices.Equal(kinds, want) {
		t.Fatalf("journal kinds %v want %v", kinds, want)
	}
	if ch[2].UID != it.UID || ch[2].FolderID != f.aliceInbox.ID || ch[3].FolderID != nf.ID {
		t.Fatalf("journal entries %+v", ch)
	}
	// The store's ModSeq is the journal position (JMAP state strings).
	if st := must(b.GetStore(f.alice, f.aliceStore.ID)); st.ModSeq != last {
		t.Fatalf("store ModSeq %d, journal at %d", st.ModSeq, last)
	}
	// A delegate sees only entries of folders shared with it.
	if err := b.SetACL(f.alice, nf.ID, "user:bob", "lr"); err != nil {
		t.Fatal(err)
	}
	for _, c := range must(b.Changes(f.bob, f.aliceStore.ID, 0, 0)) {
		if c.FolderID != nf.ID {
			t.Fatalf("bob sees a change of folder %d", c.FolderID)
		}
	}
}

func testConcurrentWriters(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	uids := make(chan uint32, writers*each)
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				it, err := b.AppendItem(f.alice, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader(msg(w*1000 + i))})
				if err != nil {
					errs <- err
					return
				}
				uids <- it.UID
				if i%5 == 0 {
					if _, err := b.UpdateFlags(f.alice, f.aliceInbox.ID, []uint32{it.UID}, store.FlagsAdd, []string{`\Seen`}); err != nil {
						errs <- err
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(uids)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for u := range uids {
		if seen[u] {
			t.Fatalf("UID %d handed out twice", u)
		}
		seen[u] = true
	}
	fo := must(b.GetFolder(f.alice, f.aliceInbox.ID))
	if fo.Messages != writers*each || fo.UIDNext != writers*each+1 {
		t.Fatalf("folder %+v", fo)
	}
	l := must(b.ListItems(f.alice, f.aliceInbox.ID, 1, 0))
	if len(l) != writers*each {
		t.Fatalf("%d items listed", len(l))
	}
	var buf bytes.Buffer
	r := must(b.OpenItem(f.alice, l[len(l)-1].ID))
	io.Copy(&buf, r)
	r.Close()
	if !strings.HasPrefix(buf.String(), "From:") {
		t.Fatal("content")
	}
}

func testAdminRights(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	lvl := store.AdminTenant
	must(b.UpdateUser(sys, "bob", store.UserUpdate{Admin: &lvl}))
	bob := as(t, b, "bob")
	// A tenant admin manages its tenant's users...
	must(b.CreateUser(bob, "acme", store.User{Login: "dave"}))
	q := int64(1 << 20)
	must(b.UpdateUser(bob, "dave", store.UserUpdate{QuotaHard: &q}))
	// ...but cannot make system admins, change tenant quotas or create tenants.
	sa := store.AdminSystem
	_, err := b.UpdateUser(bob, "dave", store.UserUpdate{Admin: &sa})
	wantErr(t, err, store.ErrPermission)
	_, err = b.CreateUser(bob, "acme", store.User{Login: "root2", Admin: store.AdminSystem})
	wantErr(t, err, store.ErrPermission)
	_, err = b.UpdateTenant(bob, "acme", store.TenantUpdate{QuotaWarn: &q})
	wantErr(t, err, store.ErrPermission)
	_, err = b.CreateTenant(bob, "mine")
	wantErr(t, err, store.ErrPermission)
	// and opens the stores of its tenant (Kopano admin rights).
	must(b.ListItems(bob, f.aliceInbox.ID, 1, 0))
	_, err = b.ListItems(bob, f.eveInbox.ID, 1, 0)
	wantErr(t, err, store.ErrNotFound)
	// The tenant admin list extends a tenant admin to another tenant.
	if err := b.AddTenantAdmin(sys, "globex", "bob"); err != nil {
		t.Fatal(err)
	}
	bob = as(t, b, "bob")
	must(b.CreateUser(bob, "globex", store.User{Login: "gina"}))
	if err := b.RemoveTenantAdmin(sys, "globex", "bob"); err != nil {
		t.Fatal(err)
	}
	bob = as(t, b, "bob")
	_, err = b.CreateUser(bob, "globex", store.User{Login: "gina2"})
	wantErr(t, err, store.ErrNotFound)
	// Ordinary users administer nothing.
	_, err = b.CreateUser(f.alice, "acme", store.User{Login: "x"})
	wantErr(t, err, store.ErrPermission)
	wantErr(t, b.DeleteUser(f.alice, "bob"), store.ErrPermission)
}

func testRecipients(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	login := func(us []*store.User) []string {
		var l []string
		for _, u := range us {
			l = append(l, u.Login)
		}
		return l
	}
	if got := login(must(b.Recipients(sys, "Alice@ACME.test"))); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("primary: %v", got)
	}
	if got := login(must(b.Recipients(sys, "alice+lists@acme.test"))); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("subaddress: %v", got)
	}
	_, err := b.Recipients(sys, "nobody@acme.test")
	wantErr(t, err, store.ErrNotFound)
	must(b.CreateGroup(sys, "acme", store.Group{Name: "all", Email: "all@acme.test", Kind: store.GroupDistribution}))
	_, err = b.Recipients(sys, "all@acme.test")
	wantErr(t, err, store.ErrNotFound) // no members yet
	check(b.AddGroupMember(sys, "acme", "all", "alice"))
	check(b.AddGroupMember(sys, "acme", "all", "bob"))
	if got := login(must(b.Recipients(sys, "all@acme.test"))); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("group: %v", got)
	}
	// A group's members come as filled as each one alone: aliases,
	// send-as delegates and groups.
	must(b.UpdateUser(sys, "bob", store.UserUpdate{AliasAdd: []string{"robert@acme.test", "bobby@acme.test"}, SendAsAdd: []string{"alice"}}))
	for _, u := range must(b.Recipients(sys, "all@acme.test")) {
		if one := must(b.Recipients(sys, u.Email)); len(one) != 1 || !reflect.DeepEqual(one[0], u) {
			t.Fatalf("group member %s:\n%+v\nalone:\n%+v", u.Login, u, one)
		}
		if want := must(b.GetUser(sys, u.Login)); !reflect.DeepEqual(want, u) {
			t.Fatalf("group member %s:\n%+v\nGetUser:\n%+v", u.Login, u, want)
		}
		if u.Login == "bob" && (len(u.Aliases) != 2 || len(u.SendAs) != 1 || !slices.Contains(u.Groups, "all")) {
			t.Fatalf("group member bob: aliases %v, send-as %v, groups %v", u.Aliases, u.SendAs, u.Groups)
		}
	}
	// A catch-all alias takes what nobody else does.
	must(b.UpdateUser(sys, "bob", store.UserUpdate{AliasAdd: []string{"@acme.test"}}))
	if got := login(must(b.Recipients(sys, "whoever@acme.test"))); !slices.Equal(got, []string{"bob"}) {
		t.Fatalf("catch-all: %v", got)
	}
	if got := login(must(b.Recipients(sys, "alice@acme.test"))); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("catch-all took an existing address: %v", got)
	}
	_, err = b.CreateUser(sys, "acme", store.User{Login: "x", Email: "@acme.test"})
	wantErr(t, err, store.ErrInvalid)
	// Only the system resolves recipients.
	_, err = b.Recipients(f.alice, "bob@acme.test")
	wantErr(t, err, store.ErrPermission)
}

// testIDsNeverReused: after the item with the highest id is purged, the
// next item gets a new id (caches key on item ids).
func testIDsNeverReused(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	it := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(1))
	must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{it.UID}))
	must(b.PurgeDeleted(sys, 0))
	it2 := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(2))
	if it2.ID <= it.ID {
		t.Fatalf("item id %d reused or lower after purging %d", it2.ID, it.ID)
	}
}

// testLargeFolderListing lists a folder large enough to be cached by the
// backend and checks that every kind of change shows in the next listing.
func testLargeFolderListing(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	const n = 1100
	for i := 0; i < n; i++ {
		appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(i))
	}
	list := func() []store.ItemSummary { return must(b.ListItems(f.alice, f.aliceInbox.ID, 1, 0)) }
	if l := list(); len(l) != n || list()[n-1].UID != n {
		t.Fatalf("listed %d", len(l))
	}
	must(b.UpdateFlags(f.alice, f.aliceInbox.ID, []uint32{7}, store.FlagsAdd, []string{`\Flagged`}))
	if l := list(); !slices.Equal(l[6].Flags, []string{`\Flagged`}) {
		t.Fatalf("flag change not listed: %+v", l[6])
	}
	must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{1}))
	if l := list(); len(l) != n-1 || l[0].UID != 2 {
		t.Fatalf("delete not listed: %d items, first UID %d", len(l), l[0].UID)
	}
	appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(n))
	if l := list(); len(l) != n || l[len(l)-1].UID != n+1 {
		t.Fatalf("append not listed: %d items", len(l))
	}
	arch := special(t, b, f.alice, f.aliceStore.ID, store.SpecialArchive)
	must(b.MoveItems(f.alice, f.aliceInbox.ID, []uint32{2, 3}, arch.ID))
	if l := list(); len(l) != n-2 || l[0].UID != 4 {
		t.Fatalf("move not listed: %d items, first UID %d", len(l), l[0].UID)
	}
	// Partial listings agree with the full one, and callers get copies.
	full := list()
	part := must(b.ListItems(f.alice, f.aliceInbox.ID, 500, 10))
	if len(part) != 10 || part[0].UID != 500 || part[9].UID != full[slices.IndexFunc(full, func(s store.ItemSummary) bool { return s.UID == 500 })+9].UID {
		t.Fatalf("partial listing %+v", part)
	}
	part[0].UID = 1
	if must(b.ListItems(f.alice, f.aliceInbox.ID, 500, 1))[0].UID != 500 {
		t.Fatal("a caller's change leaked into later listings")
	}
	// Access is still checked for every listing.
	_, err := b.ListItems(f.bob, f.aliceInbox.ID, 1, 0)
	wantErr(t, err, store.ErrNotFound)
}

// testGroupUpdate: a rename keeps the group's members, address and the
// ACL entries naming it (bob still reads alice's inbox through it); the
// directory link is kept; kind, hidden and address change; a name taken
// by another group, a built-in group and an ordinary user are refused.
func testGroupUpdate(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	must(b.CreateGroup(sys, "acme", store.Group{Name: "Sales", Email: "sales@acme.test", ExternalID: "entryUUID:1234"}))
	must(b.CreateGroup(sys, "acme", store.Group{Name: "Support"}))
	if err := b.AddGroupMember(sys, "acme", "Sales", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetACL(f.alice, f.aliceInbox.ID, store.GroupSubject("sales"), "lr"); err != nil {
		t.Fatal(err)
	}
	name := "Vertrieb"
	g := must(b.UpdateGroup(sys, "acme", "sales", store.GroupUpdate{Name: &name}))
	if g.Name != "Vertrieb" || g.ExternalID != "entryUUID:1234" || !slices.Equal(g.Members, []string{"bob"}) || g.Email != "sales@acme.test" {
		t.Fatalf("renamed group %+v", g)
	}
	if _, err := b.GetGroup(sys, "acme", "Sales"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old name still found: %v", err)
	}
	acl := must(b.GetACL(f.alice, f.aliceInbox.ID))
	found := false
	for _, e := range acl {
		if e.Subject == store.GroupSubject("sales") {
			t.Errorf("ACL still names the old group: %+v", acl)
		}
		found = found || e.Subject == store.GroupSubject("vertrieb")
	}
	if !found {
		t.Errorf("ACL lost the renamed group: %+v", acl)
	}
	bob := as(t, b, "bob")
	if _, err := b.GetFolder(bob, f.aliceInbox.ID); err != nil {
		t.Errorf("bob lost access through the renamed group: %v", err)
	}
	if us := must(b.Recipients(sys, "sales@acme.test")); len(us) != 1 || us[0].Login != "bob" {
		t.Errorf("the group's address after the rename: %+v", us)
	}
	// Case only: allowed.
	lower := "vertrieb"
	must(b.UpdateGroup(sys, "acme", "Vertrieb", store.GroupUpdate{Name: &lower}))
	kind, hidden, mail, ext := store.GroupDistribution, true, "vertrieb@acme.test", "entryUUID:5678"
	g = must(b.UpdateGroup(sys, "acme", "vertrieb", store.GroupUpdate{Kind: &kind, Hidden: &hidden, Email: &mail, ExternalID: &ext}))
	if g.Kind != store.GroupDistribution || !g.Hidden || g.Email != "vertrieb@acme.test" || g.ExternalID != ext {
		t.Fatalf("updated group %+v", g)
	}
	if _, err := b.Recipients(sys, "sales@acme.test"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old address still resolves: %v", err)
	}
	must(b.Recipients(sys, "vertrieb@acme.test"))
	taken := "support"
	_, err := b.UpdateGroup(sys, "acme", "vertrieb", store.GroupUpdate{Name: &taken})
	wantErr(t, err, store.ErrConflict)
	_, err = b.UpdateGroup(sys, "acme", store.EveryoneGroup, store.GroupUpdate{Name: &taken})
	wantErr(t, err, store.ErrInvalid)
	_, err = b.UpdateGroup(f.alice, "acme", "vertrieb", store.GroupUpdate{Hidden: &hidden})
	wantErr(t, err, store.ErrPermission)
	_, err = b.UpdateGroup(sys, "acme", "nosuch", store.GroupUpdate{Hidden: &hidden})
	wantErr(t, err, store.ErrNotFound)
}

// testContacts: a tenant's contacts are made, changed and deleted by its
// administrators; its users and viewers list them, other tenants do
// not see them; addresses are unique per tenant; deleting the tenant
// deletes them.
func testContacts(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	c := must(b.CreateContact(sys, "acme", store.Contact{Email: " Supplies@Vendor.example ", Name: "Vendor Supplies"}))
	if c.Email != "Supplies@Vendor.example" || c.Tenant != "acme" || c.Name != "Vendor Supplies" || c.Hidden || c.Created.IsZero() {
		t.Fatalf("created %+v", c)
	}
	_, err := b.CreateContact(sys, "acme", store.Contact{Email: "supplies@vendor.example"})
	wantErr(t, err, store.ErrConflict)
	for _, bad := range []store.Contact{{Email: "no-at"}, {Email: "@vendor.example"}, {Email: "a@b.example", Name: "two\nlines"},
		{Email: "a@b.example", Name: strings.Repeat("n", store.MaxContactName+1)}, {Email: "a b@c.example"}} {
		_, err := b.CreateContact(sys, "acme", bad)
		wantErr(t, err, store.ErrInvalid)
	}
	// The same address in another tenant is another contact.
	must(b.CreateContact(sys, "globex", store.Contact{Email: "supplies@vendor.example", Name: "Globex's vendor"}))
	must(b.CreateContact(sys, "acme", store.Contact{Email: "ann@partner.example", Name: "Ann Partner", ExternalID: "entryUUID:1"}))
	// Users list their tenant's contacts, sorted by name; not another's.
	list := must(b.ListContacts(f.alice, "acme"))
	if len(list) != 2 || list[0].Name != "Ann Partner" || list[0].ExternalID != "entryUUID:1" || list[1].Name != "Vendor Supplies" {
		t.Fatalf("alice lists %+v", list)
	}
	_, err = b.ListContacts(f.alice, "globex")
	wantErr(t, err, store.ErrNotFound)
	if all := must(b.ListContacts(f.eve, "")); len(all) != 1 || all[0].Tenant != "globex" {
		t.Fatalf("eve lists %+v", all)
	}
	if all := must(b.ListContacts(sys, "")); len(all) != 3 {
		t.Fatalf("the system lists %+v", all)
	}
	// Only administrators of the tenant change them.
	_, err = b.CreateContact(f.alice, "acme", store.Contact{Email: "x@y.example"})
	wantErr(t, err, store.ErrPermission)
	name := "Alice's change"
	_, err = b.UpdateContact(f.alice, "acme", "ann@partner.example", store.ContactUpdate{Name: &name})
	wantErr(t, err, store.ErrPermission)
	wantErr(t, b.DeleteContact(f.alice, "acme", "ann@partner.example"), store.ErrPermission)
	_, err = b.UpdateContact(sys, "globex", "ann@partner.example", store.ContactUpdate{Name: &name})
	wantErr(t, err, store.ErrNotFound)
	// A tenant administrator of acme may, in acme only.
	must(b.CreateUser(sys, "acme", store.User{Login: "boss", Admin: store.AdminTenant, Active: true}))
	boss := as(t, b, "boss")
	hidden, addr, newName := true, "ann@partner2.example", "Ann P."
	c = must(b.UpdateContact(boss, "", "ANN@partner.example", store.ContactUpdate{Email: &addr, Name: &newName, Hidden: &hidden}))
	if c.Email != addr || c.Name != newName || !c.Hidden || c.ExternalID != "entryUUID:1" {
		t.Fatalf("updated %+v", c)
	}
	taken := "supplies@VENDOR.example"
	_, err = b.UpdateContact(boss, "acme", addr, store.ContactUpdate{Email: &taken})
	wantErr(t, err, store.ErrConflict)
	_, err = b.CreateContact(boss, "globex", store.Contact{Email: "x@y.example"})
	if err == nil {
		t.Fatal("acme's administrator made a contact in globex")
	}
	// Contacts as group members: mail to the group goes out to them.
	must(b.CreateGroup(sys, "acme", store.Group{Name: "Partners", Email: "partners@acme.test", Kind: store.GroupDistribution}))
	if err := b.AddGroupContact(boss, "acme", "partners", addr); err != nil {
		t.Fatal(err)
	}
	wantErr(t, b.AddGroupContact(boss, "acme", "partners", addr), store.ErrConflict)
	wantErr(t, b.AddGroupContact(boss, "acme", "partners", "nobody@vendor.example"), store.ErrNotFound)
	wantErr(t, b.AddGroupContact(boss, "acme", store.EveryoneGroup, addr), store.ErrInvalid)
	wantErr(t, b.AddGroupContact(f.alice, "acme", "partners", addr), store.ErrPermission)
	if g := must(b.GetGroup(sys, "acme", "partners")); !slices.Equal(g.Contacts, []string{addr}) || len(g.Members) != 0 {
		t.Fatalf("partners %+v", g)
	}
	for _, a := range []string{"partners@acme.test", "Partners+news@ACME.test"} {
		if got := must(b.RecipientContacts(sys, a)); !slices.Equal(got, []string{addr}) {
			t.Fatalf("contacts of %s: %v", a, got)
		}
	}
	for _, a := range []string{"alice@acme.test", "nobody@acme.test", "no-at"} {
		if got := must(b.RecipientContacts(sys, a)); len(got) != 0 {
			t.Fatalf("contacts of %s: %v", a, got)
		}
	}
	_, err = b.RecipientContacts(f.alice, "partners@acme.test")
	wantErr(t, err, store.ErrPermission)
	// A group with contacts only has no users to deliver to here.
	_, err = b.Recipients(sys, "partners@acme.test")
	wantErr(t, err, store.ErrNotFound)
	// The membership follows the contact's new address.
	moved := "ann@partner3.example"
	must(b.UpdateContact(boss, "acme", addr, store.ContactUpdate{Email: &moved}))
	if got := must(b.RecipientContacts(sys, "partners@acme.test")); !slices.Equal(got, []string{moved}) {
		t.Fatalf("contacts after the address change: %v", got)
	}
	addr = moved
	// Deleting the contact ends its memberships.
	if err := b.DeleteContact(boss, "acme", addr); err != nil {
		t.Fatal(err)
	}
	wantErr(t, b.DeleteContact(boss, "acme", addr), store.ErrNotFound)
	if g := must(b.GetGroup(sys, "acme", "partners")); len(g.Contacts) != 0 {
		t.Fatalf("partners after the contact's deletion %+v", g)
	}
	if err := b.AddGroupContact(sys, "acme", "partners", "supplies@vendor.example"); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveGroupContact(sys, "acme", "partners", "SUPPLIES@vendor.example"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, b.RemoveGroupContact(sys, "acme", "partners", "supplies@vendor.example"), store.ErrNotFound)
	if list := must(b.ListContacts(f.bob, "acme")); len(list) != 1 {
		t.Fatalf("after delete %+v", list)
	}
	// Deleting a tenant deletes its contacts.
	if err := b.DeleteUser(sys, "eve"); err != nil {
		t.Fatal(err)
	}
	for _, o := range must(b.ListOrphans(sys)) {
		if err := b.RemoveStore(sys, o.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.DeleteTenant(sys, "globex"); err != nil {
		t.Fatal(err)
	}
	if all := must(b.ListContacts(sys, "")); len(all) != 1 || all[0].Tenant != "acme" {
		t.Fatalf("after the tenant's deletion %+v", all)
	}
}
