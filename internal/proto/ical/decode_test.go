package ical

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

const rfcEvent = `BEGIN:VCALENDAR
PRODID:-//xyz Corp//NONSGML PDA Calendar Version 1.0//EN
VERSION:2.0
BEGIN:VEVENT
DTSTAMP:19960704T120000Z
UID:uid1@example.com
ORGANIZER:mailto:jsmith@example.com
DTSTART:19960918T143000Z
DTEND:19960920T220000Z
STATUS:CONFIRMED
CATEGORIES:CONFERENCE
SUMMARY:Networld+Interop Conference
DESCRIPTION:Networld+Interop Conference
  and Exhibit\nAtlanta World Congress Center\n
 Atlanta\, Georgia
ATTENDEE;CN="Doe, John";ROLE=REQ-PARTICIPANT;DELEGATED-FROM="mailto:a@example.com","mailto:b@example.com":mailto:jdoe@example.com
BEGIN:VALARM
TRIGGER:-PT15M
ACTION:DISPLAY
DESCRIPTION:Reminder
END:VALARM
END:VEVENT
BEGIN:X-ROOST-THING
X-FOO;X-PARAM=^'quoted^' and ^^ caret^n:bar
END:X-ROOST-THING
END:VCALENDAR
`

func TestDecode(t *testing.T) {
	t.Parallel()
	c, err := Decode(crlf(rfcEvent), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != VCalendar || len(c.Children) != 2 {
		t.Fatalf("got %s with %d children", c.Name, len(c.Children))
	}
	ev := c.Sub(VEvent)[0]
	if got := ev.Text("DESCRIPTION"); got != "Networld+Interop Conference and Exhibit\nAtlanta World Congress Center\nAtlanta, Georgia" {
		t.Errorf("DESCRIPTION %q", got)
	}
	at := ev.Prop("ATTENDEE")
	if at.Param("CN") != "Doe, John" || !reflect.DeepEqual(at.ParamValues("DELEGATED-FROM"), []string{"mailto:a@example.com", "mailto:b@example.com"}) {
		t.Errorf("ATTENDEE params %+v", at.Params)
	}
	if at.Value != "mailto:jdoe@example.com" {
		t.Errorf("ATTENDEE value %q", at.Value)
	}
	if len(ev.Sub(VAlarm)) != 1 {
		t.Error("VALARM lost")
	}
	x := c.Sub("X-ROOST-THING")[0].Prop("X-FOO")
	if x.Param("X-PARAM") != "\"quoted\" and ^ caret\n" || x.Value != "bar" {
		t.Errorf("X-FOO %+v", x)
	}
	roundTrip(t, crlf(rfcEvent))
}

func roundTrip(t *testing.T, b []byte) {
	t.Helper()
	cs, err := DecodeAll(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, c := range cs {
		e, err := Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		out = append(out, e...)
	}
	for _, line := range bytes.Split(out, []byte("\r\n")) {
		if len(line) > 75 {
			t.Errorf("line of %d octets: %q", len(line), line)
		}
	}
	cs2, err := DecodeAll(out, Limits{})
	if err != nil {
		t.Fatalf("decode again: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(cs, cs2) {
		t.Fatalf("round trip differs:\n%s", out)
	}
}

func TestFoldUTF8(t *testing.T) {
	t.Parallel()
	p := &Property{Name: "SUMMARY"}
	p.SetText(strings.Repeat("Grüße aus Köln, 日本語のテキスト; ", 20))
	c := &Component{Name: VEvent, Props: []*Property{p}}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(b, []byte("\r\n")) {
		if len(line) > 75 {
			t.Errorf("line too long: %d", len(line))
		}
		if !utf8.Valid(line) {
			t.Errorf("fold split a UTF-8 sequence: %q", line)
		}
	}
	c2, err := Decode(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c2.Text("SUMMARY"); got != p.Text() {
		t.Errorf("got %q", got)
	}
}

func TestEscapeText(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", "a,b;c\\d\ne", "ends with \\", "crlf\r\nline"} {
		p := &Property{Name: "X"}
		p.SetText(s)
		want := strings.ReplaceAll(s, "\r\n", "\n")
		if got := p.Text(); got != want {
			t.Errorf("%q → %q → %q", s, p.Value, got)
		}
	}
	p := &Property{Name: "CATEGORIES", Value: `a\,b,c,d\;e`}
	if got := p.TextList(); !reflect.DeepEqual(got, []string{"a,b", "c", "d;e"}) {
		t.Errorf("TextList %q", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"BEGIN:VCALENDAR\nEND:VEVENT\n",
		"BEGIN:VCALENDAR\n",
		"SUMMARY:outside\n",
		" continuation\n",
		"BEGIN:VCALENDAR\nNOCOLON\nEND:VCALENDAR\n",
		"BEGIN:VCALENDAR\nX;P=\"unterminated:v\nEND:VCALENDAR\n",
		"BEGIN:VCALENDAR\nX;P:v\nEND:VCALENDAR\n",
		"BEGIN:VCALENDAR\nX:a\x01b\nEND:VCALENDAR\n",
		"BEGIN:VCALENDAR\n;X:v\nEND:VCALENDAR\n",
		"BEGIN:BAD NAME\nEND:BAD NAME\n",
		"END:VCALENDAR\n",
		"",
	} {
		if _, err := Decode(crlf(s), Limits{}); err == nil {
			t.Errorf("Decode(%q): no error", s)
		}
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("BEGIN:X\n", 20) + strings.Repeat("END:X\n", 20)
	many := "BEGIN:VCALENDAR\n" + strings.Repeat("BEGIN:VEVENT\nEND:VEVENT\n", 50) + "END:VCALENDAR\n"
	props := "BEGIN:VCALENDAR\n" + strings.Repeat("X:y\n", 50) + "END:VCALENDAR\n"
	params := "BEGIN:VCALENDAR\nX" + strings.Repeat(";A=b", 50) + ":v\nEND:VCALENDAR\n"
	long := "BEGIN:VCALENDAR\nX:" + strings.Repeat("a", 100) + "\nEND:VCALENDAR\n"
	for _, tc := range []struct {
		src   string
		lim   Limits
		which string
	}{
		{deep, Limits{MaxDepth: 10}, LimitDepth},
		{many, Limits{MaxComponents: 10}, LimitComponents},
		{props, Limits{MaxProps: 10}, LimitProps},
		{params, Limits{MaxParams: 10}, LimitParams},
		{long, Limits{MaxLineBytes: 50}, LimitLineBytes},
		{long, Limits{MaxBytes: 50}, LimitBytes},
		{props, Limits{MaxLines: 10}, LimitLines},
	} {
		_, err := Decode(crlf(tc.src), tc.lim)
		var le *LimitError
		if !errors.As(err, &le) || le.Limit != tc.which {
			t.Errorf("%s: got %v", tc.which, err)
		}
	}
}

func TestBareLFAndBlankLines(t *testing.T) {
	t.Parallel()
	src := "BEGIN:VCALENDAR\n\nVERSION:2.0\r\nX-LONG:abc\n\tdef\nEND:VCALENDAR"
	c, err := Decode([]byte(src), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Prop("X-LONG").Value != "abcdef" {
		t.Errorf("got %q", c.Prop("X-LONG").Value)
	}
}

func TestComponentEdit(t *testing.T) {
	t.Parallel()
	c := &Component{Name: VEvent}
	c.Set(&Property{Name: "summary", Value: "a"})
	c.Set(&Property{Name: "SUMMARY", Value: "b"})
	if len(c.All("SUMMARY")) != 1 || c.Text("summary") != "b" {
		t.Errorf("Set: %+v", c.Props)
	}
	p := c.Prop("SUMMARY")
	p.SetParam("LANGUAGE", "de")
	p.SetParam("language", "en")
	if p.Param("LANGUAGE") != "en" || len(p.Params) != 1 {
		t.Errorf("SetParam: %+v", p.Params)
	}
	c.Del("SUMMARY")
	if c.Prop("SUMMARY") != nil {
		t.Error("Del")
	}
}
