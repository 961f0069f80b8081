package mime

import (
	"reflect"
	"testing"
)

func TestParseAddressList(t *testing.T) {
	t.Parallel()
	mb := func(name, adl, mailbox, host string) Address {
		return Address{Name: name, Adl: adl, Mailbox: mailbox, Host: host}
	}
	gs := func(name string) Address { return Address{Kind: AddrGroupStart, Mailbox: name} }
	ge := Address{Kind: AddrGroupEnd}
	tests := []struct {
		in   string
		want []Address
	}{
		{"", nil},
		{"   ", nil},
		{"john@example.com", []Address{mb("", "", "john", "example.com")}},
		{"John Doe <john@example.com>", []Address{mb("John Doe", "", "john", "example.com")}},
		{`"Doe, John" <john@example.com>, jane@example.org`, []Address{mb("Doe, John", "", "john", "example.com"), mb("", "", "jane", "example.org")}},
		{"john@example.com (John Doe)", []Address{mb("John Doe", "", "john", "example.com")}},
		{"<john@example.com>", []Address{mb("", "", "john", "example.com")}},
		{`"" <john@example.com>`, []Address{mb("", "", "john", "example.com")}},
		// RFC 5322 Appendix A.1.3
		{`A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;`, []Address{
			gs("A Group"), mb("Ed Jones", "", "c", "a.test"), mb("", "", "joe", "where.test"), mb("John", "", "jdoe", "one.test"), ge}},
		{"Undisclosed recipients:;", []Address{gs("Undisclosed recipients"), ge}},
		{"undisclosed-recipients:", []Address{gs("undisclosed-recipients"), ge}},
		// RFC 5322 Appendix A.5 (comments, white space)
		{"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", []Address{mb("Pete", "", "pete", "silly.test")}},
		{"A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
			[]Address{gs("A Group"), mb("Chris Jones", "", "c", "public.example"), mb("", "", "joe", "example.org"), mb("John", "", "jdoe", "one.test"), ge}},
		// RFC 5322 Appendix A.6.1: obsolete route and dots in phrase
		{"Joe Q. Public <@machine.tld,@other.tld:john.q.public@example.com>", []Address{mb("Joe Q. Public", "@machine.tld,@other.tld", "john.q.public", "example.com")}},
		{`"john doe"@example.com`, []Address{mb("", "", "john doe", "example.com")}},
		{"john@[192.0.2.1]", []Address{mb("", "", "john", "[192.0.2.1]")}},
		{"=?utf-8?q?J=C3=B6rg?= <j@x.de>", []Address{mb("=?utf-8?q?J=C3=B6rg?=", "", "j", "x.de")}},
		// malformed
		{"root", []Address{mb("", "", "root", MissingDomain)}},
		{"@example.com", []Address{mb("", "", MissingMailbox, "example.com")}},
		{"<>", []Address{mb("", "", MissingMailbox, MissingDomain)}},
		{"a@b,,, c@d", []Address{mb("", "", "a", "b"), mb("", "", "c", "d")}},
		{"a@b junk junk, c@d", []Address{mb("", "", "a", "b"), mb("", "", "c", "d")}},
		{"John <john@example.com", []Address{mb("John", "", "john", "example.com")}},
		{"g: a@b", []Address{gs("g"), mb("", "", "a", "b"), ge}},
		{">>><<<", []Address{mb("", "", MissingMailbox, MissingDomain)}},
		{`"unterminated`, []Address{mb("", "", "unterminated", MissingDomain)}},
	}
	for _, tt := range tests {
		if got := ParseAddressList(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseAddressList(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestEnvelope(t *testing.T) {
	t.Parallel()
	msg := crlf(`Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)
From: Terry Gray <gray@cac.washington.edu>
Subject: =?utf-8?q?IMAP4rev2?= WG mtg summary and minutes
To: imap@cac.washington.edu
cc: minutes@CNRI.Reston.VA.US,
 John Klensin <KLENSIN@MIT.EDU>
Message-Id: <B27397-0100000@cac.washington.edu>
In-Reply-To: <prev@example.com>
Sender: 

body
`)
	e := Envelope(mustParse(t, msg))
	got := string(AppendValue(nil, e.List(), false))
	// RFC 9051 §7.4.2 example, with our raw subject, In-Reply-To and a
	// Sender field that is present but empty (which means From).
	want := `("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "=?utf-8?q?IMAP4rev2?= WG mtg summary and minutes" (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL "<prev@example.com>" "<B27397-0100000@cac.washington.edu>")`
	if got != want {
		t.Errorf("ENVELOPE\n got %s\nwant %s", got, want)
	}
	empty := string(AppendValue(nil, Envelope(mustParse(t, "")).List(), false))
	if empty != "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)" {
		t.Errorf("empty envelope %s", empty)
	}
}
