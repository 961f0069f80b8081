package imapserver_test

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// curl's custom commands (-X) for PARTIAL (RFC 9394) and URLAUTH (RFC
// 4467): curl prints the untagged answers.
func TestCurlPartialURLAuth(t *testing.T) {
	t.Parallel()
	bin := needTool(t, "curl", "curl")
	e := newEnv(t)
	inbox := e.folder("alice", "inbox")
	for i := range 4 {
		e.deliver(inbox.ID, testMsg(i))
	}
	_, port := splitAddr(t, e.addr)
	base := "imap://127.0.0.1:" + port
	curl := func(url string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		all := append([]string{"-sS", "--max-time", "30", "-u", "alice:" + password("alice"), url}, args...)
		out, err := exec.CommandContext(ctx, bin, all...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s %q: %v\n%s", url, args, err, out)
		}
		return strings.ReplaceAll(string(out), "\r\n", "\n")
	}
	if got := curl(base+"/INBOX", "-X", "UID SEARCH RETURN (PARTIAL -1:-2) ALL"); !strings.Contains(got, "PARTIAL (-1:-2 3:4)") {
		t.Fatalf("-X UID SEARCH PARTIAL: %q", got)
	}
	got := curl(base+"/INBOX", "-X", `GENURLAUTH "imap://alice@localhost/INBOX/;UID=2;URLAUTH=user+alice" INTERNAL`)
	m := regexp.MustCompile(`\* GENURLAUTH "([^"]+)"`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("-X GENURLAUTH: %q", got)
	}
	// curl shows the first line of an untagged answer: the literal's size.
	if got := curl(base+"/INBOX", "-X", `URLFETCH "`+m[1]+`"`); !strings.Contains(got, fmt.Sprintf("{%d}", len(testMsg(1)))) {
		t.Fatalf("-X URLFETCH: %q", got)
	}
}
