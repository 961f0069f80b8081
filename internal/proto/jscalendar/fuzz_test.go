package jscalendar

import (
	"encoding/json"
	"testing"

	"github.com/roost-mail/roost/internal/proto/ical"
)

// FuzzFromICal: any calendar the parser accepts converts without a
// panic, and what it converts to converts back to a calendar that parses
// and converts to the same object.
func FuzzFromICal(f *testing.F) {
	for _, s := range []string{rich, allDay, task, utcEvent, orphan} {
		f.Add(crlf(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cal, err := ical.Decode(b, ical.Limits{MaxBytes: 64 << 10})
		if err != nil {
			return
		}
		o, err := FromICal(cal)
		if err != nil {
			return
		}
		o = roundJSON(t, o)
		back, err := ToICal(o, now, Limits{})
		if err != nil {
			return // FromICal reads more leniently than ToICal writes
		}
		out, err := ical.Marshal(back)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := ical.Decode(out, ical.Limits{}); err != nil {
			t.Fatalf("written calendar does not parse: %v\n%s", err, out)
		}
		Merge(cal, back, now)
	})
}

// FuzzToICal: any JSON object converts or is refused with a PropError,
// and what converts writes a calendar that parses.
func FuzzToICal(f *testing.F) {
	f.Add([]byte(`{"@type":"Event","uid":"u","start":"2026-01-01T10:00:00","timeZone":"Europe/Berlin","duration":"PT1H",
		"recurrenceRules":[{"@type":"RecurrenceRule","frequency":"weekly","byDay":[{"day":"mo"}]}],
		"recurrenceOverrides":{"2026-01-08T10:00:00":{"title":"x"},"2026-01-15T10:00:00":{"excluded":true}},
		"participants":{"a":{"roles":{"owner":true,"attendee":true},"sendTo":{"imip":"mailto:a@x.test"}}},
		"alarms":{"k":{"trigger":{"offset":"-PT5M"}}},"iCalProps":[["x-a",{"x-p":"1"},"unknown","v"]]}`))
	f.Add([]byte(`{"@type":"Task","uid":"t","due":"2026-01-01T10:00:00","progress":"completed"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var o Object
		if json.Unmarshal(b, &o) != nil || o == nil {
			return
		}
		cal, err := ToICal(o, now, Limits{MaxEntries: 50, MaxOverrides: 50, MaxParticipants: 50})
		if err != nil {
			if _, ok := err.(*PropError); !ok {
				t.Fatalf("error %T %v is not a PropError", err, err)
			}
			return
		}
		out, err := ical.Marshal(cal)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := ical.Decode(out, ical.Limits{}); err != nil {
			t.Fatalf("written calendar does not parse: %v\n%s", err, out)
		}
		if _, err := FromICal(cal); err != nil {
			t.Fatalf("FromICal of ToICal: %v", err)
		}
	})
}
