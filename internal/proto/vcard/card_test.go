package vcard

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// RFC 6350 §8 example.
const v4 = `BEGIN:VCARD
VERSION:4.0
FN:Simon Perreault
N:Perreault;Simon;;;ing. jr,M.Sc.
BDAY:--0203
ANNIVERSARY:20090808T1430-0500
GENDER:M
LANG;PREF=1:fr
LANG;PREF=2:en
ORG;TYPE=work:Viagenie
ADR;TYPE=work:;Suite D2-630;2875 Laurier;
 Quebec;QC;G1V 2M2;Canada
TEL;VALUE=uri;TYPE="work,voice";PREF=1:tel:+1-418-656-9254;ext=102
TEL;VALUE=uri;TYPE="work,cell,voice,video,text":tel:+1-418-262-6501
EMAIL;TYPE=work:simon.perreault@viagenie.ca
GEO;TYPE=work:geo:46.772673,-71.282945
KEY;TYPE=work;VALUE=uri:
 http://www.viagenie.ca/simon.perreault/simon.asc
TZ:-0500
URL;TYPE=home:http://nomis80.org
UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1
REV:20240102T030405Z
END:VCARD
`

// RFC 2426 §5 style vCard 3.0, with an Apple-style group and bare params.
const v3 = `BEGIN:vCard
VERSION:3.0
FN:Frank Dawson
ORG:Lotus Development Corporation
ADR;TYPE=WORK,POSTAL,PARCEL:;;6544 Battleford Drive
 ;Raleigh;NC;27613-3502;U.S.A.
TEL;TYPE=VOICE,MSG,WORK:+1-919-676-9515
TEL;WORK;FAX:+1-919-676-9564
item1.EMAIL;TYPE=INTERNET,PREF:Frank_Dawson@Lotus.com
item1.X-ABLabel:_$!<Other>!$_
EMAIL;TYPE=INTERNET:fdawson@earthlink.net
URL:http://home.earthlink.net/~fdawson
N:Dawson;Frank;;;
REV:1995-10-31T22:27:10Z
UID:frank\,1
END:vCard
BEGIN:VCARD
VERSION:3.0
FN:Tim Howes
N:Howes;Tim;;;
EMAIL;TYPE=INTERNET:howes@netscape.com
TEL;TYPE=WORK,MSG:+1-415-937-3419
END:VCARD
`

func TestDecodeV4(t *testing.T) {
	t.Parallel()
	cards, err := Decode(crlf(v4), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 1 {
		t.Fatalf("%d cards", len(cards))
	}
	c := cards[0]
	if c.Version() != "4.0" || c.FN() != "Simon Perreault" || c.UID() != "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1" {
		t.Errorf("version %q fn %q uid %q", c.Version(), c.FN(), c.UID())
	}
	n, ok := c.N()
	if !ok || !reflect.DeepEqual(n, Name{Family: []string{"Perreault"}, Given: []string{"Simon"}, Suffix: []string{"ing. jr", "M.Sc."}}) {
		t.Errorf("N %+v", n)
	}
	tels := c.Tels()
	if len(tels) != 2 || tels[0].Pref != 1 || !reflect.DeepEqual(tels[0].Types, []string{"work", "voice"}) || tels[0].Digits() != "+14186569254" {
		t.Errorf("TEL %+v %q", tels, tels[0].Digits())
	}
	if em := c.Emails(); len(em) != 1 || em[0].Address != "simon.perreault@viagenie.ca" || em[0].Types[0] != "work" {
		t.Errorf("EMAIL %+v", em)
	}
	if adr := c.Prop("ADR").Structured(); len(adr) != 7 || adr[3][0] != "Quebec" {
		t.Errorf("ADR %q", adr)
	}
	if rev, ok, err := c.Rev(); !ok || err != nil || !rev.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("REV %v %v", rev, err)
	}
	roundTrip(t, crlf(v4))
}

