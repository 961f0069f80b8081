package web_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
	"github.com/roost-mail/roost/internal/testenv"
)

type deletedPage struct {
	Total    int `json:"total"`
	Position int `json:"position"`
	Items    []struct {
		ID, Subject, From, Date, DeletedAt string
		Size                               int64
	} `json:"items"`
}

// TestWebRestoreItems: alice deletes (expunges) three messages; the
// deleted list pages them with subject, sender, date and deletion time;
// restoring two brings them back live (new UIDs) in their folder, and
// they leave the list. bob can neither list nor restore alice's items
// (404), a cross-site POST is refused (403), and the bounds hold.
func TestWebRestoreItems(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := testenv.As(t, e.st, "alice")
	inbox := testenv.Folder(t, ctx, e.st, "alice", store.SpecialInbox)
	var uids []uint32
	for i := range 3 {
		msg := fmt.Sprintf("From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe_%d?=\r\nDate: Tue, 1 Dec 2026 10:0%d:00 +0100\r\n\r\nbody %d\r\n", i, i, i)
		it, err := e.st.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader(msg)})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, it.UID)
	}
	if _, err := e.st.DeleteItems(ctx, inbox.ID, uids); err != nil {
		t.Fatal(err)
	}
	alice, bob := e.login("alice", "pw-alice"), e.login("bob", "pw-bob")
	mbox := jmap.FormatID('M', inbox.ID)

	list := func(q string) deletedPage {
		t.Helper()
		res, body := e.do("GET", "/web/api/deleted?mailbox="+mbox+q, "", cookie(alice))
		if res.StatusCode != 200 {
			t.Fatalf("deleted%s: %d %s", q, res.StatusCode, body)
		}
		var p deletedPage
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := list("&limit=2")
	if p.Total != 3 || len(p.Items) != 2 {
		t.Fatalf("first page: %+v", p)
	}
	it := p.Items[0]
	if !strings.HasPrefix(it.Subject, "Grüße ") || it.From != "Jürgen <j@example.org>" || !strings.HasPrefix(it.Date, "2026-12-01T09:0") || it.DeletedAt == "" {
		t.Errorf("summary: %+v", it)
	}
	if p2 := list("&limit=2&position=2"); p2.Total != 3 || len(p2.Items) != 1 || p2.Items[0].ID == p.Items[0].ID || p2.Items[0].ID == p.Items[1].ID {
		t.Errorf("second page: %+v", p2)
	}
	if p := list("&since=2999-01-01"); p.Total != 0 || len(p.Items) != 0 {
		t.Errorf("since the future: %+v", p)
	}
	if p := list("&since=2000-01-01"); p.Total != 3 {
		t.Errorf("since 2000: %+v", p)
	}

	restoreBody := fmt.Sprintf(`{"items":[%q,%q]}`, p.Items[0].ID, p.Items[1].ID)
	for _, c := range []struct {
		name, method, path, body string
		hdr                      map[string]string
		want                     int
	}{
		{"another user's folder", "GET", "/web/api/deleted?mailbox=" + mbox, "", cookie(bob), 404},
		{"another user's items", "POST", "/web/api/restore", restoreBody, cookie(bob), 404},
		{"another user's items, cross-site", "POST", "/web/api/restore", restoreBody, with(cookie(alice), "Sec-Fetch-Site", "cross-site"), 403},
		{"cross-site with an Origin", "POST", "/web/api/restore", restoreBody, map[string]string{"Cookie": cookie(alice)["Cookie"], "Origin": "https://evil.example"}, 403},
		{"cross-site read", "GET", "/web/api/deleted?mailbox=" + mbox, "", with(cookie(alice), "Sec-Fetch-Site", "cross-site"), 403},
		{"not signed in", "GET", "/web/api/deleted?mailbox=" + mbox, "", sameOrigin, 401},
		{"no mailbox", "GET", "/web/api/deleted", "", cookie(alice), 400},
		{"bad mailbox", "GET", "/web/api/deleted?mailbox=E1", "", cookie(alice), 400},
		{"no such mailbox", "GET", "/web/api/deleted?mailbox=M999999", "", cookie(alice), 404},
		{"limit too big", "GET", "/web/api/deleted?mailbox=" + mbox + "&limit=201", "", cookie(alice), 400},
		{"limit zero", "GET", "/web/api/deleted?mailbox=" + mbox + "&limit=0", "", cookie(alice), 400},
		{"negative position", "GET", "/web/api/deleted?mailbox=" + mbox + "&position=-1", "", cookie(alice), 400},
		{"bad since", "GET", "/web/api/deleted?mailbox=" + mbox + "&since=yesterday", "", cookie(alice), 400},
		{"too many items", "POST", "/web/api/restore", `{"items":[` + strings.Repeat(`"E1",`, 100) + `"E1"]}`, cookie(alice), 400},
		{"body too big", "POST", "/web/api/restore", `{"items":["` + strings.Repeat("x", 20<<10) + `"]}`, cookie(alice), 400},
		{"bad item id", "POST", "/web/api/restore", `{"items":["M1"]}`, cookie(alice), 400},
		{"nothing", "POST", "/web/api/restore", `{}`, cookie(alice), 400},
		{"both", "POST", "/web/api/restore", `{"items":["E1"],"folder":"M1"}`, cookie(alice), 400},
		{"unknown field", "POST", "/web/api/restore", `{"item":["E1"]}`, cookie(alice), 400},
		{"GET restore", "GET", "/web/api/restore", "", cookie(alice), 405},
	} {
		if res, body := e.do(c.method, c.path, c.body, c.hdr); res.StatusCode != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, res.StatusCode, body, c.want)
		}
	}
	if list("").Total != 3 {
		t.Fatal("a refused request restored something")
	}

	res, body := e.do("POST", "/web/api/restore", restoreBody, cookie(alice))
	if res.StatusCode != 200 || !strings.Contains(body, `"restored":2`) {
		t.Fatalf("restore: %d %s", res.StatusCode, body)
	}
	if p := list(""); p.Total != 1 {
		t.Errorf("after the restore: %+v", p)
	}
	live, err := e.st.ListItems(ctx, inbox.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 2 || live[0].UID <= uids[2] {
		t.Errorf("live after the restore: %+v (restored items get new UIDs above %d)", live, uids[2])
	}
	if res, body := e.do("POST", "/web/api/restore", restoreBody, cookie(alice)); res.StatusCode != 400 {
		t.Errorf("restoring live items again: %d %s, want 400", res.StatusCode, body)
	}
}

