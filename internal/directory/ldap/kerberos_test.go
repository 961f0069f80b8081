package ldap_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/directory/kerberos"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestKerberosFirstSignIn: a user known only to LDAP signs in for the
// first time with a Kerberos ticket (real MIT KDC, real slapd): the
// principal's login is looked up in the directory and the Roost user and
// store are created just in time, as at a password login. A principal
// the directory does not know is refused as bad credentials; with the
// directory down, a new principal's sign-in is a temporary failure.
func TestKerberosFirstSignIn(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import gssapi").Run(); err != nil {
		t.Skip("python3-gssapi not installed")
	}
	k := testenv.StartKDC(t)
	kt := k.ServiceKeytab("HTTP/localhost")
	for _, u := range []string{"dora", "ghost", "erin"} {
		k.AddUser(u, "pw-"+u)
	}
	dora := k.Kinit("dora", "pw-dora", "")
	ghost := k.Kinit("ghost", "pw-ghost", filepath.Join(k.Dir(), "ghost.cc"))
	erin := k.Kinit("erin", "pw-erin", filepath.Join(k.Dir(), "erin.cc"))
	acc, err := kerberos.New(kerberos.Config{Keytab: kt})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil)
	e.authn.Kerberos = acc
	e.srv.AddUser("dora", "dora-ldap-pw", "dora@example.org", "mailLocalAddress: d.explorer@example.org")
	e.srv.AddUser("erin", "erin-ldap-pw", "erin@example.org")
	ctx := context.Background()
	sys := store.SystemContext(ctx)
	if _, err := e.db.GetUser(sys, "dora"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("dora exists in Roost before her first sign-in: %v", err)
	}

	p, err := e.authn.Negotiate(ctx, k.InitToken(dora, "HTTP"), "jmap", from)
	if err != nil {
		t.Fatalf("first Kerberos sign-in of an LDAP-only user: %v\n%s", err, e.logs)
	}
	if p.Login != "dora" || p.Tenant != "example" {
		t.Fatalf("principal %+v", p)
	}
	u := e.user(t, "dora")
	if u.StoreID == 0 || !strings.HasPrefix(u.ExternalID, "entryUUID:") || u.Email != "dora@example.org" ||
		len(u.Aliases) != 1 || u.Aliases[0] != "d.explorer@example.org" || u.PasswordHash != "" {
		t.Fatalf("provisioned user %+v", u)
	}
	// The second sign-in finds the Roost user; the same one.
	if p2, err := e.authn.Negotiate(ctx, k.InitToken(dora, "HTTP"), "jmap", from); err != nil || p2.Login != "dora" {
		t.Fatalf("second sign-in: %+v %v", p2, err)
	}
	if again := e.user(t, "dora"); again.ID != u.ID || again.StoreID != u.StoreID {
		t.Fatalf("second sign-in made another user: %+v vs %+v", again, u)
	}

	// A principal with a good ticket but no directory entry.
	if _, err := e.authn.Negotiate(ctx, k.InitToken(ghost, "HTTP"), "jmap", from); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("principal unknown to LDAP: %v, want bad credentials", err)
	}
	if _, err := e.db.GetUser(sys, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ghost was created: %v", err)
	}

	// The directory down: a new user's good ticket is a temporary
	// failure, never "wrong password"; back up, she signs in.
	tok := k.InitToken(erin, "HTTP")
	e.srv.Stop()
	if _, err := e.authn.Negotiate(ctx, tok, "jmap", from); err == nil || errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("directory down: %v, want a temporary failure", err)
	}
	e.srv.Start()
	if p, err := e.authn.Negotiate(ctx, k.InitToken(erin, "HTTP"), "jmap", from); err != nil || p.Login != "erin" {
		t.Fatalf("directory back: %+v %v\n%s", p, err, e.logs)
	}
}
