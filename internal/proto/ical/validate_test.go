package ical

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	good := "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDTEND:20240101T110000Z\nRRULE:FREQ=DAILY\nEND:VEVENT\n"
	if err := Validate(calendar(t, good)); err != nil {
		t.Errorf("good: %v", err)
	}
	for _, body := range []string{
		"BEGIN:VEVENT\nDTSTART:20240101T100000Z\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:a\nDTSTART:2024\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nRRULE:FREQ=NEVER\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:a\nRRULE:FREQ=DAILY\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDTEND:20230101T100000Z\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:a\nDTSTART;VALUE=DATE:20240101\nDTEND:20240102T100000Z\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nEND:VEVENT\nBEGIN:VEVENT\nUID:b\nDTSTART:20240101T100000Z\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nEND:VEVENT\nBEGIN:VTODO\nUID:a\nEND:VTODO\n",
		"BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDURATION:1H\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nEXDATE:x\nEND:VEVENT\n",
	} {
		if err := Validate(calendar(t, body)); err == nil {
			t.Errorf("no error for %q", strings.ReplaceAll(body, "\n", " "))
		}
	}
	if err := Validate(&Component{Name: VEvent}); err == nil {
		t.Error("non-VCALENDAR root accepted")
	}
}
