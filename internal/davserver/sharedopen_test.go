package davserver_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/davserver"
	"github.com/roost-mail/roost/internal/store"
)

// TestOnSharedOpen: requests into another user's calendar, by its path
// or as ~id in one's own home, reach OnSharedOpen with the method;
// requests into one's own folders and refused ones do not.
func TestOnSharedOpen(t *testing.T) {
	type open struct {
		user   string
		folder int64
		how    string
	}
	var mu sync.Mutex
	var got []open
	e := newEnv(t, func(o *davserver.Options) {
		o.OnSharedOpen = func(ctx context.Context, f *store.Folder, how string) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, open{store.PrincipalFrom(ctx).Login, f.ID, how})
		}
	})
	bobCal := e.folder("bob", store.SpecialCalendar)
	bobURL := e.calURL("bob")
	e.do("bob", "PUT", bobURL+"m.ics", event("m", "20240110T100000Z", "20240110T110000Z", "")).must(t, http.StatusCreated)
	e.do("alice", "PUT", e.calURL("alice")+"a.ics", event("a", "20240110T100000Z", "20240110T110000Z", "")).must(t, http.StatusCreated)
	if err := e.db.SetACL(e.as("bob"), bobCal.ID, store.UserSubject("alice"), "lr"); err != nil {
		t.Fatal(err)
	}
	e.do("alice", "GET", bobURL+"m.ics", "").must(t, http.StatusOK)
	e.do("alice", "PROPFIND", fmt.Sprintf("/dav/calendars/alice/~%d/", bobCal.ID), "", "Depth", "1").must(t, http.StatusMultiStatus)
	e.do("carol", "GET", fmt.Sprintf("/dav/calendars/carol/~%d/m.ics", bobCal.ID), "").must(t, http.StatusNotFound)
	e.do("alice", "GET", e.calURL("alice")+"a.ics", "").must(t, http.StatusOK)
	want := []open{{"alice", bobCal.ID, "GET"}, {"alice", bobCal.ID, "PROPFIND"}}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("shared opens %v, want %v", got, want)
	}
}
