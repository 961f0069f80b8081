package imapserver_test

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// curl's custom commands (-X) with the extensions of ext_test.go: curl
// prints the untagged responses of a command it does not know.
func TestCurlExtensions(t *testing.T) {
	t.Parallel()
	bin := needTool(t, "curl", "curl")
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1))
	_, port := splitAddr(t, e.addr)
	curl := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		all := append([]string{"-sS", "--max-time", "30", "-u", "alice:" + password("alice"), "imap://127.0.0.1:" + port + "/INBOX"}, args...)
		out, err := exec.CommandContext(ctx, bin, all...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %q: %v\n%s", args, err, out)
		}
		return strings.ReplaceAll(string(out), "\r\n", "\n")
	}
	out := curl("-X", "FETCH 1 (EMAILID SAVEDATE PREVIEW)")
	if !regexp.MustCompile(`EMAILID \(M\d+\) SAVEDATE "[^"]+" PREVIEW "Body of message 1"`).MatchString(out) {
		t.Fatalf("FETCH: %q", out)
	}
	if out := curl("-X", "STATUS INBOX (MAILBOXID)"); !regexp.MustCompile(`MAILBOXID \(F\d+\)`).MatchString(out) {
		t.Fatalf("STATUS: %q", out)
	}
	if out := curl("-X", "SEARCH SAVEDATESUPPORTED"); !strings.Contains(out, "* SEARCH 1\n") {
		t.Fatalf("SEARCH: %q", out)
	}
}
