package main

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/vcard"
	"github.com/roost-mail/roost/internal/queue"
)

// txtRE takes the record name and the character strings out of the line
// `domain dkim` prints.
var txtRE = regexp.MustCompile(`(?m)^(\S+)\. IN TXT ((?:"[^"]*" ?)+)$`)

func parseTXT(t *testing.T, out string) (name, value string) {
	t.Helper()
	m := txtRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no TXT record line in\n%s", out)
	}
	for _, s := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(m[2], -1) {
		value += s[1]
	}
	return m[1], value
}

func TestAdminDomainDKIM(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("tenant", "create", "globex")
	e.ok("domain", "add", "acme.test", "--tenant", "acme")
	e.ok("domain", "add", "globex.test", "--tenant", "globex")
	e.ok("user", "create", "ann", "--email", "ann@acme.test", "--admin", "1", "--tenant", "acme")

	e.fails(1, "has no DKIM key", "domain", "dkim", "acme.test", "--show")
	out := e.ok("domain", "dkim", "ACME.test", "--selector", "s1")
	if strings.Contains(out, "PRIVATE") {
		t.Fatalf("dkim prints the private key:\n%s", out)
	}
	name, txt := parseTXT(t, out)
	if name != "s1._domainkey.acme.test" || !strings.HasPrefix(txt, "v=DKIM1; k=rsa; p=") {
		t.Fatalf("record %q = %q", name, txt)
	}
	// The printed record is the public half of the stored key: a message
	// signed with the key the queue would use verifies against it.
	props, err := e.db.DomainProps(sysCtx, "acme.test")
	if err != nil || props[queue.PropDKIMSelector] != "s1" {
		t.Fatalf("domain props %v, %v", props, err)
	}
	blk, _ := pem.Decode([]byte(props[queue.PropDKIMPrivateKey]))
	if blk == nil {
		t.Fatal("stored key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	msg := "From: ann@acme.test\r\nTo: x@remote.test\r\nSubject: hi\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nhello\r\n"
	signed, err := queue.SignDKIM([]byte(msg), "acme.test", "s1", k.(crypto.Signer))
	if err != nil {
		t.Fatal(err)
	}
	verify := func(record string) error {
		vs, err := dkim.VerifyWithOptions(strings.NewReader(string(signed)), &dkim.VerifyOptions{
			LookupTXT: func(domain string) ([]string, error) {
				if domain != name {
					t.Errorf("lookup %q, want %q", domain, name)
				}
				return []string{record}, nil
			}})
		if err != nil {
			return err
		}
		if len(vs) != 1 {
			t.Fatalf("%d verifications", len(vs))
		}
		return vs[0].Err
	}
	if err := verify(txt); err != nil {
		t.Fatalf("signature does not verify with the printed record: %v", err)
	}

	// --show prints the same record, derived from the stored key.
	_, shown := parseTXT(t, e.ok("domain", "dkim", "acme.test", "--show"))
	if shown != txt {
		t.Fatalf("--show %q, generate printed %q", shown, txt)
	}
	var j map[string]string
	e.okJSON(&j, "domain", "dkim", "acme.test", "--show")
	if j["txt"] != txt || j["selector"] != "s1" || j["name"] != name || j["domain"] != "acme.test" || len(j) != 4 {
		t.Fatalf("--json --show: %v", j)
	}

	// A new key: the default selector, a different record; the old one no
	// longer verifies the new key's signatures and vice versa.
	e.okJSON(&j, "domain", "dkim", "acme.test")
	if !regexp.MustCompile(`^roost\d{6}$`).MatchString(j["selector"]) || j["txt"] == txt || strings.Contains(strings.Join(slices.Collect(mapValues(j)), ""), "PRIVATE") {
		t.Fatalf("--json new key: %v", j)
	}
	if err := verify(j["txt"]); err == nil {
		t.Fatal("a signature made with the old key verifies with the new record")
	}

	// A tenant admin manages its own domains only.
	annDir := e.serveAs("ann")
	r := runIn(annDir, "", "domain", "dkim", "acme.test", "--selector", "ann1")
	if r.code != 0 || !strings.Contains(r.stdout, "ann1._domainkey.acme.test. IN TXT") {
		t.Fatalf("tenant admin on own domain: %+v", r)
	}
	wantFail(t, runIn(annDir, "", "domain", "dkim", "globex.test"), 1, "not found", nil)
	wantFail(t, runIn(annDir, "", "domain", "dkim", "globex.test", "--show"), 1, "not found", nil)
	e.fails(1, "has no DKIM key", "domain", "dkim", "globex.test", "--show")

	e.fails(1, "selector", "domain", "dkim", "acme.test", "--selector", "bad selector!")
	e.fails(2, "exclude each other", "domain", "dkim", "acme.test", "--show", "--selector", "x")
	e.fails(1, "not found", "domain", "dkim", "nowhere.test")
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func TestAdminTenantDisclaimer(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("tenant", "create", "globex")
	e.ok("user", "create", "ann", "--email", "ann@acme.test", "--admin", "1", "--tenant", "acme")

	if out := e.ok("tenant", "disclaimer", "acme"); !strings.Contains(out, "has no disclaimer") {
		t.Fatalf("no disclaimer: %q", out)
	}
	htmlFile := filepath.Join(e.dir, "d.html")
	if err := os.WriteFile(htmlFile, []byte("<p>Acme Ltd — confidential</p>\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := e.okIn("--\nAcme Ltd, registered in Example.\n", "tenant", "disclaimer", "acme", "--text-file", "-", "--html-file", htmlFile)
	if !strings.Contains(out, "Text disclaimer:\n--\nAcme Ltd, registered in Example.\n") || !strings.Contains(out, "HTML disclaimer:\n<p>Acme Ltd — confidential</p>") {
		t.Fatalf("set:\n%s", out)
	}
	// Stored where the queue reads it.
	props, err := e.db.TenantProps(sysCtx, "acme")
	if err != nil || props[queue.PropDisclaimerText] != "--\nAcme Ltd, registered in Example.\n" || props[queue.PropDisclaimerHTML] != "<p>Acme Ltd — confidential</p>\n" {
		t.Fatalf("tenant props %q, %v", props, err)
	}
	var d disclaimerView
	e.okJSON(&d, "tenant", "disclaimer", "acme")
	if d.Text != props[queue.PropDisclaimerText] || d.HTML != props[queue.PropDisclaimerHTML] {
		t.Fatalf("--json: %+v", d)
	}

	// A tenant admin: its own tenant only.
	annDir := e.serveAs("ann")
	r := runIn(annDir, "only text\n", "tenant", "disclaimer", "acme", "--text-file", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "only text") || !strings.Contains(r.stdout, "confidential") {
		t.Fatalf("tenant admin on own tenant: %+v", r)
	}
	r = runIn(annDir, "", "tenant", "disclaimer", "globex")
	if r.code != 1 || r.stdout != "" || r.stderr == "" {
		t.Fatalf("tenant admin on another tenant: %+v", r)
	}
	r = runIn(annDir, "x", "tenant", "disclaimer", "globex", "--text-file", "-")
	if r.code != 1 || r.stdout != "" || r.stderr == "" {
		t.Fatalf("tenant admin sets another tenant's: %+v", r)
	}
	if p, _ := e.db.TenantProps(sysCtx, "globex"); len(p) != 0 {
		t.Fatalf("globex props %v", p)
	}

	// Bad files.
	big := filepath.Join(e.dir, "big.txt")
	if err := os.WriteFile(big, []byte(strings.Repeat("x", 64<<10+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	e.fails(1, "larger than", "tenant", "disclaimer", "acme", "--text-file", big)
	e.fails(1, "no such file", "tenant", "disclaimer", "acme", "--html-file", filepath.Join(e.dir, "missing"))
	empty := filepath.Join(e.dir, "empty.txt")
	os.WriteFile(empty, nil, 0o600)
	e.fails(1, "is empty", "tenant", "disclaimer", "acme", "--text-file", empty)
	e.fails(2, "only one of", "tenant", "disclaimer", "acme", "--text-file", "-", "--html-file", "-")
	e.fails(2, "--off excludes", "tenant", "disclaimer", "acme", "--off", "--text-file", empty)
	notUTF8 := filepath.Join(e.dir, "latin1.txt")
	os.WriteFile(notUTF8, []byte("Gr\xfc\xdfe\n"), 0o600)
	e.fails(1, "not UTF-8", "tenant", "disclaimer", "acme", "--text-file", notUTF8)

	if out := e.ok("tenant", "disclaimer", "acme", "--off"); !strings.Contains(out, "has no disclaimer") {
		t.Fatalf("--off: %q", out)
	}
	if p, _ := e.db.TenantProps(sysCtx, "acme"); p[queue.PropDisclaimerText] != "" || p[queue.PropDisclaimerHTML] != "" {
		t.Fatalf("after --off: %q", p)
	}
	e.fails(1, "not found", "tenant", "disclaimer", "nosuch")
}

// testICS has a VTIMEZONE, a weekly recurring event with an overridden
// occurrence, a plain UTC event, an all-day event and a task.
const testICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Kopano export//EN\r\nMETHOD:PUBLISH\r\n" +
	"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n" +
	"BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n" +
	"BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n" +
	"END:VTIMEZONE\r\n" +
	"BEGIN:VEVENT\r\nUID:weekly-1@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20260105T090000\r\nDTEND;TZID=Europe/Berlin:20260105T093000\r\n" +
	"RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=20\r\nSUMMARY:Stand-up\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:weekly-1@test\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260112T090000\r\n" +
	"DTSTART;TZID=Europe/Berlin:20260112T100000\r\nDTEND;TZID=Europe/Berlin:20260112T103000\r\nSUMMARY:Stand-up (moved)\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:once-2@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260210T150000Z\r\nDTEND:20260210T160000Z\r\nSUMMARY:Review, with a comma\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:allday-3@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260301\r\nDTEND;VALUE=DATE:20260302\r\nSUMMARY:Holiday\r\nEND:VEVENT\r\n" +
	"BEGIN:VTODO\r\nUID:todo-4@test\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:File the report\r\nDUE:20260315T170000Z\r\nEND:VTODO\r\n" +
	"END:VCALENDAR\r\n"

const testVCF = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-1@test\r\nFN:Ann Example\r\nN:Example;Ann;;;\r\nEMAIL;TYPE=work:ann@example.test\r\nTEL;TYPE=cell:+49 170 0000000\r\nEND:VCARD\r\n" +
	"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\nFN:Bob Müller\r\nN:Müller;Bob;;;\r\nNOTE:line one\\nline two\\, with comma\r\nEND:VCARD\r\n" +
	"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No UID Person\r\nN:Person;No UID;;;\r\nEND:VCARD\r\n"

// components lists "NAME UID RECURRENCE-ID SUMMARY DTSTART" of every
// component but VTIMEZONE, sorted, and the TZIDs of the VTIMEZONEs.
func components(t *testing.T, data string) (comps, tzids []string) {
	t.Helper()
	cals, err := ical.DecodeAll([]byte(data), ical.Limits{})
	if err != nil {
		t.Fatalf("export does not parse: %v\n%s", err, data)
	}
	for _, cal := range cals {
		for _, c := range cal.Children {
			if c.Name == ical.VTimezone {
				tzids = append(tzids, c.Text("TZID"))
				continue
			}
			line := []string{c.Name, c.UID()}
			for _, p := range []string{"RECURRENCE-ID", "SUMMARY", "DTSTART", "RRULE", "DUE"} {
				if pr := c.Prop(p); pr != nil {
					line = append(line, p+";"+pr.Param("TZID")+";"+pr.Param("VALUE")+"="+pr.Value)
				}
			}
			comps = append(comps, strings.Join(line, " | "))
		}
	}
	slices.Sort(comps)
	slices.Sort(tzids)
	return comps, tzids
}

func cards(t *testing.T, data string) []string {
	t.Helper()
	cs, err := vcard.Decode([]byte(data), vcard.Limits{})
	if err != nil {
		t.Fatalf("export does not parse: %v\n%s", err, data)
	}
	var out []string
	for _, c := range cs {
		line := []string{c.UID()}
		for _, p := range []string{"FN", "N", "EMAIL", "TEL", "NOTE"} {
			line = append(line, p+"="+c.Text(p))
		}
		out = append(out, strings.Join(line, " | "))
	}
	slices.Sort(out)
	return out
}

func TestAdminCalendarImportExport(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("tenant", "create", "globex")
	e.ok("user", "create", "alice", "--email", "alice@acme.test", "--tenant", "acme")
	e.ok("user", "create", "ann", "--email", "ann@acme.test", "--admin", "1", "--tenant", "acme")
	e.ok("user", "create", "gus", "--email", "gus@globex.test", "--tenant", "globex")
	ics := filepath.Join(e.dir, "in.ics")
	if err := os.WriteFile(ics, []byte(testICS), 0o600); err != nil {
		t.Fatal(err)
	}

	want, wantTZ := components(t, testICS)
	if len(want) != 5 || !slices.Equal(wantTZ, []string{"Europe/Berlin"}) || !strings.Contains(strings.Join(want, "\n"), "RRULE;;=FREQ=WEEKLY;BYDAY=MO;COUNT=20") ||
		!strings.Contains(strings.Join(want, "\n"), "RECURRENCE-ID;Europe/Berlin;=20260112T090000") {
		t.Fatalf("test data: %q %q", want, wantTZ)
	}
	only := func(prefix string) []string {
		return slices.DeleteFunc(slices.Clone(want), func(s string) bool { return !strings.HasPrefix(s, prefix+" ") })
	}

	// Into the user's default calendar and tasks folders, named by their
	// roles: each takes its own kind (as CalDAV advertises them).
	out := e.ok("calendar", "import", "alice", "calendar", ics)
	if out != "imported 3 events into Calendar of alice; skipped 1 task, which the folder does not take (import the file into tasks as well)\n" {
		t.Fatalf("import: %q", out)
	}
	out = e.ok("calendar", "import", "alice", "tasks", ics)
	if out != "imported 1 task into Tasks of alice; skipped 3 events, which the folder does not take (import the file into calendar as well)\n" {
		t.Fatalf("import: %q", out)
	}
	// Twice: replaced by UID, not duplicated.
	e.ok("calendar", "import", "alice", "calendar", ics)
	exp1 := filepath.Join(e.dir, "events.ics")
	out = e.ok("calendar", "export", "alice", "Calendar", exp1)
	if out != "exported 3 events from Calendar of alice to "+exp1+"\n" {
		t.Fatalf("export: %q", out)
	}
	if fi, err := os.Stat(exp1); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v, %v", fi, err)
	}
	b, _ := os.ReadFile(exp1)
	got, gotTZ := components(t, string(b))
	if !slices.Equal(got, only("VEVENT")) || !slices.Equal(gotTZ, wantTZ) {
		t.Fatalf("export lost or changed events:\ngot  %q %q\nwant %q %q", got, gotTZ, only("VEVENT"), wantTZ)
	}
	exp2 := filepath.Join(e.dir, "tasks.ics")
	if out := e.ok("calendar", "export", "alice", "tasks", exp2); out != "exported 1 task from Tasks of alice to "+exp2+"\n" {
		t.Fatalf("export tasks: %q", out)
	}
	b2, _ := os.ReadFile(exp2)
	if got, _ := components(t, string(b2)); !slices.Equal(got, only("VTODO")) {
		t.Fatalf("export lost or changed tasks:\ngot  %q\nwant %q", got, only("VTODO"))
	}

	// Round trip: both exports → a new folder (created; it takes every
	// kind) → export → import elsewhere → export: nothing lost.
	var res importView
	e.fails(1, "not found", "calendar", "import", "alice", "Nope/2026", exp1) // parent missing
	e.okJSON(&res, "calendar", "import", "alice", "Copy", exp1)
	if !res.Created || res.Folder != "Copy" || res.User != "alice" || res.Events != 3 || res.Tasks != 0 || res.FolderID == 0 || len(res.Skipped) != 0 {
		t.Fatalf("--json import: %+v", res)
	}
	e.okJSON(&res, "calendar", "import", "alice", "Copy", exp2)
	if res.Created || res.Events != 0 || res.Tasks != 1 {
		t.Fatalf("--json import tasks: %+v", res)
	}
	r := runIn(e.dir, "", "calendar", "export", "alice", "Copy", "-")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("export to stdout: %+v", r)
	}
	got, gotTZ = components(t, r.stdout)
	if !slices.Equal(got, want) || !slices.Equal(gotTZ, wantTZ) {
		t.Fatalf("round trip lost or changed components:\ngot  %q %q\nwant %q %q", got, gotTZ, want, wantTZ)
	}
	e.ok("calendar", "import", "alice", "Copy", ics) // the original again: replaces
	out = e.okIn(r.stdout, "calendar", "import", "alice", "Copy/Nested", "-")
	if out != "imported 3 events and 1 task into Nested of alice (created the folder)\n" {
		t.Fatalf("import from stdin: %q", out)
	}
	r = runIn(e.dir, "", "calendar", "export", "alice", "Copy/Nested", "-")
	if got, gotTZ = components(t, r.stdout); !slices.Equal(got, want) || !slices.Equal(gotTZ, wantTZ) {
		t.Fatalf("second round trip lost or changed components:\ngot  %q %q\nwant %q %q", got, gotTZ, want, wantTZ)
	}
	var ev exportView
	e.okJSON(&ev, "calendar", "export", "alice", "Copy", filepath.Join(e.dir, "out2.ics"))
	if ev.Events != 3 || ev.Tasks != 1 || ev.Folder != "Copy" || ev.Bytes == 0 {
		t.Fatalf("--json export: %+v", ev)
	}

	// A folder of the wrong type; a file with nothing the folder takes.
	e.fails(1, "holds only VTODO", "calendar", "import", "alice", "tasks", exp1)
	e.fails(1, "not a calendar", "calendar", "import", "alice", "Inbox", ics)
	e.fails(1, "not a calendar", "calendar", "export", "alice", "Inbox", "-")
	e.fails(1, "not found", "calendar", "export", "alice", "Missing", "-")

	// Bad files: nothing is stored.
	bad := filepath.Join(e.dir, "bad.ics")
	os.WriteFile(bad, []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:no uid\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), 0o600)
	e.fails(1, "without UID", "calendar", "import", "alice", "Bad", bad)
	os.WriteFile(bad, []byte("this is not a calendar\n"), 0o600)
	e.fails(1, "not an iCalendar file", "calendar", "import", "alice", "Bad", bad)
	os.WriteFile(bad, nil, 0o600)
	e.fails(1, "empty file", "calendar", "import", "alice", "Bad", bad)
	e.fails(1, "no such file", "calendar", "import", "alice", "Bad", filepath.Join(e.dir, "missing.ics"))
	e.fails(1, "not found", "calendar", "export", "alice", "Bad", "-")
	e.fails(2, "missing FILE", "calendar", "import", "alice", "calendar")
	e.fails(1, "not found", "calendar", "import", "nobody", "calendar", ics)

	// A tenant admin: users of its tenant only.
	annDir := e.serveAs("ann")
	r = runIn(annDir, "", "calendar", "export", "alice", "calendar", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "UID:weekly-1@test") {
		t.Fatalf("tenant admin exports own tenant's user: %+v", r)
	}
	r = runIn(annDir, "", "calendar", "import", "gus", "calendar", ics)
	if r.code != 1 || r.stdout != "" || r.stderr == "" {
		t.Fatalf("tenant admin imports for another tenant's user: %+v", r)
	}
	r = runIn(annDir, "", "calendar", "export", "gus", "calendar", "-")
	if r.code != 1 || r.stdout != "" || r.stderr == "" {
		t.Fatalf("tenant admin exports another tenant's user: %+v", r)
	}
}

func TestAdminContactsImportExport(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("tenant", "create", "globex")
	e.ok("user", "create", "alice", "--email", "alice@acme.test", "--tenant", "acme")
	e.ok("user", "create", "ann", "--email", "ann@acme.test", "--admin", "1", "--tenant", "acme")
	e.ok("user", "create", "gus", "--email", "gus@globex.test", "--tenant", "globex")

	out := e.okIn(testVCF, "contacts", "import", "alice", "contacts", "-")
	if out != "imported 3 contacts into Contacts of alice\n" {
		t.Fatalf("import: %q", out)
	}
	e.okIn(testVCF, "contacts", "import", "alice", "contacts", "-") // same UIDs (derived for the third): replaced
	r := runIn(e.dir, "", "contacts", "export", "alice", "contacts", "-")
	if r.code != 0 {
		t.Fatalf("export: %+v", r)
	}
	first := cards(t, r.stdout)
	if len(first) != 3 {
		t.Fatalf("export has %d cards:\n%s", len(first), r.stdout)
	}
	want := cards(t, testVCF)
	if len(want) != 3 || !strings.Contains(strings.Join(want, "\n"), "NOTE=line one\nline two, with comma") {
		t.Fatalf("test data: %q", want)
	}
	// The card without UID got one on import; compare the rest.
	strip := func(l []string) []string {
		var o []string
		for _, s := range l {
			o = append(o, s[strings.Index(s, " | "):])
		}
		slices.Sort(o)
		return o
	}
	if !slices.Equal(strip(first), strip(want)) {
		t.Fatalf("export changed cards:\ngot  %q\nwant %q", first, want)
	}
	// Round trip through a file into a new address book.
	vcf := filepath.Join(e.dir, "out.vcf")
	if out := e.ok("contacts", "export", "alice", "contacts", vcf); out != "exported 3 contacts from Contacts of alice to "+vcf+"\n" {
		t.Fatalf("export to file: %q", out)
	}
	var res importView
	e.okJSON(&res, "contacts", "import", "alice", "Friends", vcf)
	if !res.Created || res.Contacts != 3 || res.Folder != "Friends" {
		t.Fatalf("--json import: %+v", res)
	}
	r = runIn(e.dir, "", "contacts", "export", "alice", "Friends", "-")
	if again := cards(t, r.stdout); !slices.Equal(again, first) {
		t.Fatalf("round trip changed cards:\ngot  %q\nwant %q", again, first)
	}

	e.fails(1, "not an address book", "contacts", "import", "alice", "Calendar", vcf)
	e.fails(1, "no such file", "contacts", "import", "alice", "Bad", vcf+"-missing")
	bad := filepath.Join(e.dir, "bad.vcf")
	os.WriteFile(bad, []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), 0o600)
	e.fails(1, "not a vCard file", "contacts", "import", "alice", "Bad", bad)

	annDir := e.serveAs("ann")
	r = runIn(annDir, testVCF, "contacts", "import", "gus", "contacts", "-")
	if r.code != 1 || r.stdout != "" || r.stderr == "" {
		t.Fatalf("tenant admin imports for another tenant's user: %+v", r)
	}
	r = runIn(annDir, testVCF, "contacts", "import", "alice", "contacts", "-")
	if r.code != 0 {
		t.Fatalf("tenant admin imports for own tenant's user: %+v", r)
	}
}
