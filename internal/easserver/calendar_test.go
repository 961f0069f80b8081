package easserver_test

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

const berlinEvent = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:weekly-1\r\nDTSTAMP:20260101T000000Z\r\n" +
	"DTSTART;TZID=Europe/Berlin:20260105T100000\r\nDTEND;TZID=Europe/Berlin:20260105T110000\r\nRRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10\r\n" +
	"EXDATE;TZID=Europe/Berlin:20260112T100000\r\nSUMMARY:Team sync\r\nLOCATION:Room 1\r\nDESCRIPTION:Weekly.\r\n" +
	"ORGANIZER;CN=Alice:mailto:alice@acme.test\r\nATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@acme.test\r\nX-KEEP:yes\r\n" +
	"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:weekly-1\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260119T100000\r\n" +
	"DTSTART;TZID=Europe/Berlin:20260119T140000\r\nDTEND;TZID=Europe/Berlin:20260119T150000\r\nSUMMARY:Team sync (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

// Calendars: a recurring event stored by CalDAV reaches the device with
// its time zone blob, recurrence, exceptions, attendees and reminder;
// the device's edit keeps the event's zone and what EAS does not carry;
// an all-day event from the device is stored as dates.
func TestSyncCalendar(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "CALPHONE")
	d.provision()
	calF := e.folder("alice", store.SpecialCalendar)
	ctx := e.as("alice")
	if _, err := e.db.AppendItem(ctx, calF.ID, store.NewItem{Content: strings.NewReader(berlinEvent), Name: "weekly-1.ics", ObjectUID: "weekly-1"}); err != nil {
		t.Fatal(err)
	}
	if fs := d.folderSync("0"); !strings.Contains(fs.xml, "<ServerId>"+id(calF)+"</ServerId><ParentId>0</ParentId><DisplayName>"+calF.Name+"</DisplayName><Type>8</Type>") {
		t.Fatalf("no calendar in FolderSync: %s", fs.xml)
	}
	coll := id(calF)
	key := collection(d.sync(coll, "0", "")).ChildText("SyncKey")
	r := d.sync(coll, key, "")
	c := collection(r)
	add := c.Child("Commands").Child("Add")
	if add == nil {
		t.Fatalf("no event: %s", r.xml)
	}
	ad := add.Child("ApplicationData")
	for k, v := range map[string]string{"Subject": "Team sync", "StartTime": "20260105T090000Z", "EndTime": "20260105T100000Z",
		"Location": "Room 1", "UID": "weekly-1", "OrganizerEmail": "alice@acme.test", "Reminder": "15", "MeetingStatus": "1",
		"AllDayEvent": "0", "BusyStatus": "2"} {
		if got := ad.ChildText(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	blob, _ := base64.StdEncoding.DecodeString(ad.ChildText("TimeZone"))
	if len(blob) != 172 || int32(binary.LittleEndian.Uint32(blob[:4])) != -60 || binary.LittleEndian.Uint16(blob[68+2:]) != 10 ||
		binary.LittleEndian.Uint16(blob[152+2:]) != 3 || int32(binary.LittleEndian.Uint32(blob[168:])) != -60 {
		t.Errorf("Berlin's zone blob: %x", blob)
	}
	rec := ad.Child("Recurrence")
	if rec.ChildText("Type") != "1" || rec.ChildText("DayOfWeek") != "2" || rec.ChildText("Occurrences") != "10" {
		t.Errorf("recurrence: %s", r.xml)
	}
	exs := ad.Child("Exceptions").All("Exception")
	if len(exs) != 2 || exs[0].ChildText("Deleted") != "1" || exs[0].ChildText("ExceptionStartTime") != "20260112T090000Z" ||
		exs[1].ChildText("StartTime") != "20260119T130000Z" || exs[1].ChildText("Subject") != "Team sync (moved)" {
		t.Errorf("exceptions: %s", r.xml)
	}
	att := ad.Child("Attendees").Child("Attendee")
	if att.ChildText("Email") != "bob@acme.test" || att.ChildText("AttendeeStatus") != "3" {
		t.Errorf("attendee: %s", r.xml)
	}
	if ad.Child("Body").ChildText("Data") != "Weekly." {
		t.Errorf("body: %s", r.xml)
	}
	key = c.ChildText("SyncKey")
	// The device moves the series an hour later and renames it, in the
	// same zone; it adds an all-day event. (libwbxml names the recurrence
	// fields Recurrence_Type and so on; the tokens are [MS-ASWBXML]'s.)
	tz := ad.ChildText("TimeZone")
	r = d.do("Sync", `<Sync xmlns="AirSync:" xmlns:calendar="Calendar:" xmlns:airsyncbase="AirSyncBase:"><Collections><Collection><SyncKey>`+key+
		`</SyncKey><CollectionId>`+coll+`</CollectionId><Commands>`+
		`<Change><ServerId>`+add.ChildText("ServerId")+`</ServerId><ApplicationData><calendar:TimeZone>`+tz+`</calendar:TimeZone>`+
		`<calendar:AllDayEvent>0</calendar:AllDayEvent><calendar:StartTime>20260105T100000Z</calendar:StartTime><calendar:EndTime>20260105T110000Z</calendar:EndTime>`+
		`<calendar:Subject>Team sync (later)</calendar:Subject><calendar:Recurrence><calendar:Recurrence_Type>1</calendar:Recurrence_Type>`+
		`<calendar:Recurrence_DayOfWeek>2</calendar:Recurrence_DayOfWeek><calendar:Recurrence_Occurrences>10</calendar:Recurrence_Occurrences></calendar:Recurrence></ApplicationData></Change>`+
		`<Add><ClientId>c1</ClientId><ApplicationData><calendar:TimeZone>`+tz+`</calendar:TimeZone><calendar:AllDayEvent>1</calendar:AllDayEvent>`+
		`<calendar:StartTime>20260331T220000Z</calendar:StartTime><calendar:EndTime>20260401T220000Z</calendar:EndTime>`+
		`<calendar:Subject>Holiday</calendar:Subject><calendar:BusyStatus>0</calendar:BusyStatus></ApplicationData></Add>`+
		`</Commands></Collection></Collections></Sync>`)
	c = collection(r)
	if ra := c.Child("Responses").Child("Add"); ra == nil || ra.ChildText("Status") != "1" {
		t.Fatalf("device add: %s", r.xml)
	}
	objs := e.read("alice", calF)
	if len(objs) != 2 {
		t.Fatalf("%d events", len(objs))
	}
	var weekly, holiday string
	for _, o := range objs {
		if strings.Contains(o, "UID:weekly-1") {
			weekly = o
		} else {
			holiday = o
		}
	}
	for _, want := range []string{"DTSTART;TZID=Europe/Berlin:20260105T110000", "SUMMARY:Team sync (later)", "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10",
		"X-KEEP:yes", "ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@acme.test", "ORGANIZER", "RECURRENCE-ID"} {
		if !strings.Contains(weekly, want) {
			t.Errorf("edited event lacks %q:\n%s", want, weekly)
		}
	}
	for _, want := range []string{"DTSTART;VALUE=DATE:20260401", "DTEND;VALUE=DATE:20260402", "SUMMARY:Holiday", "TRANSP:TRANSPARENT"} {
		if !strings.Contains(holiday, want) {
			t.Errorf("device's event lacks %q:\n%s", want, holiday)
		}
	}
	// The index is right: a time-range query finds the holiday.
	items, err := e.db.ListObjects(ctx, calF.ID, store.ObjectQuery{Start: mustTime("2026-04-01T12:00:00Z"), End: mustTime("2026-04-01T13:00:00Z")})
	if err != nil || len(items) != 1 {
		t.Fatalf("time range: %v %v", items, err)
	}
}

// A calendar's FilterType does not hide events stored long ago (the mail
// age filter is by the message's date; a calendar's would be by the
// event's end).
func TestCalendarFilterType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "FILTERPHONE")
	d.provision()
	calF := e.folder("alice", store.SpecialCalendar)
	if _, err := e.db.AppendItem(e.as("alice"), calF.ID, store.NewItem{Content: strings.NewReader(berlinEvent), Name: "w.ics", ObjectUID: "weekly-1",
		InternalDate: mustTime("2020-01-01T00:00:00Z")}); err != nil {
		t.Fatal(err)
	}
	coll := id(calF)
	key := collection(d.sync(coll, "0", "")).ChildText("SyncKey")
	r := d.sync(coll, key, `<Options><FilterType>5</FilterType></Options>`)
	if collection(r).Child("Commands").Child("Add") == nil {
		t.Fatalf("an event stored in 2020 was filtered out: %s", r.xml)
	}
}

