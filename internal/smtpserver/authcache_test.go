package smtpserver_test

import (
	"context"
	"encoding/base64"
	"net"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/smtpserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestAuthCacheSubmission: the shared credential cache over submission
// AUTH PLAIN, with each invalidating event (issue 10).
func TestAuthCacheSubmission(t *testing.T) {
	var c *testenv.AuthCounter
	var e *subEnv
	e = startSubmission(t, func(o *smtpserver.SubmissionOptions, _ *queue.Options) {
		o.Authenticate = func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
			return c.Authenticate("")(ctx, login, pw, remote)
		}
	})
	c = testenv.NewAuthCounter(e.db)
	testenv.AuthCacheScenario(t, c, func(user, pw string) bool {
		s := subDial(t, e.addr, false)
		defer s.c.Close()
		s.cmd("EHLO client.test", "250 ")
		s.startTLS()
		s.cmd("EHLO client.test", "250 ")
		s.send("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pw)))
		r := s.reply()
		last := r[len(r)-1]
		switch {
		case strings.HasPrefix(last, "235 "):
			return true
		case strings.HasPrefix(last, "535 "):
			return false
		}
		t.Fatalf("AUTH: %q", r)
		return false
	}, "alice", subPassword("alice"))
}
