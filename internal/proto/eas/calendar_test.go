package eas

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/wbxml"
)

// The zone blob of a zone without DST has only the bias; New York's has
// March's second Sunday and November's first at 2:00.
func TestTimeZoneBlob(t *testing.T) {
	t.Parallel()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skip("no zoneinfo")
	}
	b, _ := base64.StdEncoding.DecodeString(TimeZoneBlob(tokyo, 2026))
	if len(b) != 172 || int32(uint32(b[0])|uint32(b[1])<<8|uint32(b[2])<<16|uint32(b[3])<<24) != -540 || b[70] != 0 || b[154] != 0 {
		t.Fatalf("Tokyo: %x", b)
	}
	ny, _ := time.LoadLocation("America/New_York")
	b, _ = base64.StdEncoding.DecodeString(TimeZoneBlob(ny, 2026))
	// StandardDate at 68: month 11, Sunday, week 1, 2:00; DaylightDate
	// at 152: month 3, Sunday, week 2, 2:00; DaylightBias -60.
	if b[70] != 11 || b[72] != 0 || b[74] != 1 || b[76] != 2 || b[154] != 3 || b[156] != 0 || b[158] != 2 || b[160] != 2 ||
		int32(uint32(b[168])|uint32(b[169])<<8|uint32(b[170])<<16|uint32(b[171])<<24) != -60 {
		t.Fatalf("New York: %x", b)
	}
	if !sameZoneBlob(TimeZoneBlob(ny, 2026), TimeZoneBlob(ny, 2027)) {
		t.Fatal("the same rules in 2026 and 2027 compare different")
	}
	if sameZoneBlob(TimeZoneBlob(ny, 2026), TimeZoneBlob(tokyo, 2026)) {
		t.Fatal("New York equals Tokyo")
	}
}

func FuzzEvent(f *testing.F) {
	f.Add([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20260101T000000Z\r\n" +
		"DTSTART;TZID=Europe/Berlin:20260105T100000\r\nRRULE:FREQ=MONTHLY;BYDAY=-1FR\r\nEXDATE:20260130T090000Z\r\n" +
		"ATTENDEE;PARTSTAT=DECLINED:mailto:b@x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := ical.Decode(data, ical.Limits{MaxBytes: 1 << 16})
		if err != nil {
			return
		}
		fields, note, ok := EventData(obj, func(string) bool { return false })
		if !ok {
			return
		}
		ad := wbxml.El(AirSync, "ApplicationData", fields...)
		if _, err := Encode(ad); err != nil {
			t.Fatalf("event data does not encode: %v", err)
		}
		if strings.Contains(note, "\x00") {
			return
		}
		if err := ApplyEvent(obj, ad, note, true, "x"); err != nil {
			return
		}
		b, err := ical.Marshal(obj)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := ical.Decode(b, ical.Limits{}); err != nil {
			t.Fatalf("the written event does not parse: %v\n%s", err, b)
		}
	})
}

func FuzzTask(f *testing.F) {
	f.Add([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTODO\r\nUID:t\r\nDTSTAMP:20260101T000000Z\r\n" +
		"DUE;VALUE=DATE:20260415\r\nPRIORITY:9\r\nSTATUS:COMPLETED\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;RELATED=START:-PT5M\r\n" +
		"END:VALARM\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := ical.Decode(data, ical.Limits{MaxBytes: 1 << 16})
		if err != nil {
			return
		}
		fields, note, ok := TaskData(obj)
		if !ok {
			return
		}
		ad := wbxml.El(AirSync, "ApplicationData", fields...)
		if _, err := Encode(ad); err != nil {
			t.Fatalf("task data does not encode: %v", err)
		}
		ApplyTask(obj, ad, note, true, "x")
		b, err := ical.Marshal(obj)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := ical.Decode(b, ical.Limits{}); err != nil {
			t.Fatalf("the written task does not parse: %v\n%s", err, b)
		}
	})
}