// Tasks: a VTODO from CalDAV reaches the device as the task class; the
// device completes it and adds another.
func TestSyncTasks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "TASKPHONE")
	d.provision()
	tf := e.folder("alice", store.SpecialTasks)
	todo := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTODO\r\nUID:t1\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:File taxes\r\n" +
		"DUE:20260415T170000Z\r\nPRIORITY:1\r\nDESCRIPTION:Before the deadline.\r\nX-KEEP:yes\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\n" +
		"DESCRIPTION:x\r\nTRIGGER:-PT1H\r\nEND:VALARM\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
	if _, err := e.db.AppendItem(e.as("alice"), tf.ID, store.NewItem{Content: strings.NewReader(todo), Name: "t1.ics", ObjectUID: "t1"}); err != nil {
		t.Fatal(err)
	}
	if fs := d.folderSync("0"); !strings.Contains(fs.xml, "<ServerId>"+id(tf)+"</ServerId><ParentId>0</ParentId><DisplayName>"+tf.Name+"</DisplayName><Type>7</Type>") {
		t.Fatalf("no task folder: %s", fs.xml)
	}
	coll := id(tf)
	key := collection(d.sync(coll, "0", "")).ChildText("SyncKey")
	r := d.sync(coll, key, "")
	c := collection(r)
	add := c.Child("Commands").Child("Add")
	ad := add.Child("ApplicationData")
	for k, v := range map[string]string{"Subject": "File taxes", "UtcDueDate": "2026-04-15T17:00:00.000Z", "Importance": "2", "Complete": "0",
		"ReminderSet": "1", "ReminderTime": "2026-04-15T16:00:00.000Z"} {
		if got := ad.ChildText(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	key = c.ChildText("SyncKey")
	// libwbxml spells [MS-ASWBXML]'s UtcDueDate "UTCDueDate"; same token.
	r = d.do("Sync", `<Sync xmlns="AirSync:" xmlns:tasks="Tasks:"><Collections><Collection><SyncKey>`+key+`</SyncKey><CollectionId>`+coll+
		`</CollectionId><Commands><Change><ServerId>`+add.ChildText("ServerId")+`</ServerId><ApplicationData><tasks:Subject>File taxes</tasks:Subject>`+
		`<tasks:Complete>1</tasks:Complete><tasks:DateCompleted>2026-04-01T10:00:00.000Z</tasks:DateCompleted><tasks:UTCDueDate>2026-04-15T17:00:00.000Z</tasks:UTCDueDate>`+
		`</ApplicationData></Change><Add><ClientId>n1</ClientId><ApplicationData><tasks:Subject>Buy milk</tasks:Subject><tasks:Complete>0</tasks:Complete>`+
		`<tasks:UTCDueDate>2026-04-02T08:00:00.000Z</tasks:UTCDueDate></ApplicationData></Add></Commands></Collection></Collections></Sync>`)
	if ra := collection(r).Child("Responses").Child("Add"); ra == nil || ra.ChildText("Status") != "1" {
		t.Fatalf("device add: %s", r.xml)
	}
	var done, milk string
	for _, s := range e.read("alice", tf) {
		if strings.Contains(s, "UID:t1") {
			done = s
		} else {
			milk = s
		}
	}
	for _, want := range []string{"STATUS:COMPLETED", "COMPLETED:20260401T100000Z", "X-KEEP:yes", "DESCRIPTION:Before the deadline."} {
		if !strings.Contains(done, want) {
			t.Errorf("completed task lacks %q:\n%s", want, done)
		}
	}
	for _, want := range []string{"BEGIN:VTODO", "SUMMARY:Buy milk", "DUE:20260402T080000Z", "STATUS:NEEDS-ACTION"} {
		if !strings.Contains(milk, want) {
			t.Errorf("new task lacks %q:\n%s", want, milk)
		}
	}
}

// Notes: a VJOURNAL reaches the device as the notes class; the device's
// new note becomes a VJOURNAL.
func TestSyncNotes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "NOTEPHONE")
	d.provision()
	ctx := e.as("alice")
	st, _ := e.db.UserStore(ctx, "alice")
	var nf *store.Folder
	fs, _ := e.db.ListFolders(ctx, st.ID)
	for _, f := range fs {
		if f.Type == store.FolderNotes {
			nf = f
		}
	}
	if nf == nil {
		var err error
		if nf, err = e.db.CreateFolder(ctx, st.ID, 0, "Notes", store.FolderNotes); err != nil {
			t.Fatal(err)
		}
	}
	j := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VJOURNAL\r\nUID:n1\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Ideas\r\n" +
		"DESCRIPTION:one\\ntwo\r\nCATEGORIES:Work\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n"
	if _, err := e.db.AppendItem(ctx, nf.ID, store.NewItem{Content: strings.NewReader(j), Name: "n1.ics", ObjectUID: "n1"}); err != nil {
		t.Fatal(err)
	}
	coll := id(nf)
	key := collection(d.sync(coll, "0", "")).ChildText("SyncKey")
	r := d.sync(coll, key, "")
	c := collection(r)
	ad := c.Child("Commands").Child("Add").Child("ApplicationData")
	if ad.ChildText("Subject") != "Ideas" || ad.ChildText("MessageClass") != "IPM.StickyNote" || ad.Child("Body").ChildText("Data") != "one\ntwo" {
		t.Fatalf("note: %s", r.xml)
	}
	key = c.ChildText("SyncKey")
	r = d.do("Sync", `<Sync xmlns="AirSync:" xmlns:notes="Notes:" xmlns:airsyncbase="AirSyncBase:"><Collections><Collection><SyncKey>`+key+`</SyncKey><CollectionId>`+coll+
		`</CollectionId><Commands><Add><ClientId>n2</ClientId><ApplicationData><notes:Subject>Shopping</notes:Subject>`+
		`<airsyncbase:Body><airsyncbase:Type>1</airsyncbase:Type><airsyncbase:Data>eggs</airsyncbase:Data></airsyncbase:Body></ApplicationData></Add></Commands></Collection></Collections></Sync>`)
	if ra := collection(r).Child("Responses").Child("Add"); ra == nil || ra.ChildText("Status") != "1" {
		t.Fatalf("device add: %s", r.xml)
	}
	all := strings.Join(e.read("alice", nf), "\n")
	if !strings.Contains(all, "BEGIN:VJOURNAL") || !strings.Contains(all, "SUMMARY:Shopping") || !strings.Contains(all, "DESCRIPTION:eggs") {
		t.Fatalf("notes:\n%s", all)
	}
}
