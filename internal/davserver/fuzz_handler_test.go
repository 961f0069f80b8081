package davserver

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// FuzzHandler feeds whole requests (method, path below alice's calendar
// home, Depth, body) to a live handler over a real store, one after the
// other, so that state builds up like in a session. No request may make
// the server fail (500) or panic.
func FuzzHandler(f *testing.F) {
	for _, s := range []struct {
		m    uint8
		path string
		body string
	}{
		{0, "Calendar/", `<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`},
		{1, "Calendar/a.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"},
		{2, "Calendar/", `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data><C:expand start="20240101T000000Z" end="20250101T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240101T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`},
		{2, "Calendar/", `<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:prop><D:getetag/></D:prop></D:sync-collection>`},
		{3, "Calendar/a.ics", `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:x>1</D:x></D:prop></D:set></D:propertyupdate>`},
		{4, "new/", `<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"/>`},
		{5, "Calendar/a.ics", ""},
		{6, "Calendar/a.ics", "http://x/dav/calendars/alice/new/b.ics"},
		{7, "outbox/", "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\nDTSTART:20240101T000000Z\r\nDTEND:20240102T000000Z\r\nATTENDEE:mailto:alice@acme.test\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"},
	} {
		f.Add(s.m, s.path, uint8(1), []byte(s.body))
	}
	st := testenv.Open(f, testenv.Options{BlobGrace: -1})
	db, sys := st.DB, testenv.Sys
	st.Tenants(f, "acme")
	st.User(f, "acme", store.User{Login: "alice", Active: true}, "")
	p, err := db.Principal(sys, "alice")
	if err != nil {
		f.Fatal(err)
	}
	srv := New(Options{Store: db, Authenticate: func(context.Context, string, string, net.Addr) (*store.Principal, error) { return p, nil },
		MaxBodyBytes: 1 << 16, MaxXMLBytes: 1 << 16})
	methods := []string{"PROPFIND", "PUT", "REPORT", "PROPPATCH", "MKCALENDAR", "DELETE", "COPY", "POST", "GET", "MKCOL", "MOVE", "OPTIONS"}
	f.Fuzz(func(t *testing.T, m uint8, path string, depth uint8, body []byte) {
		method := methods[int(m)%len(methods)]
		u := "/dav/calendars/alice/" + strings.TrimLeft(path, "/")
		req, err := http.NewRequest(method, "http://roost.test/", bytes.NewReader(body))
		if err != nil {
			return
		}
		req.URL.Path, req.URL.RawPath = "", ""
		if req.URL, err = req.URL.Parse(u); err != nil {
			return
		}
		req.SetBasicAuth("alice", "x")
		req.Header.Set("Depth", []string{"0", "1", "infinity"}[int(depth)%3])
		if method == "COPY" || method == "MOVE" {
			req.Header.Set("Destination", string(body))
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code >= 500 && w.Code != http.StatusInsufficientStorage && w.Code != http.StatusBadGateway {
			t.Fatalf("%s %s: %d %s", method, u, w.Code, w.Body.String())
		}
	})
}
