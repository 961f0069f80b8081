package main

import (
	"bufio"
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
)

// TestArchiverAgainstServe runs the archiver in a real `roost serve`: mail
// imported from mbox files (old dates from the From_ lines, flags from
// Status) into three folders, an archive attached, an archive run killed
// with the server (SIGKILL) in the middle, the server restarted and the
// run resumed; Python's imaplib then reads the archive under "Online
// Archive/": every old message exactly once, with its folder, flags and
// internal date, recent mail left alone, and writes refused. A third run
// archives nothing.
func TestArchiverAgainstServe(t *testing.T) {
	bin := roostBinary(t)
	dir := t.TempDir()
	cfg := quietConfig(t, dir)
	imapAddr := freeAddr(t)
	text, _ := os.ReadFile(cfg)
	text = []byte(strings.Replace(string(text), `imap_listen = "off"`, fmt.Sprintf("imap_listen = %q", imapAddr), 1))
	text = append(text, "allow_plaintext_auth = true\narchive_after = 30\narchive_interval = 0\narchive_exclude_folders = [\"trash\", \"Private\"]\n"...)
	if err := os.WriteFile(cfg, text, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, bin, cfg, dir)
	admin := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"admin", "--config", cfg}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("roost admin %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	admin("", "domain", "add", "acme.test")
	admin("alice-pw\n", "user", "create", "alice", "--email", "alice@acme.test", "--password-stdin")

	// Old mail in INBOX, Projects/Alpha and Private (excluded), and some
	// recent mail in the INBOX.
	old := time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC)
	recent := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)
	const perFolder = 600
	folders := map[string]int{"INBOX": perFolder, "Projects/Alpha": perFolder, "Private": 5}
	for folder, n := range folders {
		var b strings.Builder
		for i := range n {
			status := ""
			if i%3 == 0 {
				status = "Status: RO\nX-Status: F\n"
			}
			fmt.Fprintf(&b, "From sender %s\nFrom: bob@acme.test\nSubject: %s %d\nMessage-ID: <%s.%d@acme.test>\n%s\nbody %d\n\n",
				old.Add(time.Duration(i)*time.Minute).Format(time.ANSIC), folder, i, strings.ReplaceAll(folder, "/", "."), i, status, i)
		}
		if folder == "INBOX" {
			for i := range 3 {
				fmt.Fprintf(&b, "From sender %s\nFrom: bob@acme.test\nSubject: recent %d\nMessage-ID: <recent.%d@acme.test>\n\nnew\n\n", recent.Format(time.ANSIC), i, i)
			}
		}
		path := filepath.Join(dir, strings.ReplaceAll(folder, "/", "_")+".mbox")
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"import", "mbox", "alice", path}
		if folder != "INBOX" {
			args = append(args, "--folder", folder)
		}
		admin("", args...)
	}
	out := admin("", "archive", "attach", "alice")
	if !strings.Contains(out, "attached archive store") {
		t.Fatalf("attach: %s", out)
	}
	if out := admin("", "archive", "list", "--json"); !strings.Contains(out, `"owner": "alice"`) || !strings.Contains(out, `"kind": "archive"`) {
		t.Fatalf("archive list: %s", out)
	}

	// Start a run through the admin socket and kill the server as soon as
	// the first folder is done.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(dir, "admin.sock"))
	}}}
	resp, err := hc.Post("http://roost/v1/archive/run", "application/json", strings.NewReader(`{"login":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	lines := 0
	for sc.Scan() {
		var ev struct {
			Progress *struct{ Items int } `json:"progress"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Progress != nil && ev.Progress.Items > 0 {
			break
		}
		if lines++; lines > 100 {
			t.Fatal("no progress")
		}
	}
	srv.cmd.Process.Kill()
	srv.cmd.Wait()
	resp.Body.Close()

	startServer(t, bin, cfg, dir)
	count := imaplibArchive(t, imapAddr, "STATUS", perFolder, perFolder+3)
	archived := 0
	fmt.Sscanf(count, "%d", &archived)
	if archived == 0 || archived >= 2*perFolder {
		t.Fatalf("after the kill the archive holds %d messages, want some but not all of %d", archived, 2*perFolder)
	}
	t.Logf("the archive held %d of %d messages after the kill", archived, 2*perFolder)
	out = admin("", "archive", "run", "alice")
	if !strings.Contains(out, fmt.Sprintf("archived %d messages", 2*perFolder-archived)) {
		t.Fatalf("resumed run: %s (had %d)", out, archived)
	}
	if got := imaplibArchive(t, imapAddr, "CHECK", perFolder, perFolder+3); got != "ok\n" {
		t.Fatalf("the archive as imaplib reads it:\n%s", got)
	}
	if out := admin("", "archive", "run", "alice"); !strings.Contains(out, "archived 0 messages") {
		t.Fatalf("third run: %s", out)
	}
}

