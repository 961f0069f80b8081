package easserver_test

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/easserver"
	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/store"
)

// A meeting bob organises (stored as CalDAV stores it, through the
// scheduler) reaches alice's phone as a received meeting; she accepts on
// the phone, and bob's copy — what CalDAV serves him — shows her
// acceptance.
func TestMeetingResponse(t *testing.T) {
	t.Parallel()
	var sched *groupware.Scheduler
	e := newEnv(t, func(o *easserver.Options) {
		sched = &groupware.Scheduler{Store: o.Store, Zones: &ical.ZoneCache{}}
		o.Scheduler = sched
	})
	inv := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:lunch-1\r\nDTSTAMP:20260101T000000Z\r\n" +
		"DTSTART:20260210T120000Z\r\nDTEND:20260210T130000Z\r\nSUMMARY:Lunch\r\nORGANIZER;CN=Bob:mailto:bob@acme.test\r\n" +
		"ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@acme.test\r\nATTENDEE;CN=Alice;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@acme.test\r\n" +
		"END:VEVENT\r\nEND:VCALENDAR\r\n"
	bobCal := e.folder("bob", store.SpecialCalendar)
	bctx := e.as("bob")
	if _, err := e.db.AppendItem(bctx, bobCal.ID, store.NewItem{Content: strings.NewReader(inv), Name: "lunch-1.ics", ObjectUID: "lunch-1"}); err != nil {
		t.Fatal(err)
	}
	obj, _ := ical.Decode([]byte(inv), ical.Limits{})
	bst, _ := e.db.UserStore(bctx, "bob")
	sched.AfterPut(bctx, groupware.PutEvent{Owner: bst, Folder: bobCal, Name: "lunch-1.ics", New: obj})

	d := e.device("alice", "MEETPHONE")
	d.provision()
	// The scheduler's schedule inbox (a notes folder) is not offered.
	if fs := d.folderSync("0"); strings.Contains(fs.xml, groupware.ScheduleInboxName) {
		t.Fatalf("the schedule inbox in FolderSync: %s", fs.xml)
	}
	calF := e.folder("alice", store.SpecialCalendar)
	coll := id(calF)
	key := collection(d.sync(coll, "0", "")).ChildText("SyncKey")
	r := d.sync(coll, key, "")
	add := collection(r).Child("Commands").Child("Add")
	if add == nil || add.Child("ApplicationData").ChildText("MeetingStatus") != "3" || add.Child("ApplicationData").ChildText("OrganizerEmail") != "bob@acme.test" {
		t.Fatalf("the invitation on alice's phone: %s", r.xml)
	}
	r = d.do("MeetingResponse", `<MeetingResponse xmlns="MeetingResponse:"><Request><UserResponse>1</UserResponse><CollectionId>`+coll+
		`</CollectionId><RequestId>`+add.ChildText("ServerId")+`</RequestId></Request></MeetingResponse>`)
	res := r.n.Child("Result")
	if res.ChildText("Status") != "1" || !strings.HasPrefix(res.ChildText("CalendarId"), coll+":") {
		t.Fatalf("MeetingResponse: %s", r.xml)
	}
	got := e.read("bob", bobCal)
	if len(got) != 1 || !strings.Contains(strings.ReplaceAll(got[0], "\r\n ", ""), "PARTSTAT=ACCEPTED:mailto:alice@acme.test") {
		t.Fatalf("bob's copy:\n%s", got)
	}
	mine := e.read("alice", calF)
	if len(mine) != 1 || !strings.Contains(strings.ReplaceAll(mine[0], "\r\n ", ""), "PARTSTAT=ACCEPTED:mailto:alice@acme.test") || strings.Contains(mine[0], "RSVP") {
		t.Fatalf("alice's copy:\n%s", mine)
	}
	// Not an attendee, not a meeting: status 2.
	if r := d.do("MeetingResponse", `<MeetingResponse xmlns="MeetingResponse:"><Request><UserResponse>1</UserResponse><CollectionId>`+coll+
		`</CollectionId><RequestId>`+coll+`:99999</RequestId></Request></MeetingResponse>`); r.n.Child("Result").ChildText("Status") != "2" {
		t.Fatalf("unknown meeting: %s", r.xml)
	}
}

// ResolveRecipients: a name resolves within the tenant, with bob's
// free/busy per half hour from his calendar; ambiguous and unknown names
// say so; another tenant's user is unknown.
func TestResolveRecipients(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "RESOLVEPHONE")
	d.provision()
	ev := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:b1\r\nDTSTAMP:20260101T000000Z\r\n" +
		"DTSTART:20260210T120000Z\r\nDTEND:20260210T130000Z\r\nSUMMARY:Busy\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	bobCal := e.folder("bob", store.SpecialCalendar)
	if _, err := e.db.AppendItem(e.as("bob"), bobCal.ID, store.NewItem{Content: strings.NewReader(ev), Name: "b1.ics", ObjectUID: "b1",
		Start: mustTime("2026-02-10T12:00:00Z"), End: mustTime("2026-02-10T13:00:00Z")}); err != nil {
		t.Fatal(err)
	}
	r := d.do("ResolveRecipients", `<ResolveRecipients xmlns="ResolveRecipients:"><To>bob@acme.test</To><To>acme</To><To>nobody-here</To><To>eve@globex.test</To>`+
		`<Options><Availability><StartTime>2026-02-10T10:00:00.000Z</StartTime><EndTime>2026-02-10T14:00:00.000Z</EndTime></Availability></Options></ResolveRecipients>`)
	rs := r.n.All("Response")
	if r.n.ChildText("Status") != "1" || len(rs) != 4 {
		t.Fatalf("ResolveRecipients: %s", r.xml)
	}
	bob := rs[0].Child("Recipient")
	if rs[0].ChildText("Status") != "1" || bob.ChildText("EmailAddress") != "bob@acme.test" ||
		bob.Child("Availability").ChildText("MergedFreeBusy") != "00002200" {
		t.Fatalf("bob: %s", r.xml)
	}
	if rs[1].ChildText("Status") != "2" || rs[1].ChildText("RecipientCount") != "2" {
		t.Fatalf("ambiguous: %s", r.xml)
	}
	if rs[2].ChildText("Status") != "4" || rs[3].ChildText("Status") != "4" {
		t.Fatalf("unknown and other tenant: %s", r.xml)
	}
}
