package davserver_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestVdirsyncerKhal syncs alice's calendar and address book both ways
// with vdirsyncer (including a conflict), then lists the synced calendar
// with khal, which must show the expanded recurrences.
func TestVdirsyncerKhal(t *testing.T) {
	t.Parallel()
	vds := needTool(t, "vdirsyncer")
	e := newEnv(t)
	dir := t.TempDir()
	calName := e.folder("alice", "calendar").Name
	abName := e.folder("alice", "contacts").Name
	cal, ab := e.calURL("alice"), e.cardURL("alice")
	weekly := crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:weekly-vds
DTSTAMP:20240101T000000Z
DTSTART:20240101T100000Z
DTEND:20240101T110000Z
RRULE:FREQ=WEEKLY;COUNT=4
SUMMARY:Team sync
END:VEVENT
END:VCALENDAR
`)
	e.do("alice", "PUT", cal+"weekly-vds.ics", weekly).must(t, http.StatusCreated)
	e.do("alice", "PUT", cal+"one.ics", event("one", "20240110T150000Z", "20240110T160000Z", "")).must(t, http.StatusCreated)
	e.do("alice", "PUT", ab+"c1.vcf", card("c1", "Carl One", "carl@example.test")).must(t, http.StatusCreated)

	localCal := filepath.Join(dir, "cal")
	localAB := filepath.Join(dir, "ab")
	for _, d := range []string{filepath.Join(localCal, calName), filepath.Join(localAB, abName), filepath.Join(dir, "status")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg := func(resolution string) string {
		res := ""
		if resolution != "" {
			res = `conflict_resolution = "` + resolution + `"` + "\n"
		}
		cfg := fmt.Sprintf(`[general]
status_path = "%s/status/"

[pair cal]
a = "cal_local"
b = "cal_remote"
collections = ["%s"]
%s
[storage cal_local]
type = "filesystem"
path = "%s/"
fileext = ".ics"

[storage cal_remote]
type = "caldav"
url = "%s/dav/"
username = "alice"
password = "%s"

[pair ab]
a = "ab_local"
b = "ab_remote"
collections = ["%s"]
%s
[storage ab_local]
type = "filesystem"
path = "%s/"
fileext = ".vcf"

[storage ab_remote]
type = "carddav"
url = "%s/dav/"
username = "alice"
password = "%s"
`, dir, calName, res, localCal, e.url, password("alice"), abName, res, localAB, e.url, password("alice"))
		p := filepath.Join(dir, "config")
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := writeCfg("")
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, vds, append([]string{"-c", cfg}, args...)...)
		cmd.Stdin = strings.NewReader("y\ny\ny\n")
		cmd.Env = append(cmd.Environ(), "HOME="+dir, "LANG=C.UTF-8", "LC_ALL=C.UTF-8")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("discover"); err != nil {
		t.Fatalf("discover: %v\n%s", err, out)
	}
	if out, err := run("sync"); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	localFiles := func(d string) []string {
		es, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out
	}
	calDir, abDir := filepath.Join(localCal, calName), filepath.Join(localAB, abName)
	if n := len(localFiles(calDir)); n != 2 {
		t.Fatalf("local calendar has %v", localFiles(calDir))
	}
	if n := len(localFiles(abDir)); n != 1 {
		t.Fatalf("local address book has %v", localFiles(abDir))
	}
	// Both ways: a local new event and card go up, a remote new event comes down.
	if err := os.WriteFile(filepath.Join(calDir, "local-new.ics"), []byte(event("local-new", "20240111T090000Z", "20240111T100000Z", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(abDir, "local-card.vcf"), []byte(card("local-card", "Lou Cal", "lou@example.test")), 0o600); err != nil {
		t.Fatal(err)
	}
	e.do("alice", "PUT", cal+"remote-new.ics", event("remote-new", "20240112T090000Z", "20240112T100000Z", "")).must(t, http.StatusCreated)
	if out, err := run("sync"); err != nil {
		t.Fatalf("sync 2: %v\n%s", err, out)
	}
	e.do("alice", "GET", cal+"local-new.ics", "").must(t, http.StatusOK)
	e.do("alice", "GET", ab+"local-card.vcf", "").must(t, http.StatusOK)
	if !strings.Contains(strings.Join(localFiles(calDir), " "), "remote-new") {
		t.Errorf("remote event not synced down: %v", localFiles(calDir))
	}
	// A conflict: the same event changed on both sides.
	localOne := ""
	for _, f := range localFiles(calDir) {
		b, _ := os.ReadFile(filepath.Join(calDir, f))
		if strings.Contains(string(b), "UID:one") {
			localOne = filepath.Join(calDir, f)
		}
	}
	if localOne == "" {
		t.Fatal("event one not found locally")
	}
	if err := os.WriteFile(localOne, []byte(event("one", "20240110T150000Z", "20240110T160000Z", "LOCATION:local side\r\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	e.do("alice", "PUT", cal+"one.ics", event("one", "20240110T150000Z", "20240110T160000Z", "LOCATION:server side\r\n")).must(t, http.StatusNoContent)
	out, err := run("sync")
	if err == nil || !strings.Contains(strings.ToLower(out), "conflict") {
		t.Fatalf("conflict not reported: %v\n%s", err, out)
	}
	// Resolved by the local side.
	cfg = writeCfg("a wins")
	if out, err := run("sync"); err != nil {
		t.Fatalf("sync after resolution: %v\n%s", err, out)
	}
	if b := e.do("alice", "GET", cal+"one.ics", "").must(t, http.StatusOK).body; !strings.Contains(b, "LOCATION:local side") {
		t.Errorf("server copy after 'a wins':\n%s", b)
	}
	// A remote delete removes the local copy.
	e.do("alice", "DELETE", cal+"remote-new.ics", "").must(t, http.StatusNoContent)
	if out, err := run("sync"); err != nil {
		t.Fatalf("sync after delete: %v\n%s", err, out)
	}
	if strings.Contains(strings.Join(localFiles(calDir), " "), "remote-new") {
		t.Errorf("remote delete not synced: %v", localFiles(calDir))
	}

	// khal reads vdirsyncer's directory and lists the recurrences.
	khal, err := exec.LookPath("khal")
	if err != nil {
		needTool(t, "khal")
		return
	}
	kcfg := filepath.Join(dir, "khal.conf")
	if err := os.WriteFile(kcfg, []byte(fmt.Sprintf(`[calendars]
[[roost]]
path = %s
type = calendar

[locale]
timeformat = %%H:%%M
dateformat = %%Y-%%m-%%d
longdateformat = %%Y-%%m-%%d
datetimeformat = %%Y-%%m-%%d %%H:%%M
longdatetimeformat = %%Y-%%m-%%d %%H:%%M
local_timezone = UTC
default_timezone = UTC

[sqlite]
path = %s/khal.db
`, calDir, dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, khal, "-c", kcfg, "list", "--format", "{start} {title}", "--day-format", "", "2024-01-01", "2024-02-01")
	cmd.Env = append(cmd.Environ(), "HOME="+dir, "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TZ=UTC")
	kout, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("khal: %v\n%s", err, kout)
	}
	t.Logf("khal:\n%s", kout)
	got := regexp.MustCompile(`(?m)^(\S+ \S+) Team sync$`).FindAllStringSubmatch(string(kout), -1)
	var starts []string
	for _, m := range got {
		starts = append(starts, m[1])
	}
	want := "2024-01-01 10:00,2024-01-08 10:00,2024-01-15 10:00,2024-01-22 10:00"
	if strings.Join(starts, ",") != want {
		t.Errorf("khal instances %v, want %s", starts, want)
	}
}
