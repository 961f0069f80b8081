package jmapserver_test

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
)

// RFC 8620 §6: upload, then download with name and type; limits.
func TestUploadDownload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) { o.MaxSizeUpload = 1000 })
	acct := e.acct("alice")
	r := e.do("alice", "POST", "/jmap/upload/"+acct+"/", strings.NewReader("hello blob"), "Content-Type", "text/plain")
	if r.code != 201 {
		t.Fatalf("upload %d %s", r.code, r.body)
	}
	up := r.json(t)
	if up["accountId"] != acct || up["size"] != 10.0 || up["type"] != "text/plain" {
		t.Fatalf("upload %v", up)
	}
	blobID := up["blobId"].(string)
	r = e.do("alice", "GET", fmt.Sprintf("/jmap/download/%s/%s/note.txt?type=text/plain", acct, blobID), nil)
	if r.code != 200 || string(r.body) != "hello blob" || r.hdr.Get("Content-Type") != "text/plain" ||
		r.hdr.Get("Content-Disposition") != `attachment; filename=note.txt` {
		t.Fatalf("download %d %q %v", r.code, r.body, r.hdr)
	}
	// Another user cannot download alice's upload, even knowing its id.
	if r := e.do("bob", "GET", fmt.Sprintf("/jmap/download/%s/%s/x", e.acct("bob"), blobID), nil); r.code != 404 {
		t.Fatalf("bob downloads alice's upload: %d", r.code)
	}
	for _, p := range []string{"/jmap/download/" + acct + "/G../x", "/jmap/download/" + acct + "/Gzz/x", "/jmap/download/" + acct + "/p1_0/x", "/jmap/download/" + acct, "/jmap/download/" + e.acct("bob") + "/" + blobID + "/x"} {
		if r := e.do("alice", "GET", p, nil); r.code != 404 {
			t.Errorf("%s: %d", p, r.code)
		}
	}
	// Over maxSizeUpload: refused with the limit, also without a length.
	r = e.do("alice", "POST", "/jmap/upload/"+acct+"/", strings.NewReader(strings.Repeat("x", 1001)))
	if r.code != http.StatusRequestEntityTooLarge || r.json(t)["limit"] != "maxSizeUpload" {
		t.Fatalf("oversize %d %s", r.code, r.body)
	}
	r = e.do("alice", "POST", "/jmap/upload/"+acct+"/", bufio.NewReader(strings.NewReader(strings.Repeat("x", 5000))))
	if r.code != http.StatusRequestEntityTooLarge || r.json(t)["limit"] != "maxSizeUpload" {
		t.Fatalf("oversize chunked %d %s", r.code, r.body)
	}
	// The upload index keeps the type for a day: a huge or malformed
	// Content-Type is not kept (nor echoed) as is.
	for _, ct := range []string{"text/plain; x=" + strings.Repeat("y", 8000), "not a type"} {
		r = e.do("alice", "POST", "/jmap/upload/"+acct+"/", strings.NewReader("x"), "Content-Type", ct)
		if r.code != 201 || r.json(t)["type"] != "application/octet-stream" {
			t.Fatalf("upload with Content-Type %.20q: %d %.200s", ct, r.code, r.body)
		}
	}
	if r := e.do("alice", "POST", "/jmap/upload/"+e.acct("bob")+"/", strings.NewReader("x")); r.code != 404 {
		t.Fatalf("upload to another account: %d", r.code)
	}
	if r := e.do("alice", "GET", "/jmap/upload/"+acct+"/", nil); r.code != http.StatusMethodNotAllowed {
		t.Fatalf("GET upload: %d", r.code)
	}
}

// A store failure is a temporary failure, never "not found": serverFail
// for a method, 500 for a request, 503 for a login.
func TestStoreFailure(t *testing.T) {
	t.Parallel()
	var fb *storefault.Backend
	e := newEnv(t, func(o *jmapserver.Options) {
		fb = storefault.New(o.Store)
		o.Store = fb
		o.Authenticate = fb.Authenticate("web")
		o.AuthCacheTTL = -1
	})
	acct := e.acct("alice")
	it := e.deliver("alice", store.SpecialInbox, plainMsg)
	fb.Fail(nil, "GetItem")
	n, a := e.call1("alice", "Email/get", map[string]any{"accountId": acct, "ids": []string{fmt.Sprintf("E%d", it.ID)}})
	if n != "error" || a["type"] != "serverFail" {
		t.Fatalf("Email/get with failing store: %s %v", n, a)
	}
	r := e.do("alice", "GET", fmt.Sprintf("/jmap/download/%s/m%d/x", acct, it.ID), nil)
	if r.code != 500 {
		t.Fatalf("download with failing store: %d", r.code)
	}
	fb.Heal()
	fb.Fail(nil, "ListFolders")
	if n, a := e.call1("alice", "Mailbox/get", map[string]any{"accountId": acct}); n != "error" || a["type"] != "serverFail" {
		t.Fatalf("Mailbox/get: %s %v", n, a)
	}
	if n, a := e.call1("alice", "Email/query", map[string]any{"accountId": acct, "filter": map[string]any{"text": "x"}}); n != "error" || a["type"] != "serverFail" {
		t.Fatalf("Email/query: %s %v", n, a)
	}
	fb.Heal()
	// The paged path (newest first from the database) fails the same way.
	fb.Fail(nil, "QueryItems")
	if n, a := e.call1("alice", "Email/query", map[string]any{"accountId": acct}); n != "error" || a["type"] != "serverFail" {
		t.Fatalf("paged Email/query: %s %v", n, a)
	}
	fb.Heal()
	fb.Fail(nil, "Changes")
	if n, a := e.call1("alice", "Email/changes", map[string]any{"accountId": acct, "sinceState": "0"}); n != "error" || a["type"] != "serverFail" {
		t.Fatalf("Email/changes: %s %v", n, a)
	}
	fb.Heal()
	// A mailbox the store cannot read now is not "no such mailbox".
	inbox := fmt.Sprintf("M%d", e.folder("alice", store.SpecialInbox).ID)
	fb.Fail(nil, "GetFolder")
	n, a = e.call1("alice", "Email/set", map[string]any{"accountId": acct, "create": map[string]any{
		"c": map[string]any{"mailboxIds": map[string]any{inbox: true}, "subject": "x", "textBody": []any{map[string]any{"partId": "1", "type": "text/plain"}},
			"bodyValues": map[string]any{"1": map[string]any{"value": "hi"}}}}})
	if n != "error" || a["type"] != "serverFail" {
		t.Fatalf("Email/set create with failing store: %s %v", n, a)
	}
	fb.Heal()
	fb.Fail(nil, "UserStore")
	if r := e.do("alice", "GET", "/jmap/session", nil); r.code != 500 {
		t.Fatalf("session: %d", r.code)
	}
	fb.Heal()
	fb.Fail(errors.New("directory down"), "GetUser", "Principal")
	if r := e.do("alice", "GET", "/jmap/session", nil); r.code != 503 {
		t.Fatalf("login with failing directory: %d", r.code)
	}
	fb.Heal()
	if r := e.do("alice", "GET", "/jmap/session", nil); r.code != 200 {
		t.Fatalf("after heal: %d", r.code)
	}
}

