package groupware

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestBuildIMIPAndCalendarPart(t *testing.T) {
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:x1\r\nSUMMARY:Budget\\, Q3 review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	msg := BuildIMIP("org@acme.test", []string{"a@remote.test", "b@remote.test"}, "request", []byte(ics), "mx.acme.test",
		time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	s := string(msg)
	for _, want := range []string{"From: <org@acme.test>\r\n", "To: <a@remote.test>, <b@remote.test>\r\n",
		"Subject: Invitation: Budget, Q3 review\r\n", "Content-Type: text/calendar; charset=utf-8; method=REQUEST\r\n",
		"@mx.acme.test>\r\n", "\r\n\r\nBEGIN:VCALENDAR\r\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("iMIP message lacks %q:\n%s", want, s)
		}
	}
	got, err := CalendarPart(msg)
	if err != nil || string(got) != ics {
		t.Fatalf("CalendarPart = %q, %v", got, err)
	}
	// A client's multipart/alternative with a base64 calendar part.
	mp := "From: x@remote.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n" +
		"Content-Type: text/plain\r\n\r\nYou are invited.\r\n--b\r\nContent-Type: text/calendar; method=REPLY; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte(ics)) + "\r\n--b--\r\n"
	if got, err := CalendarPart([]byte(mp)); err != nil || string(got) != ics {
		t.Fatalf("CalendarPart of multipart = %q, %v", got, err)
	}
	if got, err := CalendarPart([]byte("Subject: hi\r\n\r\nno calendar\r\n")); err != nil || got != nil {
		t.Fatalf("CalendarPart of plain mail = %q, %v", got, err)
	}
	// Header injection through SUMMARY is impossible: controls are dropped.
	evil := strings.Replace(ics, "Budget\\, Q3 review", "x\rBcc: victim@remote.test", 1)
	if m := string(BuildIMIP("o@acme.test", []string{"a@r.test"}, "CANCEL", []byte(evil), "h", time.Now())); strings.Contains(m, "\r\nBcc:") {
		t.Fatalf("header injected:\n%s", m)
	}
}
