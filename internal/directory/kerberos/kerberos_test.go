package kerberos_test

import (
	"bufio"
	"encoding/base64"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	. "github.com/roost-mail/roost/internal/directory/kerberos"

	"github.com/roost-mail/roost/internal/testenv"
)

// realm starts a KDC with alice and a keytab for the given services on
// localhost, and returns the acceptor and the client environment with
// alice's ticket.
func realm(t *testing.T, cfg Config, services ...string) (*testenv.KDC, *Acceptor, []string, string) {
	t.Helper()
	k := testenv.StartKDC(t)
	var spns []string
	for _, s := range services {
		spns = append(spns, s+"/localhost")
	}
	cfg.Keytab = k.ServiceKeytab(spns...)
	if cfg.Realms == nil && cfg.Map == nil {
		cfg.Realms = []string{k.Realm}
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k.AddUser("alice", "pw-alice")
	return k, a, k.Kinit("alice", "pw-alice", ""), cfg.Keytab
}

// runGSS runs testdata/gssclient.py against a SASL exchange.
func runGSS(t *testing.T, env []string, g *SASL, args ...string) error {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", append([]string{"testdata/gssclient.py"}, args...)...)
	cmd.Env = env
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Skipf("python3: %v", err)
	}
	defer func() { in.Close(); io.Copy(io.Discard, out); cmd.Wait() }()
	r := bufio.NewReader(out)
	for i := 0; i < 5; i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			in.Close()
			cmd.Wait()
			t.Fatalf("client ended: %v\n%s", err, stderr.String())
		}
		resp, err := base64.StdEncoding.DecodeString(strings.TrimSpace(line))
		if err != nil {
			t.Fatal(err)
		}
		chal, done, err := g.Next(resp)
		if err != nil || done {
			return err
		}
		io.WriteString(in, base64.StdEncoding.EncodeToString(chal)+"\n")
	}
	t.Fatal("too many steps")
	return nil
}

func skipNoGSSAPI(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import gssapi").Run(); err != nil {
		t.Skip("python3-gssapi not installed")
	}
}

// TestSASLGSSAPI: MIT's GSSAPI library (through python3-gssapi) signs in
// with SASL GSSAPI, with and without mutual authentication, with an
// authorization identity; a ticket for another service, an unmapped
// realm and a replayed AP-REQ are refused.
func TestSASLGSSAPI(t *testing.T) {
	skipNoGSSAPI(t)
	k, a, env, kt := realm(t, Config{}, "imap", "smtp")
	for _, args := range [][]string{{"imap", "localhost"}, {"imap", "localhost", "", "nomutual"}, {"smtp", "localhost", "alice@example.org"}} {
		g := a.SASL(args[0])
		if err := runGSS(t, env, g, args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if id := g.Identity(); id.Login != "alice" || id.Principal != "alice@"+k.Realm {
			t.Fatalf("%v: identity %+v", args, id)
		}
		if len(args) > 2 && g.AuthzID() != args[2] {
			t.Fatalf("authzid %q", g.AuthzID())
		}
	}
	// A ticket for smtp presented to imap.
	if err := runGSS(t, env, a.SASL("imap"), "smtp", "localhost"); !errors.Is(err, ErrRefused) {
		t.Fatalf("smtp ticket on imap: %v", err)
	}
	// A realm that is not allowed.
	b, err := New(Config{Keytab: kt, Realms: []string{"OTHER.TEST"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := runGSS(t, env, b.SASL("imap"), "imap", "localhost"); !errors.Is(err, ErrRefused) {
		t.Fatalf("other realm: %v", err)
	}
	// ... unless mapped.
	m, err := New(Config{Keytab: kt, Map: map[string]string{"alice@" + k.Realm: "alice@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	g := m.SASL("imap")
	if err := runGSS(t, env, g, "imap", "localhost"); err != nil || g.Identity().Login != "alice@example.org" {
		t.Fatalf("mapped: %v %+v", err, g.Identity())
	}
}

// TestSASLGSSAPIReplay: an AP-REQ seen once is refused the second time.
func TestSASLGSSAPIReplay(t *testing.T) {
	skipNoGSSAPI(t)
	_, a, env, _ := realm(t, Config{}, "imap")
	g := a.SASL("imap")
	var first []byte
	cmd := exec.Command("/usr/bin/python3", "testdata/gssclient.py", "imap", "localhost")
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = strings.NewReader("")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	cmd.Wait()
	if first, err = base64.StdEncoding.DecodeString(strings.TrimSpace(line)); err != nil || len(first) == 0 {
		t.Fatalf("no AP-REQ: %v", err)
	}
	if _, _, err := g.Next(first); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, _, err := a.SASL("imap").Next(first); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "replay") {
		t.Fatalf("replay: %v", err)
	}
}

// TestExpiredTicket: an AP-REQ made with a ticket that has since expired
// is refused (the client library itself refuses to use an expired
// ticket, so the token is made while it is valid and presented late).
func TestExpiredTicket(t *testing.T) {
	skipNoGSSAPI(t)
	k := testenv.StartKDC(t)
	kt := k.ServiceKeytab("imap/localhost")
	k.AddUser("alice", "pw-alice")
	env := k.Kinit("alice", "pw-alice", "", "-l", "2s")
	a, err := New(Config{Keytab: kt, MaxClockSkew: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "testdata/gssclient.py", "imap", "localhost")
	cmd.Env = env
	cmd.Stdin = strings.NewReader("")
	out, _ := cmd.Output()
	line, _, _ := strings.Cut(string(out), "\n")
	tok, err := base64.StdEncoding.DecodeString(line)
	if err != nil || len(tok) == 0 {
		t.Fatalf("no AP-REQ: %v %q", err, out)
	}
	time.Sleep(4 * time.Second) // past the ticket's end and the skew
	_, _, err = a.SASL("imap").Next(tok)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("expired ticket: %v", err)
	}
	t.Log(err)
}
