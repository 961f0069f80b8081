package jmapserver_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/proto/vcard"
	"github.com/roost-mail/roost/internal/store"
)

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatalf("%s not installed (ROOST_REQUIRE_CLIENTS is set)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// TestContactToVdirsyncer: a card created over JMAP syncs to vdirsyncer
// unchanged (the file it writes is the stored vCard, byte for byte, with
// what the Card said); a card vdirsyncer uploads is a ContactCard, and
// ContactCard/changes reports it.
func TestContactToVdirsyncer(t *testing.T) {
	vds := needTool(t, "vdirsyncer")
	eachBackend(t, func(t *testing.T, e *gwEnv) { testContactToVdirsyncer(t, e, vds) })
}

func testContactToVdirsyncer(t *testing.T, e *gwEnv, vds string) {
	acct := e.acct("alice")
	ab := e.folder("alice", store.SpecialContacts)
	abID := fmt.Sprintf("B%d", ab.ID)
	s := e.gwMust("alice", "ContactCard/set", map[string]any{"accountId": acct, "create": map[string]any{"c": map[string]any{
		"addressBookIds": map[string]any{abID: true}, "@type": "Card", "uid": "urn:uuid:ada-1", "kind": "individual",
		"name": map[string]any{"full": "Ada Lovelace", "components": []any{
			map[string]any{"kind": "given", "value": "Ada"}, map[string]any{"kind": "surname", "value": "Lovelace"}}},
		"emails":        map[string]any{"e1": map[string]any{"address": "ada@example.test", "contexts": map[string]any{"private": true}, "pref": 1}},
		"phones":        map[string]any{"p1": map[string]any{"number": "+44 20 7946 0000", "features": map[string]any{"mobile": true}}},
		"organizations": map[string]any{"o1": map[string]any{"name": "Analytical Engines Ltd"}},
		"notes":         map[string]any{"n1": map[string]any{"note": "First programmer; notes, too"}},
	}}})
	id, _ := s["created"].(map[string]any)["c"].(map[string]any)["id"].(string)
	if id == "" {
		t.Fatalf("create: %v", s)
	}
	state := s["newState"].(string)

	dir := t.TempDir()
	local := filepath.Join(dir, "ab")
	for _, d := range []string{filepath.Join(local, ab.Name), filepath.Join(dir, "status")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`[general]
status_path = "%s/status/"

[pair ab]
a = "ab_local"
b = "ab_remote"
collections = ["%s"]

[storage ab_local]
type = "filesystem"
path = "%s/"
fileext = ".vcf"

[storage ab_remote]
type = "carddav"
url = "%s/dav/"
username = "alice"
password = "%s"
`, dir, ab.Name, local, e.dav, password("alice"))), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, vds, append([]string{"-c", cfg}, args...)...)
		cmd.Stdin = strings.NewReader("y\ny\ny\n")
		cmd.Env = append(cmd.Environ(), "HOME="+dir, "LANG=C.UTF-8", "LC_ALL=C.UTF-8")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("vdirsyncer %v: %v\n%s", args, err, out)
		}
	}
	run("discover")
	run("sync")
	files, _ := filepath.Glob(filepath.Join(local, ab.Name, "*.vcf"))
	if len(files) != 1 {
		t.Fatalf("synced files %v", files)
	}
	synced, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	// The id holds the resource name (K<folder>_<base64url(name)>).
	_, b64, _ := strings.Cut(id, "_")
	name, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	code, stored := e.davDo("alice", "GET", e.cardPath("alice")+string(name), "")
	if code != 200 {
		t.Fatalf("CardDAV GET %s: %d", name, code)
	}
	if string(synced) != stored {
		t.Errorf("vdirsyncer's copy differs from the stored card:\n%s\n---\n%s", synced, stored)
	}
	cs, err := vcard.Decode(synced, vcard.Limits{})
	if err != nil || len(cs) != 1 {
		t.Fatalf("synced card: %v", err)
	}
	c := cs[0]
	if c.UID() != "urn:uuid:ada-1" || c.FN() != "Ada Lovelace" || c.Text("NOTE") != "First programmer; notes, too" ||
		c.Text("ORG") != "Analytical Engines Ltd" || len(c.Emails()) != 1 || c.Emails()[0].Address != "ada@example.test" ||
		c.Emails()[0].Pref != 1 || !strings.Contains(strings.ToLower(string(synced)), "type=cell") {
		t.Errorf("synced card lost something:\n%s", synced)
	}

	// vdirsyncer uploads a card written locally (with an Apple label
	// JSContact does not map): a ContactCard, reported by /changes.
	if err := os.WriteFile(filepath.Join(local, ab.Name, "grace.vcf"), []byte(crlfs(`
BEGIN:VCARD
VERSION:3.0
UID:grace-1
FN:Grace Hopper
N:Hopper;Grace;;;
item1.EMAIL;TYPE=INTERNET:grace@navy.test
item1.X-ABLabel:Navy
END:VCARD
`)), 0o600); err != nil {
		t.Fatal(err)
	}
	run("sync")
	ch := e.gwMust("alice", "ContactCard/changes", map[string]any{"accountId": acct, "sinceState": state})
	created := ch["created"].([]any)
	if len(created) != 1 || len(ch["updated"].([]any)) != 0 {
		t.Fatalf("changes after the upload: %v", ch)
	}
	g := firstOf(t, e.gwMust("alice", "ContactCard/get", map[string]any{"accountId": acct, "ids": created}))
	if g["uid"] != "grace-1" || g["name"].(map[string]any)["full"] != "Grace Hopper" {
		t.Errorf("uploaded card %v", g)
	}
	// Edited over JMAP, the label survives and vdirsyncer pulls the edit.
	e.gwMust("alice", "ContactCard/set", map[string]any{"accountId": acct, "update": map[string]any{
		created[0].(string): map[string]any{"name/full": "Rear Admiral Grace Hopper"}}})
	run("sync")
	b, err := os.ReadFile(filepath.Join(local, ab.Name, "grace.vcf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "FN:Rear Admiral Grace Hopper") || !strings.Contains(strings.ToUpper(string(b)), "ITEM1.X-ABLABEL:NAVY") ||
		!strings.Contains(string(b), "item1.EMAIL") {
		t.Errorf("vdirsyncer's copy after the JMAP edit:\n%s", b)
	}
	// The JMAP card is what was created.
	ada := firstOf(t, e.gwMust("alice", "ContactCard/get", map[string]any{"accountId": acct, "ids": []string{id}}))
	if ada["name"].(map[string]any)["full"] != "Ada Lovelace" || ada["phones"].(map[string]any)["p1"].(map[string]any)["features"].(map[string]any)["mobile"] != true {
		t.Errorf("card after the sync %v", ada)
	}
	q := e.gwMust("alice", "ContactCard/query", map[string]any{"accountId": acct, "filter": map[string]any{"email": "navy.test"}})
	if fmt.Sprint(q["ids"]) != fmt.Sprint(created) {
		t.Errorf("query by email: %v", q)
	}
}

// TestContactLongNameAndDestroy: a card whose CardDAV resource name is
// too long to fit in an id gets a hashed id that still finds it; an
// update keeps the id; destroy removes the CardDAV resource; an address
// book with cards is destroyed only with onDestroyRemoveContents.
func TestContactLongNameAndDestroy(t *testing.T) { eachBackend(t, testContactLongNameAndDestroy) }

func testContactLongNameAndDestroy(t *testing.T, e *gwEnv) {
	acct := e.acct("alice")
	name := strings.Repeat("n", 200) + ".vcf"
	vc := crlfs("BEGIN:VCARD\nVERSION:4.0\nUID:long-1\nFN:Long Name\nEMAIL:l@x.test\nX-FOO;X-BAR=baz:keep me\nEND:VCARD\n")
	if code, body := e.davDo("alice", "PUT", e.cardPath("alice")+name, vc); code != 201 {
		t.Fatalf("PUT %d %s", code, body)
	}
	q := e.gwMust("alice", "ContactCard/query", map[string]any{"accountId": acct, "filter": map[string]any{"uid": "long-1"}})
	ids := q["ids"].([]any)
	if len(ids) != 1 || len(ids[0].(string)) > 255 {
		t.Fatalf("ids %v", ids)
	}
	id := ids[0].(string)
	s := e.gwMust("alice", "ContactCard/set", map[string]any{"accountId": acct, "update": map[string]any{
		id: map[string]any{"name/full": "Longer Name", "addressBookIds": map[string]any{fmt.Sprintf("B%d", e.folder("alice", store.SpecialContacts).ID): true}}}})
	if _, ok := s["updated"].(map[string]any)[id]; !ok {
		t.Fatalf("update %v", s)
	}
	code, body := e.davDo("alice", "GET", e.cardPath("alice")+name, "")
	if code != 200 || !strings.Contains(body, "FN:Longer Name") || !strings.Contains(body, "X-FOO;X-BAR=baz:keep me") {
		t.Errorf("CardDAV GET after the edit (%d):\n%s", code, body)
	}
	g := firstOf(t, e.gwMust("alice", "ContactCard/get", map[string]any{"accountId": acct, "ids": []string{id}}))
	if g["name"].(map[string]any)["full"] != "Longer Name" {
		t.Errorf("card %v", g)
	}
	// Moving to another address book is refused.
	ab := e.gwMust("alice", "AddressBook/set", map[string]any{"accountId": acct, "create": map[string]any{"x": map[string]any{"name": "Other"}}})
	other := ab["created"].(map[string]any)["x"].(map[string]any)["id"].(string)
	s = e.gwMust("alice", "ContactCard/set", map[string]any{"accountId": acct, "update": map[string]any{
		id: map[string]any{"addressBookIds": map[string]any{other: true}}}})
	if se := s["notUpdated"].(map[string]any)[id].(map[string]any); se["type"] != "invalidProperties" {
		t.Errorf("move: %v", s)
	}
	// A card in the other book: destroying the book needs onDestroyRemoveContents.
	c := e.gwMust("alice", "ContactCard/set", map[string]any{"accountId": acct, "create": map[string]any{"k": map[string]any{
		"addressBookIds": map[string]any{other: true}, "name": map[string]any{"full": "In Other"}}}})
	kid := c["created"].(map[string]any)["k"].(map[string]any)["id"].(string)
	st := c["newState"].(string)
	d := e.gwMust("alice", "AddressBook/set", map[string]any{"accountId": acct, "destroy": []string{other}})
	if d["notDestroyed"].(map[string]any)[other].(map[string]any)["type"] != "addressBookHasContents" {
		t.Errorf("destroy with contents: %v", d)
	}
	e.gwMust("alice", "AddressBook/set", map[string]any{"accountId": acct, "destroy": []string{other}, "onDestroyRemoveContents": true})
	ch := e.gwMust("alice", "ContactCard/changes", map[string]any{"accountId": acct, "sinceState": st})
	if fmt.Sprint(ch["destroyed"]) != fmt.Sprint([]any{kid}) {
		t.Errorf("changes after the book's destroy: %v", ch)
	}
	// Destroy the long-named card: gone from CardDAV.
	d = e.gwMust("alice", "ContactCard/set", map[string]any{"accountId": acct, "destroy": []string{id}})
	if fmt.Sprint(d["destroyed"]) != fmt.Sprint([]any{id}) {
		t.Fatalf("destroy %v", d)
	}
	if code, _ := e.davDo("alice", "GET", e.cardPath("alice")+name, ""); code != 404 {
		t.Errorf("CardDAV GET after destroy: %d", code)
	}
}

// applyQueryChanges is the client side of RFC 8620 §5.6: drop removed,
// then insert added at their indexes, in index order.
func applyQueryChanges(old []any, qc map[string]any) []any {
	removed := map[any]bool{}
	for _, id := range qc["removed"].([]any) {
		removed[id] = true
	}
	var out []any
	for _, id := range old {
		if !removed[id] {
			out = append(out, id)
		}
	}
	for _, a := range qc["added"].([]any) {
		m := a.(map[string]any)
		i := int(m["index"].(float64))
		out = append(out[:i], append([]any{m["id"]}, out[i:]...)...)
	}
	return out
}

// TestQueryChanges: ContactCard/queryChanges and CalendarEvent/queryChanges
// after JMAP and CardDAV/CalDAV changes turn the old results into the
// new ones.
func TestQueryChanges(t *testing.T) { eachBackend(t, testQueryChanges) }

func testQueryChanges(t *testing.T, e *gwEnv) {
	acct := e.acct("alice")
	put := func(name, given string) {
		vc := crlfs(fmt.Sprintf("BEGIN:VCARD\nVERSION:3.0\nUID:%s\nFN:%s Doe\nN:Doe;%s;;;\nEMAIL:%s@x.test\nEND:VCARD\n", name, given, given, name))
		if code, body := e.davDo("alice", "PUT", e.cardPath("alice")+name+".vcf", vc); code != 201 && code != 204 {
			t.Fatalf("PUT %d %s", code, body)
		}
	}
	for _, n := range [][2]string{{"a", "Anna"}, {"b", "Bert"}, {"c", "Cleo"}, {"d", "Dora"}} {
		put(n[0], n[1])
	}
	args := map[string]any{"accountId": acct, "sort": []any{map[string]any{"property": "name/given"}}, "filter": map[string]any{"email": "x.test"}}
	q0 := e.gwMust("alice", "ContactCard/query", args)
	if q0["canCalculateChanges"] != true {
		t.Fatalf("query %v", q0)
	}
	// Bert becomes Zeno (moves to the end), Cleo is deleted, Ben is new.
	put("b", "Zeno")
	if code, _ := e.davDo("alice", "DELETE", e.cardPath("alice")+"c.vcf", ""); code != 204 {
		t.Fatal("DELETE")
	}
	e.gwMust("alice", "ContactCard/set", map[string]any{"accountId": acct, "create": map[string]any{"n": map[string]any{
		"addressBookIds": map[string]any{fmt.Sprintf("B%d", e.folder("alice", store.SpecialContacts).ID): true},
		"name":           map[string]any{"components": []any{map[string]any{"kind": "given", "value": "Ben"}}},
		"emails":         map[string]any{"e": map[string]any{"address": "ben@x.test"}}}}})
	q1 := e.gwMust("alice", "ContactCard/query", args)
	qcArgs := map[string]any{"accountId": acct, "sort": args["sort"], "filter": args["filter"], "sinceQueryState": q0["queryState"], "calculateTotal": true}
	qc := e.gwMust("alice", "ContactCard/queryChanges", qcArgs)
	if got := applyQueryChanges(q0["ids"].([]any), qc); fmt.Sprint(got) != fmt.Sprint(q1["ids"]) || qc["newQueryState"] != q1["queryState"] ||
		qc["total"] != float64(4) {
		t.Errorf("queryChanges %v\napplied %v\nwant %v", qc, got, q1["ids"])
	}
	qcArgs["maxChanges"] = 1
	if n, a := e.gw("alice", "ContactCard/queryChanges", qcArgs); n != "error" || a["type"] != "tooManyChanges" {
		t.Errorf("maxChanges 1: %s %v", n, a)
	}
	delete(qcArgs, "maxChanges")
	qcArgs["sinceQueryState"] = "junk"
	if n, a := e.gw("alice", "ContactCard/queryChanges", qcArgs); n != "error" || a["type"] != "cannotCalculateChanges" {
		t.Errorf("bad state: %s %v", n, a)
	}

	// Events: one moved out of the window over CalDAV, one added.
	cal := e.calPath("alice")
	ev := func(uid, start string) string {
		return crlfs(fmt.Sprintf("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:%s\nDTSTAMP:20260101T000000Z\nDTSTART:%s\nDURATION:PT1H\nSUMMARY:%s\nEND:VEVENT\nEND:VCALENDAR\n", uid, start, uid))
	}
	for _, x := range [][2]string{{"e1", "20260301T100000Z"}, {"e2", "20260302T100000Z"}, {"e3", "20260303T100000Z"}} {
		if code, _ := e.davDo("alice", "PUT", cal+x[0]+".ics", ev(x[0], x[1])); code != 201 {
			t.Fatal("PUT")
		}
	}
	eargs := map[string]any{"accountId": acct, "filter": map[string]any{"after": "2026-03-01T00:00:00Z", "before": "2026-04-01T00:00:00Z"}}
	e0 := e.gwMust("alice", "CalendarEvent/query", eargs)
	e.davDo("alice", "PUT", cal+"e1.ics", ev("e1", "20260501T100000Z"))
	e.davDo("alice", "PUT", cal+"e4.ics", ev("e4", "20260302T120000Z"))
	e1 := e.gwMust("alice", "CalendarEvent/query", eargs)
	ec := e.gwMust("alice", "CalendarEvent/queryChanges", map[string]any{"accountId": acct, "filter": eargs["filter"], "sinceQueryState": e0["queryState"]})
	if got := applyQueryChanges(e0["ids"].([]any), ec); fmt.Sprint(got) != fmt.Sprint(e1["ids"]) || len(e1["ids"].([]any)) != 3 {
		t.Errorf("event queryChanges %v\napplied %v\nwant %v", ec, got, e1["ids"])
	}
	x := e.gwMust("alice", "CalendarEvent/query", map[string]any{"accountId": acct, "expandRecurrences": true, "filter": eargs["filter"]})
	if x["canCalculateChanges"] != false {
		t.Errorf("expanded query says it can calculate changes")
	}
}