// imaplibArchive runs Python's imaplib against the archive: STATUS prints
// how many messages its Inbox and Projects/Alpha hold; CHECK checks every
// message and the refusals, printing "ok" or what is wrong.
func imaplibArchive(t *testing.T, addr, mode string, perFolder, inbox int) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	const script = `
import datetime, imaplib, re, sys
host, port, mode, per, inbox = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
m = imaplib.IMAP4(host, port)
m.login("alice", "alice-pw")
if mode == "STATUS":
    n = 0
    for box in ('"Online Archive/Inbox"', '"Online Archive/Projects/Alpha"'):
        typ, data = m.status(box, "(MESSAGES)")
        if typ == "OK":
            n += int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))
    print(n)
    sys.exit(0)
bad = []
typ, data = m.namespace()
if b'"Online Archive/"' not in data[0]:
    bad.append("namespace %r" % data[0])
typ, data = m.list('"Online Archive/"', "*")
names = sorted(re.search(rb'"/" (.*)$', l).group(1).decode() for l in data)
if names != ['"Online Archive/Inbox"', '"Online Archive/Projects"', '"Online Archive/Projects/Alpha"']:
    bad.append("folders %r" % names)
start = datetime.datetime(2021, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
for box, prefix in (("Inbox", "INBOX"), ("Projects/Alpha", "Projects/Alpha")):
    name = '"Online Archive/%s"' % box
    try:
        m.select(name)
        bad.append("%s: SELECT is not read-only" % box)
    except imaplib.IMAP4.readonly:
        pass
    m.select(name, readonly=True)
    typ, data = m.fetch("1:*", "(FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    seen = {}
    for part in data:
        if not isinstance(part, tuple):
            continue
        meta, hdr = part
        subj = hdr.decode().strip().split(": ", 1)[1]
        i = int(subj.rsplit(" ", 1)[1])
        if not subj.startswith(prefix + " "):
            bad.append("%s: subject %r" % (box, subj))
        seen[i] = seen.get(i, 0) + 1
        flagged = b"\\Flagged" in meta and b"\\Seen" in meta
        if flagged != (i % 3 == 0):
            bad.append("%s %d: flags %r" % (box, i, meta))
        d = datetime.datetime.strptime(re.search(rb'INTERNALDATE "([^"]+)"', meta).group(1).decode(), "%d-%b-%Y %H:%M:%S %z")
        if d != start + datetime.timedelta(minutes=i):
            bad.append("%s %d: internal date %r" % (box, i, meta))
    if sorted(seen) != list(range(per)) or any(v != 1 for v in seen.values()):
        bad.append("%s: %d distinct of %d" % (box, len(seen), sum(seen.values())))
    typ, data = m.store("1", "+FLAGS", "(\\Deleted)")
    if typ != "NO":
        bad.append("%s: STORE answered %s" % (box, typ))
typ, data = m.append('"Online Archive/Inbox"', None, None, b"Subject: x\r\n\r\nx\r\n")
if typ != "NO" or b"NOPERM" not in data[0]:
    bad.append("APPEND answered %s %r" % (typ, data))
# The recent mail and the excluded folder stay out; the user's own
# folders keep everything.
m.select("INBOX", readonly=True)
typ, data = m.search(None, "ALL")
if len(data[0].split()) != inbox:
    bad.append("INBOX has %d messages" % len(data[0].split()))
print("\n".join(bad) if bad else "ok")
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, host, port, mode, fmt.Sprint(perFolder), fmt.Sprint(inbox)).CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
	return string(out)
}