// JMAP needs the web feature; a user without it gets 403, a wrong
// password 401. A single-part message's body downloads by its part blob.
func TestFeatureGateAndSinglePart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) {
		o.Authenticate = storefault.New(o.Store).Authenticate("web")
		o.AuthCacheTTL = -1
	})
	if _, err := e.db.UpdateUser(sys, "bob", store.UserUpdate{DisableFeat: []string{"web"}}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("bob", "GET", "/jmap/session", nil); r.code != http.StatusForbidden {
		t.Fatalf("bob without web: %d", r.code)
	}
	if r := e.do("alice", "GET", "/jmap/session", nil, "Authorization", "Basic YWxpY2U6bm9wZQ=="); r.code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.code)
	}
	acct := e.acct("alice")
	it := e.deliver("alice", store.SpecialInbox, plainMsg)
	res := e.must("alice", "Email/get", map[string]any{"accountId": acct, "ids": []string{fmt.Sprintf("E%d", it.ID)}, "properties": []string{"textBody"}})
	tb := res["list"].([]any)[0].(map[string]any)["textBody"].([]any)[0].(map[string]any)
	r := e.do("alice", "GET", fmt.Sprintf("/jmap/download/%s/%s/body.txt", acct, tb["blobId"]), nil)
	if r.code != 200 || string(r.body) != "Hello Alice, see you at the café.\r\n" || !strings.HasPrefix(r.hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("single part download %d %q %v", r.code, r.body, r.hdr)
	}
}

// Downloads are sandboxed (DownloadCSP) whatever their type, framed only
// by this origin; ?disposition=inline shows images and PDF inline and
// leaves HTML, SVG and the rest attachments.
func TestDownloadSandboxInline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	r := e.do("alice", "POST", "/jmap/upload/"+acct+"/", strings.NewReader("<script>parent.x=1</script>"), "Content-Type", "text/html")
	if r.code != 201 {
		t.Fatalf("upload %d %s", r.code, r.body)
	}
	blobID := r.json(t)["blobId"].(string)
	for _, c := range []struct{ name, typ, query, disp string }{
		{"a.html", "text/html", "", "attachment; filename=a.html"},
		{"a.html", "text/html", "&disposition=inline", "attachment; filename=a.html"},
		{"a.svg", "image/svg+xml", "&disposition=inline", "attachment; filename=a.svg"},
		{"a.png", "image/png", "&disposition=inline", "inline; filename=a.png"},
		{"a.jpg", "image/jpeg; name=a.jpg", "&disposition=inline", "inline; filename=a.jpg"},
		{"a.pdf", "application/pdf", "&disposition=inline", "inline; filename=a.pdf"},
		{"a.pdf", "application/pdf", "", "attachment; filename=a.pdf"},
		{"", "text/html", "", ""},
	} {
		u := fmt.Sprintf("/jmap/download/%s/%s/%s?type=%s%s", acct, blobID, c.name, url.QueryEscape(c.typ), c.query)
		r := e.do("alice", "GET", u, nil)
		if r.code != 200 || r.hdr.Get("Content-Disposition") != c.disp {
			t.Errorf("%s: %d, Content-Disposition %q, want %q", u, r.code, r.hdr.Get("Content-Disposition"), c.disp)
		}
		if csp := r.hdr.Get("Content-Security-Policy"); csp != jmapserver.DownloadCSP || !strings.HasPrefix(csp, "sandbox;") || !strings.Contains(csp, "frame-ancestors 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", u, csp)
		}
		if r.hdr.Get("X-Content-Type-Options") != "nosniff" || r.hdr.Get("Cross-Origin-Resource-Policy") != "same-origin" {
			t.Errorf("%s: headers %v", u, r.hdr)
		}
	}
}
