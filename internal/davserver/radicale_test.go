package davserver_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRadicaleDifferential stores the same objects in Roost and in
// Radicale (Debian) and compares which objects the same calendar-query
// time ranges select, recurrences and time zones included.
func TestRadicaleDifferential(t *testing.T) {
	t.Parallel()
	bin := needTool(t, "radicale")
	e := newEnv(t)
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--server-hosts", addr, "--auth-type", "none",
		"--storage-filesystem-folder", filepath.Join(dir, "collections"), "--rights-type", "owner_only", "--logging-level", "warning")
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	rad := "http://" + addr
	rdo := func(method, path, body string, hdr ...string) (int, string) {
		req, _ := http.NewRequest(method, rad+path, strings.NewReader(body))
		req.SetBasicAuth("alice", "x")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	up := false
	for range 100 {
		if code, _ := rdo("OPTIONS", "/", ""); code != 0 {
			up = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !up {
		t.Fatal("radicale did not start")
	}
	if code, body := rdo("MKCALENDAR", "/alice/diff/", ""); code != http.StatusCreated {
		t.Fatalf("radicale MKCALENDAR: %d %s", code, body)
	}
	e.do("alice", "MKCALENDAR", "/dav/calendars/alice/diff/", "").must(t, http.StatusCreated)
	objects := map[string]string{
		"single":   event("single", "20240110T100000Z", "20240110T110000Z", ""),
		"weekly":   event("weekly", "20240101T100000Z", "20240101T110000Z", "RRULE:FREQ=WEEKLY;BYDAY=MO,WE\r\n"),
		"counted":  event("counted", "20240105T080000Z", "20240105T083000Z", "RRULE:FREQ=DAILY;COUNT=4\r\n"),
		"until":    event("until", "20240201T120000Z", "20240201T130000Z", "RRULE:FREQ=MONTHLY;UNTIL=20240601T000000Z\r\n"),
		"excluded": event("excluded", "20240103T150000Z", "20240103T160000Z", "RRULE:FREQ=DAILY;COUNT=3\r\nEXDATE:20240104T150000Z\r\n"),
		"allday":   strings.Replace(strings.Replace(event("allday", "20240120", "20240122", ""), "DTSTART:", "DTSTART;VALUE=DATE:", 1), "DTEND:", "DTEND;VALUE=DATE:", 1),
		"zoned": crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:zoned
DTSTAMP:20240101T000000Z
DTSTART;TZID=Europe/Berlin:20240325T090000
DTEND;TZID=Europe/Berlin:20240325T100000
RRULE:FREQ=DAILY;COUNT=10
SUMMARY:Across the DST change
END:VEVENT
END:VCALENDAR
`),
	}
	for name, body := range objects {
		if code, b := rdo("PUT", "/alice/diff/"+name+".ics", body, "Content-Type", "text/calendar"); code != http.StatusCreated {
			t.Fatalf("radicale PUT %s: %d %s", name, code, b)
		}
		e.do("alice", "PUT", "/dav/calendars/alice/diff/"+name+".ics", body).must(t, http.StatusCreated)
	}
	hrefName := regexp.MustCompile(`<(?:\w+:)?href>[^<]*/([^/<]+)\.ics</(?:\w+:)?href>`)
	setOf := func(body string) []string {
		var out []string
		for _, m := range hrefName.FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	ranges := [][2]string{
		{"20240101T000000Z", "20240102T000000Z"},
		{"20240103T000000Z", "20240106T000000Z"},
		{"20240104T140000Z", "20240104T170000Z"},
		{"20240108T093000Z", "20240108T100000Z"},
		{"20240110T103000Z", "20240110T103100Z"},
		{"20240121T000000Z", "20240122T000000Z"},
		{"20240122T000000Z", "20240123T000000Z"},
		{"20240326T080000Z", "20240326T083000Z"}, // 09:00 CET = 08:00Z
		{"20240324T080000Z", "20240324T083000Z"}, // before DTSTART
		{"20240401T070000Z", "20240401T073000Z"}, // after the change: 09:00 CEST = 07:00Z
		{"20240401T080000Z", "20240401T083000Z"},
		{"20240501T120000Z", "20240501T123000Z"},
		{"20240701T120000Z", "20240701T123000Z"},
		{"20300102T100000Z", "20300102T103000Z"},
	}
	matched := 0
	for _, r := range ranges {
		q := calQuery(r[0], r[1], "", "")
		_, rb := rdo("REPORT", "/alice/diff/", q, "Depth", "1", "Content-Type", "application/xml")
		ours := e.do("alice", "REPORT", "/dav/calendars/alice/diff/", q, "Depth", "1").must(t, http.StatusMultiStatus)
		want, got := setOf(rb), setOf(ours.body)
		t.Logf("%s..%s: %v", r[0], r[1], got)
		matched += len(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s..%s: roost %v, radicale %v", r[0], r[1], got, want)
		}
	}
	// The comparison means something only if Radicale answered.
	if matched < 10 {
		t.Errorf("radicale matched only %d objects over all ranges", matched)
	}
}
