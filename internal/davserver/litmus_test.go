package davserver_test

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLitmus runs litmus's WebDAV suites against a plain collection in
// alice's calendar home and judges them by their summary lines.
func TestLitmus(t *testing.T) {
	t.Parallel()
	bin := needTool(t, "litmus")
	e := newEnv(t)
	url := e.url + "/dav/calendars/alice/"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-k", url, "alice", password("alice"))
	cmd.Env = append(cmd.Environ(), "TESTS=basic copymove props http")
	cmd.Dir = t.TempDir()
	out, _ := cmd.CombinedOutput() // judged by the summaries, not the exit code
	t.Logf("litmus output:\n%s", out)
	// Every test of these suites applies to a server without locking.
	// "<- summary for `basic': of 16 tests run: 16 passed, 0 failed. 100.0%"
	want := map[string]int{"basic": 16, "copymove": 13, "props": 30, "http": 4}
	re := regexp.MustCompile("<- summary for `(\\w+)': of (\\d+) tests run: (\\d+) passed, (\\d+) failed")
	seen := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		suite := m[1]
		run, _ := strconv.Atoi(m[2])
		passed, _ := strconv.Atoi(m[3])
		seen[suite] = true
		if run != want[suite] || passed != run {
			t.Errorf("litmus %s: %d run, %d passed; want %d of %d", suite, run, passed, want[suite], want[suite])
		}
	}
	for s := range want {
		if !seen[s] {
			t.Errorf("no summary for suite %s", s)
		}
	}
	if strings.Contains(string(out), "WARNING") {
		t.Logf("litmus printed warnings (see output)")
	}
}
