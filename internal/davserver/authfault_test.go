package davserver_test

import (
	"testing"

	"github.com/roost-mail/roost/internal/davserver"
	"github.com/roost-mail/roost/internal/store/storefault"
)

// A login that meets a failing directory is 503, not a new 401 challenge
// that reads as a wrong password (issues 9.15, 9.20).
func TestAuthDirectoryFailure(t *testing.T) {
	t.Parallel()
	var f *storefault.Backend
	e := newEnv(t, func(o *davserver.Options) {
		f = storefault.New(o.Store)
		o.Store = f
		o.Authenticate = f.Authenticate("dav")
	})
	f.Fail(nil, "GetUser")
	if r := e.do("alice", "PROPFIND", e.calURL("alice"), "", "Depth", "0"); r.code != 503 {
		t.Errorf("PROPFIND with a failing directory: %d, want 503", r.code)
	}
	f.Heal()
	e.do("alice", "PROPFIND", e.calURL("alice"), "", "Depth", "0").must(t, 207)
}
