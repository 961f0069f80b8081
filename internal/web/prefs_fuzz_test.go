package web

import (
	"strings"
	"testing"
	"time"
)

// FuzzValidZone: the zone check of PUT /web/api/prefs never panics and
// accepts only bounded names of zone characters that the zoneinfo
// database loads (never a path or "Local").
func FuzzValidZone(f *testing.F) {
	for _, s := range []string{"Europe/Berlin", "UTC", "Local", "../../etc/passwd", "/etc/localtime", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "", "Europe/Berlin\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !validZone(name) {
			return
		}
		if len(name) > maxZoneName || name == "Local" || strings.ContainsAny(name, ".\\\x00 ") || strings.HasPrefix(name, "/") {
			t.Fatalf("accepted %q", name)
		}
		if _, err := time.LoadLocation(name); err != nil {
			t.Fatalf("accepted %q, which does not load: %v", name, err)
		}
	})
}

// FuzzRemoteSenders: the sender check of POST
// /web/api/prefs/remote-senders and the reading of the stored list never
// panic; what they accept is one bounded, lowercased address without
// spaces or line breaks, and the list stays sorted, unique and bounded.
func FuzzRemoteSenders(f *testing.F) {
	for _, s := range []string{"news@example.com", "Evil <e@x.org>", "a@b", "a@b\nc@d", "", "@", "a@@b", "\"a b\"@example.com", "a@[127.0.0.1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if a := canonSender(s); a != "" {
			if len(a) > maxAddress || strings.ContainsAny(a, " \t\r\n<>") || a != strings.ToLower(a) || strings.Count(a, "@") < 1 || canonSender(a) != a {
				t.Fatalf("accepted %q as %q", s, a)
			}
		}
		l := parseSenders(s)
		for i, a := range l {
			if canonSender(a) != a || i > 0 && l[i-1] >= a {
				t.Fatalf("list of %q: %q", s, l)
			}
		}
		if len(l) > maxRemoteSenders {
			t.Fatalf("list of %d", len(l))
		}
	})
}
