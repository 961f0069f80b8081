package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// KDCRealm is the realm of StartKDC's KDC.
const KDCRealm = "ROOST.TEST"

// KDC is a real MIT Kerberos KDC (Debian krb5-kdc) with its realm in a
// temporary directory: no system file is read or written. Env is the
// environment for Kerberos clients (kinit, curl, Python gssapi) to use
// it: KRB5_CONFIG, KRB5_KDC_PROFILE and KRB5CCNAME.
type KDC struct {
	t      testing.TB
	dir    string
	Realm  string
	Addr   string   // host:port of the KDC (TCP and UDP)
	Config string   // the krb5.conf path
	Env    []string // os.Environ plus the Kerberos variables
	cmd    *exec.Cmd
}

// StartKDC creates a realm (kdb5_util create -s) and runs krb5kdc on
// 127.0.0.1. It skips when the MIT tools are missing (fails with
// ROOST_REQUIRE_CLIENTS set).
func StartKDC(t testing.TB) *KDC {
	t.Helper()
	var bins []string
	for _, b := range []string{"krb5kdc", "kdb5_util", "kadmin.local", "kinit"} {
		p, err := exec.LookPath(b)
		if err != nil {
			for _, d := range []string{"/usr/sbin/", "/usr/bin/"} {
				if _, e := os.Stat(d + b); e == nil {
					p, err = d+b, nil
				}
			}
		}
		if err != nil {
			msg := "MIT Kerberos not installed (Debian: apt-get install krb5-kdc krb5-admin-server krb5-user)"
			if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		bins = append(bins, p)
	}
	dir := t.TempDir()
	port := freePort(t)
	k := &KDC{t: t, dir: dir, Realm: KDCRealm, Addr: fmt.Sprintf("127.0.0.1:%d", port),
		Config: filepath.Join(dir, "krb5.conf")}
	kdcConf := fmt.Sprintf(`[kdcdefaults]
 kdc_listen = 127.0.0.1:%[2]d
 kdc_tcp_listen = 127.0.0.1:%[2]d
[realms]
 %[3]s = {
  database_name = %[1]s/principal
  key_stash_file = %[1]s/stash
  acl_file = %[1]s/kadm5.acl
  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  max_life = 10h
  max_renewable_life = 0
 }
[logging]
 kdc = FILE:%[1]s/kdc.log
 admin_server = FILE:%[1]s/kadmin.log
 default = FILE:%[1]s/krb5.log
`, dir, port, KDCRealm)
	krbConf := fmt.Sprintf(`[libdefaults]
 default_realm = %[2]s
 dns_lookup_realm = false
 dns_lookup_kdc = false
 rdns = false
 dns_canonicalize_hostname = false
 udp_preference_limit = 1
 ignore_acceptor_hostname = false
 permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
[realms]
 %[2]s = {
  kdc = 127.0.0.1:%[1]d
 }
[domain_realm]
 localhost = %[2]s
 127.0.0.1 = %[2]s
`, port, KDCRealm)
	for name, body := range map[string]string{"kdc.conf": kdcConf, "krb5.conf": krbConf, "kadm5.acl": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	k.Env = append(os.Environ(), "KRB5_CONFIG="+k.Config, "KRB5_KDC_PROFILE="+filepath.Join(dir, "kdc.conf"),
		"KRB5CCNAME=FILE:"+filepath.Join(dir, "ccache"), "KRB5RCACHEDIR="+dir, "KRB5_TRACE=/dev/null")
	k.run(bins[1], "create", "-s", "-r", KDCRealm, "-P", "master-"+fmt.Sprint(port))
	cmd := exec.Command(bins[0], "-n", "-r", KDCRealm, "-P", filepath.Join(dir, "kdc.pid"))
	cmd.Env = k.Env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start krb5kdc: %v", err)
	}
	k.cmd = cmd
	t.Cleanup(k.stop)
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", k.Addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 200 {
			log, _ := os.ReadFile(filepath.Join(dir, "kdc.log"))
			t.Fatalf("krb5kdc does not listen on %s: %s\n%s", k.Addr, out.String(), log)
		}
		time.Sleep(25 * time.Millisecond)
	}
	return k
}

func (k *KDC) stop() {
	if k.cmd == nil {
		return
	}
	k.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { k.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		k.cmd.Process.Kill()
		<-done
	}
	k.cmd = nil
}

func (k *KDC) run(bin string, args ...string) string {
	k.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = k.Env
	out, err := cmd.CombinedOutput()
	if err != nil {
		k.t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Admin runs one kadmin.local query (e.g. "addprinc -randkey imap/localhost").
func (k *KDC) Admin(query string) string {
	k.t.Helper()
	return k.run("kadmin.local", "-r", k.Realm, "-q", query)
}

// ServiceKeytab creates the service principals (e.g. "HTTP/localhost")
// with random keys and writes their keys to a new keytab, whose path it
// returns.
func (k *KDC) ServiceKeytab(principals ...string) string {
	k.t.Helper()
	kt := filepath.Join(k.dir, fmt.Sprintf("service-%d.keytab", time.Now().UnixNano()))
	for _, p := range principals {
		k.Admin("addprinc -randkey " + p)
		k.Admin("ktadd -k " + kt + " " + p)
	}
	return kt
}

// AddUser creates a user principal (name without realm, or
// name@OTHER.REALM is refused by the KDC) with a password.
func (k *KDC) AddUser(name, password string) {
	k.t.Helper()
	k.Admin("addprinc -pw " + password + " " + name)
}

// Kinit gets a ticket-granting ticket for name into ccache (a path; ""
// is the KDC's default ccache of Env), with kinit reading the password.
// extra are more kinit options (e.g. "-l", "10s").
func (k *KDC) Kinit(name, password, ccache string, extra ...string) []string {
	k.t.Helper()
	env := k.Env
	if ccache != "" {
		env = append(append([]string(nil), k.Env...), "KRB5CCNAME=FILE:"+ccache)
	}
	args := append(append([]string(nil), extra...), name)
	cmd := exec.Command("kinit", args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		k.t.Fatalf("kinit %s: %v\n%s", name, err, out)
	}
	return env
}

// Dir is the KDC's temporary directory (for more ccaches or keytabs).
func (k *KDC) Dir() string { return k.dir }

// InitToken asks MIT's libgssapi (python3-gssapi) for the first token of
// a security context with service@localhost (e.g. "HTTP"), as a client
// holding env's ticket (from Kinit) would send it. Callers skip first
// when python3-gssapi is missing.
func (k *KDC) InitToken(env []string, service string) []byte {
	k.t.Helper()
	cmd := exec.Command("/usr/bin/python3", "-c", `import gssapi, sys
n = gssapi.Name(sys.argv[1] + "@localhost", gssapi.NameType.hostbased_service)
sys.stdout.buffer.write(gssapi.SecurityContext(name=n, usage="initiate").step())`, service)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil || len(out) == 0 {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		k.t.Fatalf("python gssapi: %v %s", err, stderr)
	}
	return out
}