func TestDecodeV3(t *testing.T) {
	t.Parallel()
	cards, err := Decode(crlf(v3), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 2 {
		t.Fatalf("%d cards", len(cards))
	}
	c := cards[0]
	if c.Version() != "3.0" || c.UID() != "frank,1" {
		t.Errorf("version %q uid %q", c.Version(), c.UID())
	}
	tels := c.Tels()
	if len(tels) != 2 || !reflect.DeepEqual(tels[1].Types, []string{"work", "fax"}) {
		t.Errorf("TEL %+v", tels)
	}
	em := c.Emails()
	if len(em) != 2 || em[0].Pref != 1 || em[1].Pref != 0 || !reflect.DeepEqual(em[0].Types, []string{"internet"}) {
		t.Errorf("EMAIL %+v", em)
	}
	if p := c.Prop("EMAIL"); p.Group != "item1" {
		t.Errorf("group %q", p.Group)
	}
	if rev, ok, err := c.Rev(); !ok || err != nil || !rev.Equal(time.Date(1995, 10, 31, 22, 27, 10, 0, time.UTC)) {
		t.Errorf("REV %v %v", rev, err)
	}
	if n, _ := c.N(); n.Family[0] != "Dawson" || n.Given[0] != "Frank" || n.Prefix != nil {
		t.Errorf("N %+v", n)
	}
	roundTrip(t, crlf(v3))
}

func roundTrip(t *testing.T, b []byte) {
	t.Helper()
	cards, err := Decode(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Marshal(cards...)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(out, []byte("\r\n")) {
		if len(line) > 75 {
			t.Errorf("line of %d octets", len(line))
		}
	}
	cards2, err := Decode(out, Limits{})
	if err != nil {
		t.Fatalf("re-decode: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(cards, cards2) {
		t.Fatalf("round trip differs:\n%s", out)
	}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	c := &Card{}
	c.SetText("VERSION", "4.0")
	c.SetText("FN", "Jöhn Q. Public, Esq.")
	c.SetN(Name{Family: []string{"Public"}, Given: []string{"John"}, Additional: []string{"Quinlan"}, Prefix: []string{"Mr."}, Suffix: []string{"Esq."}})
	c.SetRev(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC))
	c.Props = append(c.Props, &Property{Name: "EMAIL", Params: []Param{{Name: "TYPE", Values: []string{"work"}}}, Value: "jqp@example.com"})
	note := &Property{Name: "NOTE"}
	note.SetText(strings.Repeat("long note; with, things\n", 10))
	c.Props = append(c.Props, note)
	var buf bytes.Buffer
	if err := Encode(&buf, c); err != nil {
		t.Fatal(err)
	}
	cards, err := Decode(buf.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cards[0], c) {
		t.Errorf("got %+v", cards[0])
	}
	if cards[0].FN() != "Jöhn Q. Public, Esq." {
		t.Errorf("FN %q", cards[0].FN())
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"BEGIN:VCARD\nFN:x\n",
		"FN:x\n",
		"BEGIN:VCARD\nBEGIN:VCARD\nEND:VCARD\nEND:VCARD\n",
		"BEGIN:VCALENDAR\nEND:VCALENDAR\n",
		"BEGIN:VCARD\nFN\nEND:VCARD\n",
		"BEGIN:VCARD\nitem1.:x\nEND:VCARD\n",
		"END:VCARD\n",
	} {
		if _, err := Decode(crlf(s), Limits{}); err == nil {
			t.Errorf("Decode(%q): no error", s)
		}
	}
	if _, err := ParseTimestamp("yesterday"); err == nil {
		t.Error("ParseTimestamp: no error")
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	many := strings.Repeat("BEGIN:VCARD\nFN:x\nEND:VCARD\n", 20)
	props := "BEGIN:VCARD\n" + strings.Repeat("NOTE:y\n", 50) + "END:VCARD\n"
	params := "BEGIN:VCARD\nX" + strings.Repeat(";A=b", 50) + ":v\nEND:VCARD\n"
	long := "BEGIN:VCARD\nPHOTO:" + strings.Repeat("A", 100) + "\nEND:VCARD\n"
	for _, tc := range []struct {
		src   string
		lim   Limits
		which string
	}{
		{many, Limits{MaxCards: 10}, LimitCards},
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

func FuzzDecode(f *testing.F) {
	f.Add(crlf(v4))
	f.Add(crlf(v3))
	f.Add([]byte("BEGIN:VCARD\nitem2.TEL;CELL;\"x\";TYPE=\"a,b\":1\n 2\nEND:VCARD"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cards, err := Decode(b, Limits{MaxBytes: 1 << 16, MaxCards: 100, MaxProps: 200})
		if err != nil {
			return
		}
		for _, c := range cards {
			_, _ = c.N()
			_ = c.Emails()
			_ = c.Tels()
			_, _, _ = c.Rev()
		}
		out, err := Marshal(cards...)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		cards2, err := Decode(out, Limits{})
		if err != nil {
			t.Fatalf("re-decode: %v\n%q", err, out)
		}
		if !reflect.DeepEqual(cards, cards2) {
			t.Fatalf("not stable:\n%q", out)
		}
	})
}
