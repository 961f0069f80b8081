package web_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

type deletedObjects struct {
	Total int `json:"total"`
	Items []struct {
		ID, Kind, Subject, Name, Start, DeletedAt string
	} `json:"items"`
}

// appendDeleted stores content under name in folder f and soft-deletes it.
func appendDeleted(t *testing.T, e *env, f *store.Folder, name, content string) {
	t.Helper()
	ctx := testenv.As(t, e.st, "alice")
	it, err := e.st.AppendItem(ctx, f.ID, store.NewItem{Name: name, Content: strings.NewReader(content)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.DeleteItems(ctx, f.ID, []uint32{it.UID}); err != nil {
		t.Fatal(err)
	}
}

// TestWebRestoreEvent: a deleted event of a calendar is listed by the
// calendar's JMAP id (C…) with its title and start, a broken one with its
// name only; bob gets 404 for alice's calendar and items; restoring makes
// the event live again under its name; restoring one whose name a newer
// live event took is 409.
func TestWebRestoreEvent(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := testenv.As(t, e.st, "alice")
	st, err := e.st.UserStore(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	cal, err := e.st.CreateFolder(ctx, st.ID, 0, "Work", store.FolderCalendar)
	if err != nil {
		t.Fatal(err)
	}
	ev := func(uid, summary string) string {
		return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261210T140000Z\r\nDTEND:20261210T150000Z\r\nSUMMARY:" + summary + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	}
	appendDeleted(t, e, cal, "review.ics", ev("review-1", "Design review"))
	appendDeleted(t, e, cal, "broken.ics", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:never closed\r\n")
	appendDeleted(t, e, cal, "taken.ics", ev("taken-1", "Old"))
	if _, err := e.st.AppendItem(ctx, cal.ID, store.NewItem{Name: "taken.ics", Content: strings.NewReader(ev("taken-2", "New"))}); err != nil {
		t.Fatal(err)
	}
	alice, bob := e.login("alice", "pw-alice"), e.login("bob", "pw-bob")
	cid := jmap.FormatID('C', cal.ID)
	res, body := e.do("GET", "/web/api/deleted?mailbox="+cid, "", cookie(alice))
	if res.StatusCode != 200 {
		t.Fatalf("deleted: %d %s", res.StatusCode, body)
	}
	var p deletedObjects
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	var review, broken, taken struct{ ID, Subject, Start string }
	for _, it := range p.Items {
		if it.Kind != "calendar" || !strings.HasPrefix(it.ID, "I") {
			t.Errorf("item %+v: want kind calendar and an I… id", it)
		}
		x := struct{ ID, Subject, Start string }{it.ID, it.Subject, it.Start}
		switch it.Name {
		case "review.ics":
			review = x
		case "broken.ics":
			broken = x
		case "taken.ics":
			taken = x
		}
	}
	if p.Total != 3 || review.Subject != "Design review" || review.Start != "2026-12-10T14:00:00Z" {
		t.Fatalf("deleted events: %s", body)
	}
	if broken.ID == "" || broken.Subject != "" || broken.Start != "" {
		t.Errorf("broken event: %+v, want its name only", broken)
	}
	// the folder= spelling works too
	if res, body := e.do("GET", "/web/api/deleted?folder="+cid, "", cookie(alice)); res.StatusCode != 200 || !strings.Contains(body, "Design review") {
		t.Errorf("folder=: %d %s", res.StatusCode, body)
	}
	for _, c := range []struct {
		name, method, path, body string
		hdr                      map[string]string
		want                     int
	}{
		{"bob lists alice's calendar", "GET", "/web/api/deleted?mailbox=" + cid, "", cookie(bob), 404},
		{"bob restores alice's event", "POST", "/web/api/restore", `{"items":["` + review.ID + `"]}`, cookie(bob), 404},
		{"no such calendar", "GET", "/web/api/deleted?mailbox=C999999", "", cookie(alice), 404},
		{"bad calendar id", "GET", "/web/api/deleted?mailbox=Cx1", "", cookie(alice), 400},
		{"an object id is not a folder", "GET", "/web/api/deleted?mailbox=V1_eA", "", cookie(alice), 400},
		{"bad item id", "POST", "/web/api/restore", `{"items":["I0"]}`, cookie(alice), 400},
		{"too many items", "POST", "/web/api/restore", `{"items":[` + strings.Repeat(`"I1",`, 100) + `"I1"]}`, cookie(alice), 400},
		{"name taken by a live event", "POST", "/web/api/restore", `{"items":["` + taken.ID + `"]}`, cookie(alice), 409},
	} {
		if res, body := e.do(c.method, c.path, c.body, c.hdr); res.StatusCode != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, res.StatusCode, body, c.want)
		}
	}
	res, body = e.do("POST", "/web/api/restore", `{"items":["`+review.ID+`"]}`, cookie(alice))
	if res.StatusCode != 200 || !strings.Contains(body, `"restored":1`) {
		t.Fatalf("restore: %d %s", res.StatusCode, body)
	}
	live, err := e.st.ListObjects(ctx, cal.ID, store.ObjectQuery{Names: []string{"review.ics"}})
	if err != nil || len(live) != 1 || live[0].Name != "review.ics" || live[0].Deleted {
		t.Fatalf("live review.ics after the restore: %+v %v", live, err)
	}
	if res, body := e.do("GET", "/web/api/deleted?mailbox="+cid, "", cookie(alice)); res.StatusCode != 200 || strings.Contains(body, "Design review") || !strings.Contains(body, `"total":2`) {
		t.Errorf("after the restore: %d %s", res.StatusCode, body)
	}
}

// TestWebRestoreContact: a deleted contact of an address book (B…) is
// listed with its name (FN, else N), restored live; bob gets 404; a
// deleted calendar and address book are listed with their kind and JMAP id.
func TestWebRestoreContact(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := testenv.As(t, e.st, "alice")
	st, err := e.st.UserStore(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	ab, err := e.st.CreateFolder(ctx, st.ID, 0, "Friends", store.FolderContacts)
	if err != nil {
		t.Fatal(err)
	}
	appendDeleted(t, e, ab, "anna.vcf", "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:anna\r\nFN:Anna Ärger\r\nEND:VCARD\r\n")
	appendDeleted(t, e, ab, "bert.vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bert\r\nN:Brecht;Bert;;;\r\nEND:VCARD\r\n")
	alice, bob := e.login("alice", "pw-alice"), e.login("bob", "pw-bob")
	bid := jmap.FormatID('B', ab.ID)
	res, body := e.do("GET", "/web/api/deleted?mailbox="+bid, "", cookie(alice))
	if res.StatusCode != 200 {
		t.Fatalf("deleted: %d %s", res.StatusCode, body)
	}
	var p deletedObjects
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	ids := map[string]string{}
	for _, it := range p.Items {
		if it.Kind != "contacts" {
			t.Errorf("kind %q", it.Kind)
		}
		names[it.Name], ids[it.Name] = it.Subject, it.ID
	}
	if p.Total != 2 || names["anna.vcf"] != "Anna Ärger" || names["bert.vcf"] != "Bert Brecht" {
		t.Fatalf("deleted contacts: %s", body)
	}
	if res, body := e.do("GET", "/web/api/deleted?mailbox="+bid, "", cookie(bob)); res.StatusCode != 404 {
		t.Errorf("bob lists alice's address book: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("POST", "/web/api/restore", `{"items":["`+ids["anna.vcf"]+`"]}`, cookie(bob)); res.StatusCode != 404 {
		t.Errorf("bob restores alice's contact: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("POST", "/web/api/restore", `{"items":["`+ids["anna.vcf"]+`"]}`, cookie(alice)); res.StatusCode != 200 {
		t.Fatalf("restore: %d %s", res.StatusCode, body)
	}
	live, err := e.st.ListObjects(ctx, ab.ID, store.ObjectQuery{Names: []string{"anna.vcf"}})
	if err != nil || len(live) != 1 {
		t.Fatalf("live anna.vcf after the restore: %+v %v", live, err)
	}

	cal, err := e.st.CreateFolder(ctx, st.ID, 0, "Old calendar", store.FolderCalendar)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.DeleteFolder(ctx, cal.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.st.DeleteFolder(ctx, ab.ID); err != nil {
		t.Fatal(err)
	}
	res, body = e.do("GET", "/web/api/deleted-folders", "", cookie(alice))
	if res.StatusCode != 200 || !strings.Contains(body, `"id":"`+jmap.FormatID('C', cal.ID)+`","name":"Old calendar"`) || !strings.Contains(body, `"id":"`+bid+`","name":"Friends"`) || !strings.Contains(body, `"kind":"calendar"`) {
		t.Fatalf("deleted folders: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("POST", "/web/api/restore", `{"folder":"`+bid+`"}`, cookie(alice)); res.StatusCode != 200 {
		t.Fatalf("restore address book: %d %s", res.StatusCode, body)
	}
	if g, err := e.st.GetFolder(ctx, ab.ID); err != nil || g.Deleted {
		t.Fatalf("restored address book: %+v %v", g, err)
	}
}
