package groupware

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/proto/ical"
)

// TestUnchangedLiberal: re-uploading a stored object that the server
// reads with liberties (ical.Normalize) is no change, so nothing is
// scheduled again.
func TestUnchangedLiberal(t *testing.T) {
	t.Parallel()
	old := strings.ReplaceAll(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:u1
DTSTAMP:20240101T000000Z
DTSTART:20240110T100000Z
DURATION:P1DT
ORGANIZER:mailto:alice@acme.test
ATTENDEE;SCHEDULE-STATUS=1.2:mailto:bob@acme.test
END:VEVENT
END:VCALENDAR
`, "\n", "\r\n")
	again := strings.Replace(old, ";SCHEDULE-STATUS=1.2", "", 1)
	cal, err := ical.Decode([]byte(again), ical.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ical.Normalize(cal) // as davserver's prepare does
	if !Unchanged([]byte(old), cal) {
		t.Errorf("re-upload of a liberal object counted as a change")
	}
	if ScheduleTag(cal, nil) != ScheduleTag(mustDecode(t, old), nil) {
		t.Errorf("normalized and stored forms have different Schedule-Tags")
	}
}

func mustDecode(t *testing.T, s string) *ical.Component {
	t.Helper()
	c, err := ical.Decode([]byte(s), ical.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
