package web

import (
	"testing"
	"unicode/utf8"
)

// FuzzHeaderSummary: the restore list's summary of an untrusted message
// header never panics and stays bounded, valid UTF-8.
func FuzzHeaderSummary(f *testing.F) {
	f.Add([]byte("From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nDate: Tue, 1 Dec 2026 10:00:00 +0100 (CET)\r\n\r\nbody"))
	f.Add([]byte("From: \"a\\\"b\" <x@y>, c@d\r\nSubject: \xff\xfe\r\nDate: 1 Dec 2026 10:00:00 +0000\r\n"))
	f.Add([]byte("Subject: " + string(make([]byte, 2000)) + "\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		subject, from, _ := headerSummary(raw)
		if !utf8.ValidString(subject) || !utf8.ValidString(from) {
			t.Fatalf("invalid UTF-8: %q %q", subject, from)
		}
		if len(subject) > maxSummarySubject || len(from) > 2*maxSummarySubject+3 {
			t.Fatalf("unbounded: %d %d", len(subject), len(from))
		}
	})
}

func TestHeaderSummary(t *testing.T) {
	s, f, d := headerSummary([]byte("From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nDate: Tue, 1 Dec 2026 10:00:00 +0100 (CET)\r\n\r\nbody"))
	if s != "Grüße" || f != "Jürgen <j@example.org>" || d.UTC().Hour() != 9 {
		t.Fatalf("%q %q %v", s, f, d)
	}
	if _, _, d := headerSummary([]byte("Date: yesterday\r\n")); !d.IsZero() {
		t.Fatalf("a bad date parsed: %v", d)
	}
}

// FuzzObjectSummary: the restore list's summary of an untrusted deleted
// event, task or contact never panics and stays bounded, valid UTF-8.
func FuzzObjectSummary(f *testing.F) {
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Berlin:20261210T140000\r\nSUMMARY:Review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), uint8(0))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:a\r\nDUE;VALUE=DATE:20261210\r\nSUMMARY:\xff\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"), uint8(1))
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Brecht;Bert;;;\r\nEND:VCARD\r\n"), uint8(2))
	kinds := []string{kindCalendar, kindTasks, kindContacts}
	f.Fuzz(func(t *testing.T, raw []byte, k uint8) {
		title, start := objectSummary(raw, kinds[int(k)%len(kinds)])
		if !utf8.ValidString(title) || len(title) > maxSummarySubject || len(start) > 40 {
			t.Fatalf("unbounded or invalid: %q %q", title, start)
		}
	})
}

func TestObjectSummary(t *testing.T) {
	cases := []struct {
		kind, raw, title, start string
	}{
		{kindCalendar, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Berlin:20261210T140000\r\nSUMMARY:Review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "Review", "2026-12-10T14:00:00"},
		{kindCalendar, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20261211T100000Z\r\nDTSTART:20261211T110000Z\r\nSUMMARY:Moved\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261201\r\nSUMMARY:Series\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "Series", "2026-12-01"},
		{kindTasks, "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:a\r\nDTSTART:20261201T100000Z\r\nDUE:20261210T100000Z\r\nSUMMARY:File taxes\r\nEND:VTODO\r\nEND:VCALENDAR\r\n", "File taxes", "2026-12-10T10:00:00Z"},
		{kindContacts, "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Anna\r\nEND:VCARD\r\n", "Anna", ""},
		{kindCalendar, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:open", "", ""},
		{kindContacts, "not a card", "", ""},
	}
	for _, c := range cases {
		if title, start := objectSummary([]byte(c.raw), c.kind); title != c.title || start != c.start {
			t.Errorf("%s %q: %q %q, want %q %q", c.kind, c.raw, title, start, c.title, c.start)
		}
	}
}
