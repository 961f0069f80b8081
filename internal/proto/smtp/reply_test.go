package smtp

import (
	"bufio"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Reply
		err  bool
	}{
		{"220 mx.test ESMTP\r\n", Reply{Code: 220, Lines: []string{"mx.test ESMTP"}}, false},
		{"250-mx.test\r\n250-PIPELINING\r\n250 SIZE 100\r\n", Reply{Code: 250, Lines: []string{"mx.test", "PIPELINING", "SIZE 100"}}, false},
		{"550 5.1.1 no such user\r\n", Reply{Code: 550, Enhanced: "5.1.1", Lines: []string{"no such user"}}, false},
		// An enhanced code of the wrong class is text.
		{"550 2.1.1 odd\r\n", Reply{Code: 550, Lines: []string{"2.1.1 odd"}}, false},
		{"354\r\n", Reply{Code: 354, Lines: []string{""}}, false},
		{"421 4.7.0 bye\n", Reply{Code: 421, Enhanced: "4.7.0", Lines: []string{"bye"}}, false},
		{"250-a\r\n251 b\r\n", Reply{}, true},
		{"25\r\n", Reply{}, true},
		{"abc hello\r\n", Reply{}, true},
		{"250_x\r\n", Reply{}, true},
		{"199 x\r\n", Reply{}, true},
		{"250-a\r\n", Reply{}, true},
		{strings.Repeat("250-x\r\n", MaxReplyLines+1) + "250 x\r\n", Reply{}, true},
		{"250 " + strings.Repeat("x", MaxReplyLine) + "\r\n", Reply{}, true},
	} {
		got, err := ReadReply(bufio.NewReader(strings.NewReader(c.in)))
		if c.err {
			if err == nil {
				t.Errorf("%q: no error, got %+v", c.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestExtensions(t *testing.T) {
	r, err := ReadReply(bufio.NewReader(strings.NewReader("250-mx\r\n250-size 1000\r\n250-AUTH PLAIN LOGIN\r\n250 DSN\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	ext := Extensions(r)
	want := map[string]string{"SIZE": "1000", "AUTH": "PLAIN LOGIN", "DSN": ""}
	if !reflect.DeepEqual(ext, want) {
		t.Fatalf("got %v", ext)
	}
	if s := (Reply{Code: 550, Enhanced: "5.1.1", Lines: []string{"no\x01 user", "more"}}).String(); s != "550 5.1.1 no? user more" {
		t.Fatalf("String: %q", s)
	}
}

func TestXtext(t *testing.T) {
	for _, c := range []struct{ dec, enc string }{
		{"abc@example.com", "abc@example.com"},
		{"a+b=c d", "a+2Bb+3Dc+20d"},
		{"", ""},
	} {
		if got := EncodeXtext(c.dec); got != c.enc {
			t.Errorf("encode %q = %q, want %q", c.dec, got, c.enc)
		}
		if got, err := DecodeXtext(c.enc); err != nil || got != c.dec {
			t.Errorf("decode %q = %q, %v", c.enc, got, err)
		}
	}
	for _, bad := range []string{"+", "+2", "+zz", "+2b", "a=b", "a b"} {
		if _, err := DecodeXtext(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("decode %q: %v", bad, err)
		}
	}
}

func TestDSNParams(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"never", "NEVER", true},
		{"SUCCESS,FAILURE", "SUCCESS,FAILURE", true},
		{"delay", "DELAY", true},
		{"NEVER,SUCCESS", "", false},
		{"FAILURE,FAILURE", "", false},
		{"", "", false},
	} {
		got, err := ParseNotify(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("NOTIFY %q = %q, %v", c.in, got, err)
		}
	}
	if got, err := ParseORcpt("rfc822;a+2Bb@c.test"); err != nil || got != "rfc822;a+b@c.test" {
		t.Errorf("ORCPT: %q %v", got, err)
	}
	for _, bad := range []string{"rfc822", ";a@b", "rfc822;", "rfc822;a b"} {
		if _, err := ParseORcpt(bad); err == nil {
			t.Errorf("ORCPT %q accepted", bad)
		}
	}
}

func TestParseBDAT(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int64
		last bool
		ok   bool
	}{
		{"10", 10, false, true},
		{"0 LAST", 0, true, true},
		{"5 last", 5, true, true},
		{"", 0, false, false},
		{"-1", 0, false, false},
		{"+1", 0, false, false},
		{"1 FIRST", 0, false, false},
		{"1 LAST x", 0, false, false},
		{"99999999999999999999", 0, false, false},
	} {
		n, last, err := ParseBDAT(c.in)
		if (err == nil) != c.ok || n != c.n || last != c.last {
			t.Errorf("%q = %d %v %v", c.in, n, last, err)
		}
	}
}

func TestLineEndings(t *testing.T) {
	for _, c := range []struct {
		parts []string
		ok    bool
	}{
		{[]string{"a\r\nb\r\n"}, true},
		{[]string{"a\r", "\nb\r\n"}, true},
		{[]string{"a\nb"}, false},
		{[]string{"a\r", "b"}, false},
		{[]string{"a\r\r\n"}, false},
		{[]string{"a\r"}, false},
		{[]string{""}, true},
	} {
		var l LineEndings
		for _, p := range c.parts {
			l.Write([]byte(p))
		}
		if l.Done() != c.ok {
			t.Errorf("%q: Done = %v", c.parts, l.Done())
		}
	}
}

func TestReadCommandMax(t *testing.T) {
	r := bufio.NewReader(strings.NewReader(strings.Repeat("x", 1001) + "\r\nNOOP\r\n"))
	if _, err := ReadCommandMax(r, 1000); !errors.Is(err, ErrLineTooLong) {
		t.Fatal(err)
	}
	if c, err := ReadCommandMax(r, 1000); err != nil || c.Verb != "NOOP" {
		t.Fatal(c, err)
	}
}

// FuzzReadReply: any bytes from a remote server give a reply or an error,
// never a panic, and a parsed reply re-reads to the same value.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"220 mx.test ESMTP\r\n",
		"250-mx.test\r\n250-PIPELINING\r\n250-SIZE 100\r\n250 DSN\r\n",
		"550 5.1.1 <a@b>: no such user\r\n",
		"451-4.3.0 a\r\n451 b\r\n",
		"250-\r\n250 \r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := bufio.NewReader(strings.NewReader(in))
		for i := 0; i < 10; i++ {
			rep, err := ReadReply(r)
			if err != nil {
				return
			}
			if rep.Code < 200 || rep.Code > 599 || len(rep.Lines) == 0 || len(rep.Lines) > MaxReplyLines {
				t.Fatalf("bad reply %+v", rep)
			}
			_ = Extensions(rep)
			_ = rep.String()
		}
	})
}

// FuzzParams: the DSN and BDAT parameter parsers never panic, and xtext
// round-trips.
func FuzzParams(f *testing.F) {
	for _, s := range []string{"rfc822;a+2Bb@c", "SUCCESS,DELAY", "10 LAST", "a+b=c", "+4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseNotify(s)
		ParseORcpt(s)
		ParseBDAT(s)
		if d, err := DecodeXtext(s); err == nil {
			if again, err := DecodeXtext(EncodeXtext(d)); err != nil || again != d {
				t.Fatalf("xtext round trip %q: %q %v", d, again, err)
			}
		}
		if d, err := DecodeXtext(EncodeXtext(s)); err != nil || d != s {
			t.Fatalf("encode/decode %q: %q %v", s, d, err)
		}
	})
}
