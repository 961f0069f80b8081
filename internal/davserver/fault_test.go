package davserver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/davserver"
	"github.com/roost-mail/roost/internal/store"
)

// faultBackend is a store.Backend that fails chosen calls: Fail is asked
// with the method's name and, when it returns an error, the call fails
// with it instead of reaching the real store.
type faultBackend struct {
	store.Backend
	mu   sync.Mutex
	fail func(method string) error
}

func (f *faultBackend) set(fail func(method string) error) {
	f.mu.Lock()
	f.fail = fail
	f.mu.Unlock()
}

func (f *faultBackend) check(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == nil {
		return nil
	}
	return f.fail(method)
}

// failOn fails the named methods with a generic storage error.
func failOn(methods ...string) func(string) error {
	return func(m string) error {
		for _, x := range methods {
			if m == x {
				return errors.New("injected: disk on fire")
			}
		}
		return nil
	}
}

func (f *faultBackend) OpenItem(ctx context.Context, id int64) (io.ReadCloser, error) {
	if err := f.check("OpenItem"); err != nil {
		return nil, err
	}
	return f.Backend.OpenItem(ctx, id)
}

func (f *faultBackend) UserByAddress(ctx context.Context, addr string) (*store.User, error) {
	if err := f.check("UserByAddress"); err != nil {
		return nil, err
	}
	return f.Backend.UserByAddress(ctx, addr)
}

func (f *faultBackend) GetUser(ctx context.Context, login string) (*store.User, error) {
	if err := f.check("GetUser"); err != nil {
		return nil, err
	}
	return f.Backend.GetUser(ctx, login)
}

func newFaultEnv(t *testing.T) (*env, *faultBackend) {
	fb := &faultBackend{}
	e := newEnv(t, func(o *davserver.Options) {
		fb.Backend = o.Store
		o.Store = fb
	})
	return e, fb
}

// TestPutOldBodyUnreadable: issue 9.15. When the version a PUT replaces
// cannot be read, the PUT fails with a server error and stores nothing;
// before, it went ahead as if the object were new, re-inviting every
// attendee and cancelling no one.
func TestPutOldBodyUnreadable(t *testing.T) {
	t.Parallel()
	e, fb := newFaultEnv(t)
	cal := e.calURL("alice")
	v1 := meeting("fault-1", "alice@acme.test", "20240110T100000Z", "20240110T110000Z", "", "bob@acme.test", "ext@example.com")
	e.do("alice", "PUT", cal+"m.ics", v1).must(t, http.StatusCreated)
	e.do("bob", "GET", e.calURL("bob")+"fault-1.ics", "").must(t, http.StatusOK)
	sent := len(e.out.all())

	// Bob is taken off the meeting, but the old version cannot be read.
	v2 := meeting("fault-1", "alice@acme.test", "20240110T100000Z", "20240110T110000Z", "SEQUENCE:1\r\n", "ext@example.com")
	fb.set(failOn("OpenItem"))
	r := e.do("alice", "PUT", cal+"m.ics", v2)
	fb.set(nil)
	if r.code != http.StatusInternalServerError && r.code != http.StatusServiceUnavailable {
		t.Fatalf("PUT with an unreadable old body: %d, want 500 or 503\n%s", r.code, r.body)
	}
	if got := e.out.all(); len(got) != sent {
		t.Fatalf("iTIP sent although the PUT failed: %+v", got[sent:])
	}
	if body := e.do("alice", "GET", cal+"m.ics", "").must(t, http.StatusOK).body; strings.Contains(body, "SEQUENCE:1") || !strings.Contains(strings.ReplaceAll(body, "\r\n ", ""), "bob@acme.test") {
		t.Fatalf("the failed PUT changed the resource:\n%s", body)
	}
	// The retry schedules: bob's copy is cancelled.
	e.do("alice", "PUT", cal+"m.ics", v2).must(t, http.StatusNoContent)
	if bob := e.do("bob", "GET", e.calURL("bob")+"fault-1.ics", "").must(t, http.StatusOK).body; !strings.Contains(bob, "STATUS:CANCELLED") {
		t.Fatalf("bob's copy after the retry:\n%s", bob)
	}

	// DELETE likewise: no cancellation can be planned, nothing is deleted.
	fb.set(failOn("OpenItem"))
	r = e.do("alice", "DELETE", cal+"m.ics", "")
	fb.set(nil)
	if r.code != http.StatusInternalServerError && r.code != http.StatusServiceUnavailable {
		t.Fatalf("DELETE with an unreadable old body: %d\n%s", r.code, r.body)
	}
	e.do("alice", "GET", cal+"m.ics", "").must(t, http.StatusOK)
}

// TestSchedulingDirectoryFailure: issue 9.15. A failed directory lookup
// fails the PUT instead of making a local attendee look external (which
// mailed bob an iMIP invitation instead of putting it in his calendar).
func TestSchedulingDirectoryFailure(t *testing.T) {
	t.Parallel()
	e, fb := newFaultEnv(t)
	cal := e.calURL("alice")
	inv := meeting("fault-2", "alice@acme.test", "20240110T100000Z", "20240110T110000Z", "", "bob@acme.test")
	for _, m := range []string{"UserByAddress", "GetUser"} {
		fb.set(failOn(m))
		r := e.do("alice", "PUT", cal+"m2.ics", inv)
		fb.set(nil)
		if r.code != http.StatusInternalServerError && r.code != http.StatusServiceUnavailable {
			t.Fatalf("PUT with %s failing: %d, want 500 or 503\n%s", m, r.code, r.body)
		}
		if got := e.out.all(); len(got) != 0 {
			t.Fatalf("%s failing: a local attendee was sent iMIP: %+v", m, got)
		}
		e.do("alice", "GET", cal+"m2.ics", "").must(t, http.StatusNotFound)
	}
	e.do("alice", "PUT", cal+"m2.ics", inv).must(t, http.StatusCreated)
	e.do("bob", "GET", e.calURL("bob")+"fault-2.ics", "").must(t, http.StatusOK)
	if got := e.out.all(); len(got) != 0 {
		t.Fatalf("iMIP to a local attendee: %+v", got)
	}
}

// TestPropfindDataStoreFailure: a calendar-data or schedule-tag property
// the store cannot produce is a 500 in its propstat, not "not found".
func TestPropfindDataStoreFailure(t *testing.T) {
	t.Parallel()
	e, fb := newFaultEnv(t)
	cal := e.calURL("alice")
	e.do("alice", "PUT", cal+"m3.ics", meeting("fault-3", "alice@acme.test", "20240110T100000Z", "20240110T110000Z", "", "ext@example.com")).must(t, http.StatusCreated)
	for _, prop := range []string{"<C:calendar-data/>", "<C:schedule-tag/>"} {
		pf := `<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>` + prop + `</D:prop></D:propfind>`
		fb.set(failOn("OpenItem"))
		r := e.do("alice", "PROPFIND", cal+"m3.ics", pf, "Depth", "0")
		fb.set(nil)
		r.must(t, http.StatusMultiStatus)
		if !strings.Contains(r.body, "500 Internal Server Error") || strings.Contains(r.body, "404 Not Found") {
			t.Errorf("%s with the store failing:\n%s", prop, r.body)
		}
	}
}
