package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/roost-mail/roost/internal/testenv"
)

// TestAdminClientCertificate: on admin_listen a client certificate signed
// by ssl_ca_file is the system identity (Zarafa §6.1); without one and
// without credentials the API refuses, and a certificate of another CA
// (or one without client authentication) is refused too.
func TestAdminClientCertificate(t *testing.T) {
	bin := roostBinary(t)
	dir := t.TempDir()
	cfg := quietConfig(t, dir)
	ca := testenv.NewCA(t, "Roost services CA")
	other := testenv.NewCA(t, "Another CA")
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "ssl_ca_file = %q\n", ca.File)
	f.Close()
	srv := startServer(t, bin, cfg, dir)
	url := "https://" + srv.adminAddr(t)
	serverCA := filepath.Join(dir, "tls", "cert.pem")
	run := func(args ...string) (string, int) {
		out, err := exec.Command(bin, append([]string{"admin", "--url", url, "--ca", serverCA}, args...)...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		return string(out), 0
	}
	good := ca.Issue("node-2")
	if out, code := run("--cert", good.CertFile, "--key", good.KeyFile, "tenant", "create", "remote"); code != 0 {
		t.Fatalf("with a client certificate: exit %d\n%s", code, out)
	}
	if out, code := run("tenant", "list"); code == 0 || !strings.Contains(out, "authentication required") {
		t.Fatalf("without a certificate or login: exit %d\n%s", code, out)
	}
	for name, l := range map[string]*testenv.Leaf{"another CA": other.Issue("intruder"), "server only": ca.IssueServerOnly("web")} {
		if out, code := run("--cert", l.CertFile, "--key", l.KeyFile, "tenant", "create", "evil"); code == 0 {
			t.Errorf("certificate of %s: accepted\n%s", name, out)
		}
	}
	if out, code := run("--cert", good.CertFile, "--key", good.KeyFile, "tenant", "list"); code != 0 || strings.Contains(out, "evil") {
		t.Errorf("tenant list: exit %d\n%s", code, out)
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.cmd.Wait()
}
