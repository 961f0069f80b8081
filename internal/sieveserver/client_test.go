package sieveserver_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/mail"
)

// need finds an external client, or skips (fails when ROOST_REQUIRE_CLIENTS
// is set: CI installs the clients).
func need(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
		t.Fatalf("%s not installed (Debian package needed)", names[0])
	}
	t.Skipf("%s not installed", names[0])
	return ""
}

// TestSieveConnect drives the server with sieve-connect (Debian package
// sieve-connect): STARTTLS with certificate verification, SASL PLAIN,
// upload, list, activate, download, check, delete.
func TestSieveConnect(t *testing.T) {
	t.Parallel()
	bin := need(t, "sieve-connect")
	e := newEnv(t, nil)
	testCert()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(e.addr)
	run := func(args ...string) string {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(w, password("alice"))
		w.Close()
		base := []string{"--server", "localhost", "--port", port, "--user", "alice", "--passwordfd", "3",
			"--tlscafile", ca, "--authmech", "PLAIN"}
		cmd := exec.Command(bin, append(base, args...)...)
		cmd.ExtraFiles = []*os.File{r}
		cmd.Env = append(os.Environ(), "HOME="+dir)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		r.Close()
		if err != nil {
			t.Fatalf("sieve-connect %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	local := filepath.Join(dir, "filters.sieve")
	if err := os.WriteFile(local, []byte(fileinto), 0o600); err != nil {
		t.Fatal(err)
	}
	run("--upload", "--localsieve", local, "--remotesieve", "filters")
	run("--activate", "--remotesieve", "filters")
	out := run("--list")
	t.Logf("sieve-connect --list: %q", out)
	if !strings.Contains(out, `"filters" ACTIVE`) {
		t.Fatalf("list: %s", out)
	}
	got := filepath.Join(dir, "got.sieve")
	run("--download", "--remotesieve", "filters", "--localsieve", got)
	if b, err := os.ReadFile(got); err != nil || string(b) != fileinto {
		t.Fatalf("downloaded %q, %v", b, err)
	}
	s := &mail.Scripts{Store: e.db}
	if active, err := s.Active(sys, "alice"); err != nil || active != "filters" {
		t.Fatalf("active %q, %v", active, err)
	}
	run("--deactivate")
	run("--delete", "--remotesieve", "filters")
	if l, err := s.List(sys, "alice"); err != nil || len(l) != 0 {
		t.Fatalf("after delete: %v %v", l, err)
	}
}

// TestPythonClient is a second client: a raw-socket ManageSieve session
// from Python's ssl module (STARTTLS, AUTHENTICATE PLAIN, PUTSCRIPT with a
// literal, LISTSCRIPTS, GETSCRIPT).
func TestPythonClient(t *testing.T) {
	t.Parallel()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		py = need(t, "python3")
	}
	e := newEnv(t, nil)
	testCert()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, certPEM, 0o600)
	_, port, _ := net.SplitHostPort(e.addr)
	script := fmt.Sprintf(`
import socket, ssl, base64
s = socket.create_connection(("127.0.0.1", %[1]s), timeout=20)
f = s.makefile("rb")
def until_done(f):
    lines = []
    while True:
        l = f.readline().decode().rstrip("\r\n")
        if l.startswith(("OK", "NO", "BYE")):
            return lines, l
        lines.append(l)
caps, fin = until_done(f)
assert '"STARTTLS"' in caps, caps
s.sendall(b"STARTTLS\r\n")
_, fin = until_done(f)
assert fin.startswith("OK"), fin
ctx = ssl.create_default_context(cafile=%[2]q)
s = ctx.wrap_socket(s, server_hostname="localhost")
f = s.makefile("rb")
caps, fin = until_done(f)
assert any(c.startswith('"SASL" "PLAIN') for c in caps), caps
tok = base64.b64encode(b"\0alice\0%[3]s").decode()
s.sendall(('AUTHENTICATE "PLAIN" "%%s"\r\n' %% tok).encode())
_, fin = until_done(f)
assert fin.startswith("OK"), fin
script = b'require "fileinto";\r\nfileinto "py";\r\n'
s.sendall(b'PUTSCRIPT "py" {%%d+}\r\n%%s\r\n' %% (len(script), script))
_, fin = until_done(f)
assert fin.startswith("OK"), fin
s.sendall(b'SETACTIVE "py"\r\nLISTSCRIPTS\r\n')
_, fin = until_done(f)
assert fin.startswith("OK"), fin
lines, fin = until_done(f)
assert lines == ['"py" ACTIVE'], lines
s.sendall(b'GETSCRIPT "py"\r\n')
head = f.readline().decode().rstrip("\r\n")
n = int(head[1:-1])
body = f.read(n)
assert body == script, body
f.readline()
_, fin = until_done(f)
assert fin.startswith("OK"), fin
s.sendall(b"LOGOUT\r\n")
_, fin = until_done(f)
print("python ok")
`, port, ca, password("alice"))
	out, err := exec.Command(py, "-c", script).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "python ok") {
		t.Fatalf("python: %v\n%s", err, out)
	}
}
