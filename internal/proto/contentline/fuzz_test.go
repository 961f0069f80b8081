package contentline

import (
	"reflect"
	"testing"
)

// parseAll unfolds b and parses every line.
func parseAll(b []byte, groups, bare bool) ([]*Property, error) {
	var ps []*Property
	err := Unfold(b, Limits{MaxBytes: 1 << 16, MaxLines: 1000, MaxLineBytes: 1 << 14, MaxParams: 50}, func(line string) error {
		p, err := ParseLine(line, Limits{MaxParams: 50}, bare, groups)
		if err != nil {
			return err
		}
		ps = append(ps, p)
		return nil
	})
	return ps, err
}

// FuzzContentLine checks parse → format → parse: whatever the parser
// accepts formats, and reads back as the same properties.
func FuzzContentLine(f *testing.F) {
	for _, s := range []string{
		// RFC 5545 §3.1 and §3.2 examples.
		"DESCRIPTION:This is a long description that exists on a long line.\r\n",
		"DESCRIPTION:This is a lo\r\n ng description\r\n  that exists on a long line.\r\n",
		"ATTENDEE;RSVP=TRUE;ROLE=REQ-PARTICIPANT:mailto:\r\n jsmith@example.com\r\n",
		"ATTENDEE;DELEGATED-TO=\"mailto:jdoe@example.com\",\"mailto:jqpublic\r\n @example.com\":mailto:jsmith@example.com\r\n",
		"RDATE;VALUE=DATE:19970304,19970504,19970704,19970904\r\n",
		"DTSTART;TZID=America/New_York:19980119T020000\r\n",
		"SUMMARY:Project XYZ Final Review\\nConference Room - 3B\\; Bring\\, notes\r\n",
		// RFC 6350 §3.3, §5 and RFC 6868 examples.
		"item1.EMAIL;TYPE=work:jqpublic@xyz.example.com\r\nitem1.X-ABLABEL:Work\r\n",
		"ADR;LABEL=\"Mr. John Q. Public, Esq.^nMail Drop: TNE QB^n123 Main Street\":;;123 Main Street;Any Town;CA;91921-1234;U.S.A.\r\n",
		"N;SORT-AS=\"Public,John\":Public;John;Quinlan;Mr.;Esq.\r\n",
		"TEL;WORK;VOICE:+1-555-555-5555\n",
		"X-A;X-B=^^^'x^n:v\r\n",
		"NOTE:\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\r\n",
	} {
		f.Add([]byte(s), true, true)
		f.Add([]byte(s), false, false)
	}
	f.Fuzz(func(t *testing.T, b []byte, groups, bare bool) {
		ps, err := parseAll(b, groups, bare)
		if err != nil {
			return
		}
		var out, line []byte
		for _, p := range ps {
			line, err = AppendLine(line[:0], p)
			if err != nil {
				t.Fatalf("format of parsed %+v: %v", p, err)
			}
			out = AppendFolded(out, line)
		}
		for _, l := range splitLines(out) {
			if len(l) > 75 {
				t.Fatalf("line of %d octets: %q", len(l), l)
			}
		}
		ps2, err := parseAll(out, groups, bare)
		if err != nil {
			t.Fatalf("reparse: %v\n%q", err, out)
		}
		if len(ps) == 0 && len(ps2) == 0 {
			return
		}
		if !reflect.DeepEqual(ps, ps2) {
			t.Fatalf("not stable:\n%q\n%+v\n%+v", out, ps, ps2)
		}
		for _, p := range ps {
			// Text accessors must not panic.
			_, _, _, _ = p.Text(), p.TextList(), p.Structured(), p.Types()
			q := *p
			q.SetText(p.Text())
			_ = q.Pref()
		}
	})
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i+1 < len(b) && !(b[i] == '\r' && b[i+1] == '\n') {
			i++
		}
		if i+1 >= len(b) {
			return append(out, b)
		}
		out = append(out, b[:i])
		b = b[i+2:]
	}
	return out
}
