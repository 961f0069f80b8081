package jmapserver_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// jamVersion is the jmap-jam release the test installs (exact pin).
const jamVersion = "0.13.1"

// jamDir returns a node_modules prefix holding jmap-jam: ROOST_JMAP_JAM_DIR
// if set (scripts/test.sh may install it once), else a fresh npm install.
// Without node or npm the test skips, unless ROOST_REQUIRE_CLIENTS is set.
func jamDir(t *testing.T) string {
	t.Helper()
	skip := func(why string) {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatalf("jmap-jam client required: %s", why)
		}
		t.Skipf("jmap-jam client test skipped: %s (set ROOST_REQUIRE_CLIENTS to make this a failure)", why)
	}
	if _, err := exec.LookPath("node"); err != nil {
		skip("node is not installed")
	}
	if d := os.Getenv("ROOST_JMAP_JAM_DIR"); d != "" {
		return d
	}
	if _, err := exec.LookPath("npm"); err != nil {
		skip("npm is not installed")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "jmap-jam@"+jamVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		skip("npm install jmap-jam@" + jamVersion + " failed: " + err.Error() + ": " + string(out))
	}
	return dir
}

// TestJamClient drives the server with the unmodified jmap-jam client:
// session, upload → Email/import → Email/query + Email/get with a
// back-reference → Email/changes, Mailbox/set, download.
func TestJamClient(t *testing.T) {
	t.Parallel()
	dir := jamDir(t)
	e := newEnv(t)
	script, err := filepath.Abs("testdata/jam.mjs")
	if err != nil {
		t.Fatal(err)
	}
	// node resolves "jmap-jam" from the script's directory upwards: run a
	// copy placed next to the installed node_modules.
	run := filepath.Join(dir, "jam.mjs")
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(run, src, 0o644); err != nil {
		t.Fatal(err)
	}
	msgFile := filepath.Join(t.TempDir(), "m.eml")
	os.WriteFile(msgFile, []byte(strings.ReplaceAll(plainMsg, "\n", "\r\n")), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", run, e.url+"/.well-known/jmap", "alice", password("alice"), msgFile)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node: %v\n%s\n%s", err, out, stderr)
	}
	var r struct {
		AccountID string `json:"accountId"`
		Inbox     string `json:"inbox"`
		Imported  struct {
			ID string `json:"id"`
		} `json:"imported"`
		Query   []string         `json:"query"`
		Emails  []map[string]any `json:"emails"`
		Changes struct {
			Created []string `json:"created"`
		} `json:"changes"`
		MailboxCreated struct {
			ID string `json:"id"`
		} `json:"mailboxCreated"`
		DownloadedBytes int `json:"downloadedBytes"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("script output: %v\n%s", err, out)
	}
	if r.AccountID != e.acct("alice") || len(r.Query) != 1 || r.Query[0] != r.Imported.ID || len(r.Emails) != 1 ||
		r.Emails[0]["subject"] != "Café plans" || len(r.Changes.Created) != 1 || r.Changes.Created[0] != r.Imported.ID ||
		r.MailboxCreated.ID == "" || r.DownloadedBytes == 0 {
		t.Fatalf("jam results: %s", out)
	}
	// What the client did is in the store, as IMAP sees it.
	items, err := e.db.ListItems(e.as("alice"), e.folder("alice", store.SpecialInbox).ID, 1, 0)
	if err != nil || len(items) != 1 || len(items[0].Flags) != 1 || items[0].Flags[0] != `\Seen` {
		t.Fatalf("inbox after jam: %v %v", items, err)
	}
}
