package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

// TestKDC: the harness's realm issues tickets that klist shows.
func TestKDC(t *testing.T) {
	k := StartKDC(t)
	k.AddUser("alice", "pw-alice")
	env := k.Kinit("alice", "pw-alice", "")
	cmd := exec.Command("klist")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "alice@"+KDCRealm) {
		t.Fatalf("klist: %v\n%s", err, out)
	}
}
