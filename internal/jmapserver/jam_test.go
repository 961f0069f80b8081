package jmapserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// jamVersion is the jmap-jam release the test installs (exact pin).
const jamVersion = "0.13.1"

// jamDir returns a node_modules prefix holding jmap-jam: ROOST_JMAP_JAM_DIR
// if set (scripts/test.sh may install it once), else a fresh npm install.
// Without node or npm the test skips, unless ROOST_REQUIRE_CLIENTS is set.
func jamDir(t *testing.T) string {
	t.Helper()
	return npmClientDir(t, "jmap-jam", jamVersion, "ROOST_JMAP_JAM_DIR")
}

// npmClientDir returns a node_modules prefix holding pkg@version: the
// directory in envVar if set (scripts/test.sh installs the clients once),
// else a fresh npm install into a temporary directory. Without node or
// npm the test skips, unless ROOST_REQUIRE_CLIENTS is set.
func npmClientDir(t *testing.T, pkg, version, envVar string) string {
	t.Helper()
	skip := func(why string) {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatalf("%s client required: %s", pkg, why)
		}
		t.Skipf("%s client test skipped: %s (set ROOST_REQUIRE_CLIENTS to make this a failure)", pkg, why)
	}
	if _, err := exec.LookPath("node"); err != nil {
		skip("node is not installed")
	}
	if d := os.Getenv(envVar); d != "" {
		return d
	}
	if _, err := exec.LookPath("npm"); err != nil {
		skip("npm is not installed")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--prefix", dir, pkg+"@"+version)
	if out, err := cmd.CombinedOutput(); err != nil {
		skip("npm install " + pkg + "@" + version + " failed: " + err.Error() + ": " + string(out))
	}
	return dir
}

// nodeScript copies testdata/name into dir (node resolves packages from
// the script's directory upwards, so the copy sits next to the installed
// node_modules) and returns the copy's path.
func nodeScript(t *testing.T, dir, name string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, fmt.Sprintf("%d-%s", time.Now().UnixNano(), name))
	if err := os.WriteFile(run, src, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(run) })
	return run
}

// TestJamClient drives the server with the unmodified jmap-jam client,
// authenticated by a bearer token made with the directory's token API
// (what `roost admin token create` calls): session, upload →
// Email/import → Email/query + Email/get with a back-reference →
// Email/changes, Mailbox/set, download, and EmailSubmission/set to a
// local user who then reads the message over IMAP.
func TestJamClient(t *testing.T) {
	t.Parallel()
	dir := jamDir(t)
	authn := &directory.Authenticator{}
	e := newEnv(t, withQueue, func(o *jmapserver.Options) {
		authn.Store = o.Store
		o.VerifyBearer = func(ctx context.Context, tok string, remote net.Addr) (*store.Principal, error) {
			return authn.VerifyBearer(ctx, tok, "", "jmap", remote)
		}
	})
	token, _, err := authn.CreateToken(e.as("alice"), "alice", "jam", []string{"jmap"}, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	run := nodeScript(t, dir, "jam.mjs")
	msgFile := filepath.Join(t.TempDir(), "m.eml")
	os.WriteFile(msgFile, []byte(strings.ReplaceAll(plainMsg, "\n", "\r\n")), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", run, e.url+"/.well-known/jmap", token, msgFile, "bob@acme.test")
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
		DownloadedBytes int      `json:"downloadedBytes"`
		Identity        string   `json:"identity"`
		Draft           string   `json:"draft"`
		Moved           []string `json:"moved"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("script output: %v\n%s", err, out)
	}
	if r.AccountID != e.acct("alice") || len(r.Query) != 1 || r.Query[0] != r.Imported.ID || len(r.Emails) != 1 ||
		r.Emails[0]["subject"] != "Café plans" || len(r.Changes.Created) != 1 || r.Changes.Created[0] != r.Imported.ID ||
		r.MailboxCreated.ID == "" || r.DownloadedBytes == 0 || r.Identity != "alice@acme.test" || r.Draft == "" || len(r.Moved) != 1 || r.Moved[0] != r.Draft {
		t.Fatalf("jam results: %s", out)
	}
	// What the client did is in the store, as IMAP sees it.
	items, err := e.db.ListItems(e.as("alice"), e.folder("alice", store.SpecialInbox).ID, 1, 0)
	if err != nil || len(items) != 1 || len(items[0].Flags) != 1 || items[0].Flags[0] != `\Seen` {
		t.Fatalf("inbox after jam: %v %v", items, err)
	}
	// onSuccessUpdateEmail moved the sent draft to Sent.
	if sent, err := e.db.ListItems(e.as("alice"), e.folder("alice", store.SpecialSent).ID, 1, 0); err != nil || len(sent) != 1 {
		t.Fatalf("alice's Sent after the submission: %v %v", sent, err)
	}
	// Bob reads what alice sent over IMAP (the real server, the go-imap
	// v2 client).
	imapSrv := imapserver.New(imapserver.Options{Store: e.db, Logger: testLogger(), AllowPlaintextAuth: true,
		Authenticate: authenticator(e.db)})
	ln := testenv.Listen(t)
	go imapSrv.Serve(ln, false)
	t.Cleanup(func() { imapSrv.Close() })
	c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("bob", password("bob")).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].Envelope.Subject != "Sent by jmap-jam" ||
		len(msgs[0].Envelope.From) != 1 || msgs[0].Envelope.From[0].Addr() != "alice@acme.test" {
		t.Fatalf("bob's inbox over IMAP: %+v %v", msgs, err)
	}
	// The token stops working when revoked.
	if err := authn.RevokeToken(e.as("alice"), "alice", "jam"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", e.url+"/.well-known/jmap", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", res.StatusCode)
	}
}
