package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminImportExportAgainstServe drives roost admin import and export
// against a running server: an mbox with a broken From_ line is imported
// and the problem listed, the store exported as Maildir and imported
// into another user (--json), and an import run twice creates nothing
// twice.
func TestAdminImportExportAgainstServe(t *testing.T) {
	bin := roostBinary(t)
	dir := t.TempDir()
	cfg := quietConfig(t, dir)
	startServer(t, bin, cfg, dir)
	admin := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"admin", "--config", cfg}, args...)...)
		cmd.Stdin = strings.NewReader("pw\n")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("roost admin %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	admin("user", "create", "alice", "--password-stdin")
	admin("user", "create", "bob", "--password-stdin")
	mbox := filepath.Join(t.TempDir(), "old.mbox")
	if err := os.WriteFile(mbox, []byte("From a@b Mon Mar  2 10:00:00 2026\nFrom: a@b\nSubject: one\nStatus: RO\n\nhi\n\n"+
		"From broken\n\n"+
		"From c@d Tue Mar  3 10:00:00 2026\nFrom: c@d\nSubject: two\n\nho\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := admin("import", "mbox", "alice", mbox, "--folder", "Old/Mail")
	if !strings.Contains(out, "imported 2 messages") || !strings.Contains(out, `old.mbox line 8: From_ line "From broken" without a message`) {
		t.Fatalf("import mbox:\n%s", out)
	}
	if out := admin("import", "mbox", "alice", mbox, "--folder", "Old/Mail"); !strings.Contains(out, "imported 0 messages") || !strings.Contains(out, "2 already there") {
		t.Fatalf("second import mbox:\n%s", out)
	}
	exp := filepath.Join(t.TempDir(), "export")
	if out := admin("export", "alice", "--to", exp, "--format", "maildir"); !strings.Contains(out, "exported 2 messages") {
		t.Fatalf("export:\n%s", out)
	}
	cur, err := os.ReadDir(filepath.Join(exp, "Maildir", ".Old.Mail", "cur"))
	if err != nil || len(cur) != 2 {
		t.Fatalf("exported Maildir: %v %v", cur, err)
	}
	var sum struct {
		Imported int      `json:"imported"`
		Folders  int      `json:"folders"`
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal([]byte(admin("--json", "import", "maildir", "bob", filepath.Join(exp, "Maildir"))), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 2 || len(sum.Problems) != 0 {
		t.Fatalf("import maildir: %+v", sum)
	}
}

// TestAdminImportExportErrors: wrong input to import and export ends in
// one line a user can act on: a missing file named once (no summary of
// zeros before it), an unknown user without "user: user", an unknown
// --format refused before the server is asked, and an export directory
// the server cannot create named as such.
func TestAdminImportExportErrors(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("user", "create", "alice", "--email", "alice@acme.test", "--tenant", "acme")
	missing := filepath.Join(t.TempDir(), "old.mbox")
	e.fails(1, "roost admin: open "+missing+": no such file or directory\n", "import", "mbox", "alice", missing)
	e.fails(1, "roost admin: stat "+missing+": no such file or directory\n", "import", "maildir", "alice", missing)
	e.fails(1, `roost admin: user "ghost": not found`, "import", "mbox", "ghost", missing)
	e.fails(2, `export: --format "zip": give mbox or maildir`, "export", "alice", "--to", t.TempDir(), "--format", "zip")
	e.fails(1, "cannot create the export directory on the server's host: mkdir /proc/roost-export", "export", "alice", "--to", "/proc/roost-export")
}
