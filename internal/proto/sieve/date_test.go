package sieve

import (
	"strings"
	"testing"
	"time"
)

const msgDate = `From: boss@example.com
To: me@example.com
Date: Tue, 3 Jul 2007 10:15:00 -0700
Received: from mx.example.com by mail.example.com; Sat, 7 Jul 2007 23:00:00 +0000
Subject: hi

x
`

// RFC 5260 §4, §5 and §6 examples.
func TestDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2007, 7, 2, 12, 0, 0, 0, time.UTC)
	cases := []struct{ name, script, want string }{
		{"office hours", `require ["date", "relational", "fileinto"];
if allof(header :is "from" "boss@example.com",
         date :value "ge" :originalzone "date" "hour" "09",
         date :value "lt" :originalzone "date" "hour" "17")
{ fileinto "urgent"; }`, "fileinto urgent"},
		{"default zone", `require ["date", "fileinto"]; if date :is "date" "hour" "17" { fileinto "utc"; }`, "fileinto utc"},
		{"zone", `require ["date", "fileinto"]; if date :zone "+0200" "date" "time" "19:15:00" { fileinto "z"; }`, "fileinto z"},
		{"weekend", `require ["date", "fileinto"];
if anyof(date :is "received" "weekday" "0",
         date :is "received" "weekday" "6")
{ fileinto "weekend"; }`, "fileinto weekend"},
		{"vacation window", `require ["date", "relational", "vacation"];
if allof(currentdate :value "ge" "date" "2007-06-30",
         currentdate :value "le" "date" "2007-07-07")
{ vacation :days 7  "I'm away during the first week in July."; }`, `vacation "I'm away during the first week in July."; implicit keep`},
		{"variables", `require ["date", "variables", "fileinto"];
if currentdate :matches "month" "*" { set "month" "${1}"; }
if currentdate :matches "year"  "*" { set "year" "${1}"; }
fileinto "${month}-${year}";`, "fileinto 07-2007"},
		{"parts", `require ["date", "variables", "fileinto"];
if currentdate :matches "julian" "*" { set "j" "${0}"; }
if currentdate :matches "iso8601" "*" { set "i" "${0}"; }
if currentdate :matches "std11" "*" { set "s" "${0}"; }
if currentdate :zone "-0130" :matches "zone" "*" { set "z" "${0}"; }
fileinto "${j}|${i}|${s}|${z}";`, "fileinto 54283|2007-07-02T12:00:00+00:00|Mon, 02 Jul 2007 12:00:00 +0000|-0130"},
		{"missing header", `require ["date", "fileinto"]; if date :is "x-none" "year" "2007" { fileinto "n"; }`, "implicit keep"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse([]byte(tc.script), Limits{})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			res, err := Run(s, newMsg(t, msgDate), Env{Now: now})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if got := summary(res); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	for _, bad := range []struct{ script, want string }{
		{`require "date"; if date :is "date" "fortnight" "1" { keep; }`, `date part "fortnight" is unknown`},
		{`require "date"; if date :zone "CET" "date" "year" "1" { keep; }`, `time zone "CET" is not of the form`},
		{`if currentdate "year" "1" { keep; }`, `needs the "date" extension`},
	} {
		if _, err := Parse([]byte(bad.script), Limits{}); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: err = %v, want %q", bad.script, err, bad.want)
		}
	}
}
