package pop3server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// fetchmail (Debian package fetchmail), a real POP3 client: it keeps
// messages and remembers their UIDLs across runs, fetches only new ones,
// then fetches everything and deletes it. Messages go to an MDA that
// writes one file per message.

func TestFetchmail(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("fetchmail")
	if err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatal("fetchmail is not installed (Debian package fetchmail) and ROOST_REQUIRE_CLIENTS is set")
		}
		t.Skip("fetchmail is not installed (Debian package fetchmail)")
	}
	e := start(t, true)
	msg := func(i int) string {
		return fmt.Sprintf("From: s%d@example.test\r\nTo: alice@acme.test\r\nSubject: pop %d\r\n"+
			"Message-ID: <pop%d@fetchmail>\r\n\r\nBody %d\r\n.leading dot\r\n", i, i, i, i)
	}
	for i := range 5 {
		e.add(t, msg(i))
	}
	// A flag set over IMAP (or any protocol) survives POP3 retrieval.
	uids := func() []store.ItemSummary {
		t.Helper()
		items, err := e.db.ListItems(e.alice, e.inbox, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		return items
	}
	first := uids()[0]
	if _, err := e.db.UpdateFlags(e.alice, e.inbox, []uint32{first.UID}, store.FlagsAdd, []string{`\Flagged`}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(e.addr, ":")
	// sslproto '' keeps fetchmail from STLS (the test certificate is not
	// one it could verify); plaintext is allowed on this test server.
	rc := func(keep bool) string {
		k := "keep"
		if !keep {
			k = "nokeep fetchall"
		}
		path := filepath.Join(dir, "fetchmailrc")
		conf := fmt.Sprintf("set no bouncemail\npoll %s port %s protocol pop3 uidl auth password timeout 30\n"+
			"  user alice password secret is alice here sslproto '' %s\n  mda \"/bin/sh -c 'cat > %s/m.$$'\"\n",
			host, port, k, out)
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	run := func(step string, keep bool, wantExit ...int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-f", rc(keep), "-i", filepath.Join(dir, "fetchids"), "--nodetach", "-v")
		cmd.Env = append(os.Environ(), "HOME="+dir, "FETCHMAILHOME="+dir)
		b, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("fetchmail (%s): %v", step, err)
		}
		// Exit 0: mail retrieved; 1: no new mail (fetchmail(1) EXIT CODES).
		if !slices.Contains(wantExit, code) {
			t.Fatalf("fetchmail (%s): exit %d, want %v\n%s", step, code, wantExit, b)
		}
	}
	files := func() []string {
		t.Helper()
		ents, err := os.ReadDir(out)
		if err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, en := range ents {
			b, err := os.ReadFile(filepath.Join(out, en.Name()))
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, string(b))
		}
		return bodies
	}
	hasSubject := func(bodies []string, s string) bool {
		return slices.ContainsFunc(bodies, func(b string) bool { return strings.Contains(b, "Subject: "+s+"\n") })
	}

	// First run: all five, kept on the server.
	run("first", true, 0)
	got := files()
	if len(got) != 5 {
		t.Fatalf("first run delivered %d messages, want 5", len(got))
	}
	for i := range 5 {
		if !hasSubject(got, fmt.Sprintf("pop %d", i)) {
			t.Fatalf("message %d missing", i)
		}
	}
	// Dot-stuffing undone, body intact.
	if !strings.Contains(got[0], "\n.leading dot\n") {
		t.Fatalf("body: %q", got[0])
	}
	if n := len(uids()); n != 5 {
		t.Fatalf("%d messages left on the server after keep, want 5", n)
	}

	// Second run: the UIDLs are known, nothing new.
	run("again", true, 1)
	if n := len(files()); n != 5 {
		t.Fatalf("second run delivered %d more", n-5)
	}

	// New mail: only it comes (UIDLs are stable across sessions).
	e.add(t, msg(5))
	e.add(t, msg(6))
	run("new mail", true, 0)
	got = files()
	if len(got) != 7 || !hasSubject(got, "pop 5") || !hasSubject(got, "pop 6") {
		t.Fatalf("after new mail: %d files", len(got))
	}
	// Flags are untouched by POP3 retrieval.
	if it := uids()[0]; it.UID != first.UID || !slices.Contains(it.Flags, `\Flagged`) {
		t.Fatalf("first message after POP3: %+v", it)
	}

	// fetchall without keep: everything again, then deleted on QUIT.
	run("fetch and delete", false, 0)
	if n := len(files()); n != 14 {
		t.Fatalf("fetchall delivered %d, want 7 more", n-7)
	}
	if n := len(uids()); n != 0 {
		t.Fatalf("%d messages left on the server after delete", n)
	}
	// Soft delete: the store can still restore them.
	deleted, err := e.db.ListDeletedItems(e.alice, e.inbox)
	if err != nil || len(deleted) != 7 {
		t.Fatalf("soft-deleted items: %d, %v", len(deleted), err)
	}
	run("empty", false, 1)
}
