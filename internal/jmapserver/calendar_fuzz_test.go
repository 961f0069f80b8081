package jmapserver_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/davserver"
	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// FuzzGroupwareAPI feeds calendar and contact method calls to the live
// API over a store holding a recurring event and a card: every answer is
// JSON, never a 500 or a serverFail, whatever the JSCalendar or JSContact.
func FuzzGroupwareAPI(f *testing.F) {
	s := testenv.Open(f, testenv.Options{Backend: testenv.SQLite, BlobGrace: -1})
	s.Tenants(f, "acme")
	s.User(f, "acme", store.User{Login: "alice", Active: true}, password("alice"))
	dav := httptest.NewServer(davserver.New(davserver.Options{Store: s.DB, Logger: testLogger(), Authenticate: authenticator(s.DB)}))
	defer dav.Close()
	ctx := testenv.As(f, s.DB, "alice")
	cal := testenv.Folder(f, ctx, s.DB, "alice", store.SpecialCalendar)
	ab := testenv.Folder(f, ctx, s.DB, "alice", store.SpecialContacts)
	put := func(path, body string) {
		req, _ := http.NewRequest("PUT", dav.URL+path, strings.NewReader(body))
		req.SetBasicAuth("alice", password("alice"))
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 201 {
			f.Fatalf("PUT %s: %v %v", path, err, res)
		}
		res.Body.Close()
	}
	put("/dav/calendars/alice/"+cal.Name+"/w.ics", crlfs(weeklyICS))
	put("/dav/addressbooks/alice/"+ab.Name+"/c.vcf", crlfs("BEGIN:VCARD\nVERSION:3.0\nUID:c1\nFN:Carl\nN:Carl;;;;\nEMAIL:c@x.test\nEND:VCARD\n"))
	st, err := s.DB.UserStore(ctx, "alice")
	if err != nil {
		f.Fatal(err)
	}
	acct := fmt.Sprintf("A%d", st.ID)
	c, b := fmt.Sprintf("C%d", cal.ID), fmt.Sprintf("B%d", ab.ID)
	h := jmapserver.New(jmapserver.Options{Store: s.DB, Logger: testLogger(), Authenticate: authenticator(s.DB)})
	for _, calls := range []string{
		`[["CalendarEvent/query",{"accountId":"` + acct + `","expandRecurrences":true,"filter":{"after":"2026-01-01T00:00:00Z","before":"2026-02-01T00:00:00Z"}},"q"],["CalendarEvent/get",{"accountId":"` + acct + `","#ids":{"resultOf":"q","name":"CalendarEvent/query","path":"/ids"}},"g"]]`,
		`[["CalendarEvent/query",{"accountId":"` + acct + `"},"q"],["CalendarEvent/set",{"accountId":"` + acct + `","update":{"#q":{}}},"s"]]`,
		`[["CalendarEvent/set",{"accountId":"` + acct + `","sendSchedulingMessages":true,"create":{"a":{"calendarIds":{"` + c + `":true},"start":"2026-01-01T10:00:00","timeZone":"Europe/Paris","duration":"PT1H","recurrenceRules":[{"frequency":"weekly","byDay":[{"day":"mo","nthOfPeriod":1}]}],"recurrenceOverrides":{"2026-01-08T10:00:00":{"title":"x","participants/a":null}},"alarms":{"k":{"trigger":{"offset":"-PT5M"}}},"participants":{"a":{"roles":{"owner":true,"attendee":true},"sendTo":{"imip":"mailto:alice@acme.test"}}}}}},"s"],["CalendarEvent/changes",{"accountId":"` + acct + `","sinceState":"0"},"c"]]`,
		`[["ContactCard/set",{"accountId":"` + acct + `","create":{"k":{"addressBookIds":{"` + b + `":true},"name":{"full":"A"},"emails":{"e":{"address":"a@b.test"}},"vCardProps":[["x-a",{},"unknown","v"]]}}},"s"],["ContactCard/query",{"accountId":"` + acct + `","filter":{"text":"a"},"sort":[{"property":"name/surname"}]},"q"]]`,
		`[["Calendar/set",{"accountId":"` + acct + `","create":{"n":{"name":"N","color":"red"}},"update":{"` + c + `":{"description":"d"}}},"s"],["AddressBook/get",{"accountId":"` + acct + `"},"g"]]`,
		`[["ContactCard/queryChanges",{"accountId":"` + acct + `","sinceQueryState":"1","sort":[{"property":"name/given"}]},"q"],["CalendarEvent/queryChanges",{"accountId":"` + acct + `","sinceQueryState":"0","maxChanges":1},"e"]]`,
		`[["Principal/getAvailability",{"accountId":"` + acct + `","id":"` + acct + `","utcStart":"2026-01-01T00:00:00Z","utcEnd":"2026-02-01T00:00:00Z"},"a"],["ParticipantIdentity/get",{"accountId":"` + acct + `"},"p"]]`,
	} {
		f.Add([]byte(`{"using":` + gwUsing + `,"methodCalls":` + calls + `}`))
	}
	tl := fmt.Sprintf("L%d", testenv.Folder(f, ctx, s.DB, "alice", store.SpecialTasks).ID)
	for _, calls := range []string{
		`[["Task/set",{"accountId":"` + acct + `","create":{"t":{"taskListId":"` + tl + `","title":"T","due":"2026-01-01T10:00:00","timeZone":"Europe/Paris","progress":"completed","priority":1}}},"s"],["Task/query",{"accountId":"` + acct + `","filter":{"operator":"NOT","conditions":[{"progress":"completed"}]},"sort":[{"property":"due"}]},"q"],["Task/get",{"accountId":"` + acct + `","#ids":{"resultOf":"q","name":"Task/query","path":"/ids"},"properties":["utcDue","title"]},"g"]]`,
		`[["TaskList/set",{"accountId":"` + acct + `","create":{"n":{"name":"N","color":"red"}},"destroy":["` + tl + `"],"onDestroyRemoveTasks":true},"s"],["Task/changes",{"accountId":"` + acct + `","sinceState":"0"},"c"],["Task/queryChanges",{"accountId":"` + acct + `","sinceQueryState":"0"},"qc"]]`,
	} {
		f.Add([]byte(`{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:tasks"],"methodCalls":` + calls + `}`))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/jmap/api/", strings.NewReader(string(body)))
		req.SetBasicAuth("alice", password("alice"))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusInternalServerError {
			t.Fatalf("500 for %q: %s", body, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("answer is not JSON (%d): %s", rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), `"serverFail"`) {
			t.Fatalf("serverFail for %q: %s", body, rec.Body)
		}
	})
}
