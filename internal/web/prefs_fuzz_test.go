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
