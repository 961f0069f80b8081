package adminapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/adminapi"
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// raw sends body with a content type and returns the reply, whatever its
// type (exports are not JSON).
func (e *env) raw(method, path, ctype, body string) (int, http.Header, string) {
	e.t.Helper()
	r, err := http.NewRequest(method, "http://roost"+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	resp, err := e.client.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

const apiICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//T//T//EN\r\n" +
	"BEGIN:VEVENT\r\nUID:a@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260110T100000Z\r\nDTEND:20260110T110000Z\r\nSUMMARY:A\r\nEND:VEVENT\r\n" +
	"BEGIN:VTODO\r\nUID:b@test\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:B\r\nEND:VTODO\r\n" +
	"END:VCALENDAR\r\n"

func TestDKIMNeverReturnsPrivateKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fixture()
	var d adminapi.DKIM
	r := e.call("POST", "/v1/domains/acme.test/dkim", adminapi.DKIMRequest{}, 201, &d)
	if strings.Contains(string(r.body), "PRIVATE") || d.Selector == "" || d.Name != d.Selector+"._domainkey.acme.test" || !strings.HasPrefix(d.TXT, "v=DKIM1; k=rsa; p=") {
		t.Fatalf("POST dkim: %s", r.body)
	}
	props, err := e.db.DomainProps(sys, "acme.test")
	if err != nil || !strings.Contains(props[queue.PropDKIMPrivateKey], "PRIVATE KEY") {
		t.Fatalf("stored key: %v %v", props, err)
	}
	var shown adminapi.DKIM
	r = e.call("GET", "/v1/domains/acme.test/dkim", nil, 200, &shown)
	if shown != d || strings.Contains(string(r.body), "PRIVATE") {
		t.Fatalf("GET dkim %+v, POST gave %+v", shown, d)
	}
	e.wantErr("", "GET", "/v1/domains/globex.test/dkim", nil, 404, "no DKIM key")
	e.wantErr("alice", "GET", "/v1/domains/acme.test/dkim", nil, 404, "acme.test") // not an admin
	e.wantErr("", "POST", "/v1/domains/acme.test/dkim", map[string]string{"selector": "a b"}, 400, "selector")
	e.wantErr("", "POST", "/v1/domains/acme.test/dkim", map[string]string{"key": "x"}, 400, "unknown field")
}

func TestDisclaimerAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fixture()
	var d adminapi.Disclaimer
	e.call("PATCH", "/v1/tenants/acme/disclaimer", map[string]string{"text": "T", "html": "<b>H</b>"}, 200, &d)
	if d.Text != "T" || d.HTML != "<b>H</b>" {
		t.Fatalf("PATCH: %+v", d)
	}
	e.call("PATCH", "/v1/tenants/acme/disclaimer", map[string]string{"html": ""}, 200, &d)
	if d.Text != "T" || d.HTML != "" {
		t.Fatalf("PATCH html off: %+v", d)
	}
	e.wantErr("", "PATCH", "/v1/tenants/acme/disclaimer", map[string]string{"text": strings.Repeat("x", adminapi.MaxDisclaimerBytes+1)}, 413, "larger than")
	e.wantErr("alice", "GET", "/v1/tenants/acme/disclaimer", nil, 403, "acme")
	e.wantErr("", "GET", "/v1/tenants/nosuch/disclaimer", nil, 404, "nosuch")
	e.call("GET", "/v1/tenants/acme/disclaimer", nil, 200, &d)
	if d.Text != "T" {
		t.Fatalf("GET: %+v", d)
	}
}

func TestCalendarImportAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *adminapi.Options, _ *env) { o.MaxMessageBytes = func() int64 { return 4 << 10 } })
	e.fixture()
	status, _, body := e.raw("POST", "/v1/users/alice/calendars/Work/import", "text/calendar", apiICS)
	if status != 200 || !strings.Contains(body, `"events": 1`) || !strings.Contains(body, `"tasks": 1`) || !strings.Contains(body, `"created": true`) {
		t.Fatalf("import: %d %s", status, body)
	}
	status, h, body := e.raw("GET", "/v1/users/alice/calendars/Work/export", "", "")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/calendar") || h.Get(adminapi.HeaderEvents) != "1" ||
		h.Get(adminapi.HeaderTasks) != "1" || !strings.Contains(body, "UID:a@test") || !strings.Contains(body, "UID:b@test") {
		t.Fatalf("export: %d %v %s", status, h, body)
	}
	// The body limit is the maximum message size.
	big := strings.Replace(apiICS, "SUMMARY:A", "SUMMARY:"+strings.Repeat("A", 5<<10), 1)
	if status, _, body := e.raw("POST", "/v1/users/alice/calendars/Work/import", "text/calendar", big); status != 413 {
		t.Fatalf("oversized import: %d %s", status, body)
	}
	// Folders of other users' tenants are out of reach of tenant admins;
	// contacts endpoints want address books.
	e.wantErr("", "POST", "/v1/users/alice/contacts/Work/import", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n", 400, "not an address book")
	e.wantErr("", "POST", "/v1/users/alice/calendars/Inbox/import", apiICS, 400, "not a calendar")
	e.wantErr("", "GET", "/v1/users/alice/calendars/Nope/export", nil, 404, "Nope")
	e.wantErr("", "GET", "/v1/users/alice/calendars/Work%2FSub/export", nil, 404, "Work/Sub")
	e.wantErr("", "GET", "/v1/users/alice/calendars/Work/import", nil, 405, "not allowed")
}

// FuzzCalendarImport feeds arbitrary files to the import endpoint of one
// server: every reply is a success or a client error, never a 500, and
// the server keeps serving.
func FuzzCalendarImport(f *testing.F) {
	f.Add(apiICS)
	f.Add(strings.Replace(apiICS, "UID:a@test\r\n", "", 1))
	f.Add("BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n")
	f.Add("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:r\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Nowhere:20260101T100000\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	f.Add("")
	dir := f.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		f.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: blobs, BlobGrace: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	api := adminapi.New(db, adminapi.Options{MaxMessageBytes: func() int64 { return 64 << 10 }})
	do := func(method, path, body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		api.ServeHTTP(w, httptest.NewRequestWithContext(sys, method, path, strings.NewReader(body)))
		return w
	}
	if w := do("POST", "/v1/tenants", `{"name":"acme"}`); w.Code != 201 {
		f.Fatal(w.Body.String())
	}
	if w := do("POST", "/v1/users", `{"login":"alice","tenant":"acme","email":"alice@acme.test","name":"A"}`); w.Code != 201 {
		f.Fatal(w.Body.String())
	}
	f.Fuzz(func(t *testing.T, body string) {
		if w := do("POST", "/v1/users/alice/calendars/Fuzz/import", body); w.Code != 200 && w.Code != 400 && w.Code != 413 {
			t.Fatalf("import of %q: %d %s", body, w.Code, w.Body)
		}
		if w := do("GET", "/v1/users/alice/calendars/calendar/export", ""); w.Code != 200 {
			t.Fatalf("export after import of %q: %d %s", body, w.Code, w.Body)
		}
	})
}