// TestWebRestoreFolder: a deleted folder is listed and restored by its
// owner with its messages; bob cannot restore it, nor see it in his list.
func TestWebRestoreFolder(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := testenv.As(t, e.st, "alice")
	st, err := e.st.UserStore(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	f, err := e.st.CreateFolder(ctx, st.ID, 0, "Projects", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AppendItem(ctx, f.ID, store.NewItem{Content: strings.NewReader("Subject: plan\r\n\r\nx\r\n")}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.DeleteFolder(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	alice, bob := e.login("alice", "pw-alice"), e.login("bob", "pw-bob")
	id := jmap.FormatID('M', f.ID)
	res, body := e.do("GET", "/web/api/deleted-folders", "", cookie(alice))
	if res.StatusCode != 200 || !strings.Contains(body, `"id":"`+id+`","name":"Projects"`) || !strings.Contains(body, `"keepDays":0`) {
		t.Fatalf("deleted folders: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("GET", "/web/api/deleted-folders", "", cookie(bob)); res.StatusCode != 200 || strings.Contains(body, id) {
		t.Errorf("bob's deleted folders: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("POST", "/web/api/restore", `{"folder":"`+id+`"}`, cookie(bob)); res.StatusCode != 404 && res.StatusCode != 403 {
		t.Errorf("bob restoring alice's folder: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("POST", "/web/api/restore", `{"folder":"`+id+`"}`, with(cookie(alice), "Sec-Fetch-Site", "same-site")); res.StatusCode != 403 {
		t.Errorf("same-site (not same-origin) POST: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("POST", "/web/api/restore", `{"folder":"`+id+`"}`, cookie(alice)); res.StatusCode != 200 {
		t.Fatalf("restore folder: %d %s", res.StatusCode, body)
	}
	g, err := e.st.GetFolder(ctx, f.ID)
	if err != nil || g.Deleted || g.Messages != 1 {
		t.Fatalf("restored folder: %+v %v", g, err)
	}
	if res, body := e.do("GET", "/web/api/deleted-folders", "", cookie(alice)); res.StatusCode != 200 || strings.Contains(body, id) {
		t.Errorf("deleted folders after the restore: %d %s", res.StatusCode, body)
	}
}

// TestWebRestoreStoreFails: a failing store is a temporary failure (503),
// not "not found".
func TestWebRestoreStoreFails(t *testing.T) {
	var fb *storefault.Backend
	e := newEnv(t, func(b store.Backend) store.Backend { fb = storefault.New(b); return fb }, nil)
	ctx := testenv.As(t, e.st, "alice")
	inbox := testenv.Folder(t, ctx, e.st, "alice", store.SpecialInbox)
	alice := e.login("alice", "pw-alice")
	fb.Fail(nil, "ListDeletedItems", "RestoreItems", "ListDeletedFolders", "RestoreFolder")
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/web/api/deleted?mailbox=" + jmap.FormatID('M', inbox.ID), ""},
		{"GET", "/web/api/deleted-folders", ""},
		{"POST", "/web/api/restore", `{"items":["E1"]}`},
		{"POST", "/web/api/restore", `{"folder":"M1"}`},
	} {
		if res, body := e.do(c.method, c.path, c.body, cookie(alice)); res.StatusCode != 503 {
			t.Errorf("%s %s with the store failing: %d %s, want 503", c.method, c.path, res.StatusCode, body)
		}
	}
}
