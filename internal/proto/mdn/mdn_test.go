package mdn

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// rfcExample is the disposition-notification part of RFC 8098 §9's
// example, with an extension field and a folded line added.
const rfcExample = "Reporting-UA: joes-pc.cs.example.com; Foomail 97.1\r\n" +
	"Original-Recipient: rfc822;Joe_Recipient@example.com\r\n" +
	"Final-Recipient: rfc822;Joe_Recipient@example.com\r\n" +
	"Original-Message-ID: <199509192301.23456@example.org>\r\n" +
	"Disposition: manual-action/MDN-sent-manually;\r\n displayed\r\n" +
	"X-Extra: one\r\n"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want *Report
		err  bool
	}{
		{"rfc", rfcExample, &Report{
			ReportingUA: "joes-pc.cs.example.com; Foomail 97.1", OriginalRecipient: "rfc822;Joe_Recipient@example.com",
			FinalRecipient: "rfc822;Joe_Recipient@example.com", OriginalMessageID: "<199509192301.23456@example.org>",
			Disposition: Disposition{"manual-action", "mdn-sent-manually", "displayed"}, Extensions: map[string]string{"X-Extra": "one"}}, false},
		{"comments and modifiers", "Final-Recipient: rfc822; a@b\nDisposition: automatic-action (x)/MDN-sent-automatically; deleted/error\nError: e1\nError: e2\n",
			&Report{FinalRecipient: "rfc822; a@b", Disposition: Disposition{"automatic-action", "mdn-sent-automatically", "deleted"}, Errors: []string{"e1", "e2"}}, false},
		{"no disposition", "Final-Recipient: rfc822; a@b\n", nil, true},
		{"no final recipient", "Disposition: manual-action/MDN-sent-manually; displayed\n", nil, true},
		{"bad type", "Final-Recipient: rfc822; a@b\nDisposition: manual-action/MDN-sent-manually; eaten\n", nil, true},
		{"not fields", "hello world\n", nil, true},
		{"leading continuation", " x\nFinal-Recipient: a\n", nil, true},
		{"too large", "Final-Recipient: a\nX: " + strings.Repeat("a", MaxFieldsSize) + "\n", nil, true},
		{"too many fields", strings.Repeat("X: a\n", MaxFields+1), nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if tc.err {
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("got %v, %v; want ErrSyntax", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			again, err := Parse(got.Format())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip: %+v, %v\n%s", again, err, got.Format())
			}
		})
	}
}

func TestErrorsBounded(t *testing.T) {
	in := "Final-Recipient: a\nDisposition: manual-action/MDN-sent-manually; displayed\n" + strings.Repeat("Error: x\n", 100)
	r, err := Parse([]byte(in))
	if err != nil || len(r.Errors) != MaxErrors {
		t.Fatalf("%v %v", r, err)
	}
}

// Format never writes a field a value could inject, nor an extension
// named like a standard field.
func TestFormatInjection(t *testing.T) {
	r := &Report{FinalRecipient: "rfc822; a@b\r\nBcc: x@y", Disposition: Disposition{"manual-action", "mdn-sent-manually", "displayed"},
		Extensions: map[string]string{"Disposition": "automatic-action/MDN-sent-automatically; deleted", "X-Ok": "v\nInjected: 1", "Bad Name": "z"}}
	out := string(r.Format())
	for _, bad := range []string{"\nBcc:", "\nInjected:", "Bad Name", "deleted"} {
		if strings.Contains(out, bad) {
			t.Fatalf("%q in\n%s", bad, out)
		}
	}
	if _, err := Parse([]byte(out)); err != nil {
		t.Fatal(err)
	}
}

func TestBuild(t *testing.T) {
	r := &Report{ReportingUA: "roost", FinalRecipient: "rfc822; bob@acme.test", OriginalMessageID: "<m1@acme.test>",
		Disposition: Disposition{"manual-action", "mdn-sent-manually", "displayed"}}
	b := string(Build(Message{From: "bob@acme.test", To: "alice@acme.test", Subject: "Gelesen: Grüße", MessageID: "x@acme.test",
		InReplyTo: "m1@acme.test", Text: "read\n", Report: r, Original: []byte("Subject: hi\r\n\r\nbody\r\n")}))
	for _, want := range []string{"Content-Type: multipart/report; report-type=disposition-notification;", "Subject: =?utf-8?q?",
		"Content-Type: message/disposition-notification\r\n\r\nReporting-UA: roost\r\n", "Content-Type: message/rfc822\r\n\r\nSubject: hi",
		"In-Reply-To: <m1@acme.test>"} {
		if !strings.Contains(b, want) {
			t.Fatalf("no %q in\n%s", want, b)
		}
	}
	if strings.Contains(b, "Auto-Submitted") {
		t.Fatal("a manual MDN is not auto-submitted")
	}
}

// FuzzParse: parse → format → parse gives the same report, and Parse
// never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(rfcExample))
	f.Add([]byte("Final-Recipient: rfc822; a@b\nDisposition: automatic-action/MDN-sent-automatically; deleted/error\nError: e\n\nX-A: 1\n"))
	f.Add([]byte("Final-Recipient:\n Disposition: manual-action/MDN-sent-manually; displayed"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		out := r.Format()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("formatted report does not parse: %v\n%q", err, out)
		}
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip differs:\n%+v\n%+v", r, again)
		}
	})
}
