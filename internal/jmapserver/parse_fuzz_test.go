package jmapserver

import "testing"

// The small parsers of client-supplied strings added with the JMAP
// extensions: Quota state strings, SieveScript ids, part blob ids.
func FuzzClientIDs(f *testing.F) {
	for _, s := range []string{"q1.2.3.4.5.6", "q", "Sbm9wZQ", "S", "p12_1_2", "Qabc_1", "u12", "s00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if q, ok := parseQuotaState(s); ok {
			// What a state parses to, written again, parses the same.
			again, ok := parseQuotaState(quotaState(q))
			if !ok || *again != *q {
				t.Fatalf("quota state %q: %+v then %+v", s, q, again)
			}
			for _, x := range quotasOf("x", q) {
				if x.HardLimit <= 0 || x.Used < 0 {
					t.Fatalf("quota %+v from %q", x, s)
				}
			}
		}
		if name, ok := sieveScriptName(s); ok && sieveScriptID(name) == "" {
			t.Fatal("empty id")
		}
		if _, path, ok := parsePartBlobID("p1_" + s); ok && len(path) > pmimeMaxDepth {
			t.Fatalf("part path of %d levels", len(path))
		}
	})
}
