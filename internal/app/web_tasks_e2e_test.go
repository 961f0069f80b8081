package app

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWebClientTasks drives the tasks view of the web client in
// Chromium (web/e2e/tasks.mjs): a user creates a task with a due date,
// priority and notes and one without, edits the second's due date (the
// list stays sorted by due date), marks the first done (it moves from
// the open to the done view), sees a task created elsewhere pushed in,
// deletes one and creates a second task list; axe-core scans the view
// and the editor. Then CalDAV, not the web client, shows the done task
// as a VTODO with STATUS:COMPLETED and its due date, and the deleted one
// gone.
func TestWebClientTasks(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	httpsAddr := freePort(t)
	c := startServer(t, dir, fmt.Sprintf("https_listen = %q\n", httpsAddr))
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"tess","email":"tess@example.org","name":"Tess Tasks","password":"pw-tess-task-1"}`, 201)
	base := "https://" + httpsAddr
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(berlin)
	due, soon := now.AddDate(0, 0, 5).Format("2006-01-02"), now.AddDate(0, 0, 1).Format("2006-01-02")

	runWebE2E(t, node, chromium, webDir, "tasks.mjs", "web-tasks",
		"BASE="+base, "USER=tess", "PASS=pw-tess-task-1", "DUE="+due, "DUE_SOON="+soon)

	// Over CalDAV, as a CalDAV client would see it: every VTODO of the
	// user's calendar collections.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	dav := func(method, path, body string, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.SetBasicAuth("tess", "pw-tess-task-1")
		req.Header.Set("Content-Type", "application/xml")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := dav("PROPFIND", "/dav/calendars/tess/", `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>`, "Depth", "1")
	if code != 207 {
		t.Fatalf("PROPFIND %d: %s", code, body)
	}
	var todos []string
	for _, m := range regexp.MustCompile(`<(?:D:)?href>(/dav/calendars/tess/[^<]+/)</(?:D:)?href>`).FindAllStringSubmatch(body, -1) {
		code, rep := dav("REPORT", m[1], `<?xml version="1.0"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"/></C:comp-filter></C:filter></C:calendar-query>`, "Depth", "1")
		if code != 207 {
			continue // the scheduling inbox and outbox
		}
		rep = strings.ReplaceAll(strings.ReplaceAll(rep, "\r\n ", ""), "\r\n", "\n")
		for _, part := range strings.Split(rep, "BEGIN:VTODO")[1:] {
			todos = append(todos, part[:strings.Index(part, "END:VTODO")])
		}
	}
	var paid string
	for _, td := range todos {
		if strings.Contains(td, "SUMMARY:Pay the invoice") {
			paid = td
		}
		if strings.Contains(td, "SUMMARY:Buy stamps") {
			t.Errorf("the deleted task is still there: %s", td)
		}
	}
	if len(todos) != 2 || paid == "" {
		t.Fatalf("VTODOs over CalDAV: %q", todos)
	}
	for _, want := range []string{"STATUS:COMPLETED", "DUE;VALUE=DATE:" + strings.ReplaceAll(due, "-", ""), "PRIORITY:1",
		"DESCRIPTION:Reference 4711", "COMPLETED:"} {
		if !strings.Contains(paid, want) {
			t.Errorf("the done task lacks %s: %s", want, paid)
		}
	}
}
