package testenv

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
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

// Slapd is a real OpenLDAP server (Debian's slapd) run as a child
// process on 127.0.0.1 for one test, with an mdb database under the
// suffix dc=example,dc=org, a root DN for loading entries, and a service
// account cn=roost that may read user entries (not their passwords). The
// refint overlay keeps member and seeAlso DNs pointing at renamed and
// deleted entries, as in a directory with groups. The service account
// reads at most 500 entries a search unless it pages (RFC 2696), as
// Active Directory's MaxPageSize makes it.
type Slapd struct {
	t    testing.TB
	dir  string
	port int
	URI  string
	cmd  *exec.Cmd
	bin  string
	// LDAPSURI is the ldaps:// listener of StartSlapdTLS ("" otherwise);
	// URI then also offers StartTLS. The certificate is Cert's.
	LDAPSURI string
	tlsPort  int
}

// The test directory's names: its suffix, root account (loads entries),
// service account (what Roost binds as) and where users go.
const (
	SlapdSuffix = "dc=example,dc=org"
	SlapdRootDN = "cn=admin,dc=example,dc=org"
	SlapdRootPW = "rootsecret"
	SlapdSvcDN  = "cn=roost,dc=example,dc=org"
	SlapdSvcPW  = "svcsecret"
	SlapdPeople = "ou=people,dc=example,dc=org"
)

// StartSlapd starts slapd, or skips the test when it is not installed
// (fails instead when ROOST_REQUIRE_CLIENTS is set).
func StartSlapd(t testing.TB) *Slapd { t.Helper(); return startSlapd(t, false, "") }

// StartSlapdSchema is StartSlapd with a further schema (slapd.conf
// syntax: attributetype and objectclass lines) loaded, e.g. ADSchema.
func StartSlapdSchema(t testing.TB, schema string) *Slapd {
	t.Helper()
	return startSlapd(t, false, schema)
}

// StartSlapdTLS is StartSlapd with TLS: LDAPS on LDAPSURI and StartTLS on
// URI, with the certificate of Cert (for 127.0.0.1).
func StartSlapdTLS(t testing.TB) *Slapd { t.Helper(); return startSlapd(t, true, "") }

func startSlapd(t testing.TB, withTLS bool, schema string) *Slapd {
	t.Helper()
	bin, err := exec.LookPath("slapd")
	if err != nil {
		for _, p := range []string{"/usr/sbin/slapd", "/usr/local/libexec/slapd"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
			}
		}
	}
	if _, lerr := exec.LookPath("ldapadd"); err != nil || lerr != nil {
		msg := "slapd or ldapadd not installed (Debian: apt-get install slapd ldap-utils)"
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/misc.schema
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload refint
database mdb
maxsize 1073741824
suffix "%[2]s"
rootdn "%[3]s"
rootpw %[4]s
directory %[1]s/db
limits dn.exact="%[5]s" size.soft=500 size.hard=500 size.pr=500 size.prtotal=unlimited
overlay refint
refint_attributes member seeAlso
access to attrs=userPassword by anonymous auth by self write by * none
access to * by dn.exact="%[5]s" read by self read by * none
`, dir, SlapdSuffix, SlapdRootDN, SlapdRootPW, SlapdSvcDN)
	if schema != "" {
		f := filepath.Join(dir, "extra.schema")
		if err := os.WriteFile(f, []byte(schema), 0o600); err != nil {
			t.Fatal(err)
		}
		conf = strings.Replace(conf, "pidfile ", "include "+f+"\npidfile ", 1)
	}
	if withTLS {
		pair, _, certPEM := Cert()
		der, err := x509.MarshalPKCS8PrivateKey(pair.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		conf = fmt.Sprintf("TLSCertificateFile %s\nTLSCertificateKeyFile %s\n", certFile, keyFile) + conf
	}
	if err := os.WriteFile(filepath.Join(dir, "slapd.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	s := &Slapd{t: t, dir: dir, port: port, URI: fmt.Sprintf("ldap://127.0.0.1:%d", port)}
	if withTLS {
		s.tlsPort = freePort(t)
		s.LDAPSURI = fmt.Sprintf("ldaps://127.0.0.1:%d", s.tlsPort)
	}
	s.bin = bin
	s.Start()
	t.Cleanup(s.Stop)
	s.Add(fmt.Sprintf(`dn: %s
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: %s
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: roost
userPassword: %s

dn: %s
objectClass: organizationalUnit
ou: people
`, SlapdSuffix, SlapdSvcDN, SlapdSvcPW, SlapdPeople))
	return s
}

// Start starts (or restarts) the server and waits until it answers.
func (s *Slapd) Start() {
	s.t.Helper()
	var out bytes.Buffer
	urls := s.URI + "/"
	if s.LDAPSURI != "" {
		urls += " " + s.LDAPSURI + "/"
	}
	cmd := exec.Command(s.bin, "-d", "0", "-f", filepath.Join(s.dir, "slapd.conf"), "-h", urls)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start slapd: %v", err)
	}
	s.cmd = cmd
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil {
			c.Close()
			return
		}
		if i == 200 {
			s.Stop()
			s.t.Fatalf("slapd does not listen on %s: %s", s.URI, out.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Stop stops the server (its data stays for a restart).
func (s *Slapd) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

func (s *Slapd) run(tool, ldif string) {
	s.t.Helper()
	cmd := exec.Command(tool, "-x", "-H", s.URI, "-D", SlapdRootDN, "-w", SlapdRootPW)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("%s: %v\n%s\n%s", tool, err, out, ldif)
	}
}

// BulkLoad loads many entries fast: it stops the server, imports ldif
// with slapadd (offline, quick mode; entryUUID and the other
// operational attributes are made as by ldapadd) and starts it again.
func (s *Slapd) BulkLoad(ldif string) {
	s.t.Helper()
	f := filepath.Join(s.dir, "bulk.ldif")
	if err := os.WriteFile(f, []byte(ldif), 0o600); err != nil {
		s.t.Fatal(err)
	}
	defer os.Remove(f)
	bin := filepath.Join(filepath.Dir(s.bin), "slapadd")
	if _, err := os.Stat(bin); err != nil {
		bin = "slapadd"
	}
	s.Stop()
	if out, err := exec.Command(bin, "-q", "-f", filepath.Join(s.dir, "slapd.conf"), "-l", f).CombinedOutput(); err != nil {
		s.t.Fatalf("slapadd: %v\n%s", err, out)
	}
	s.Start()
}

// RSS is the server's resident memory in bytes (Linux /proc), 0 when it
// cannot be read.
func (s *Slapd) RSS() int64 {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

// Add loads entries with ldapadd.
func (s *Slapd) Add(ldif string) { s.t.Helper(); s.run("ldapadd", ldif) }

// Modify changes entries with ldapmodify (changetype records).
func (s *Slapd) Modify(ldif string) { s.t.Helper(); s.run("ldapmodify", ldif) }

// AddUser adds an inetOrgPerson under ou=people, with extra attribute
// lines.
func (s *Slapd) AddUser(uid, password, mail string, extra ...string) {
	s.t.Helper()
	ldif := fmt.Sprintf("dn: uid=%s,%s\nobjectClass: inetOrgPerson\nobjectClass: inetLocalMailRecipient\nuid: %s\ncn: %s Example\nsn: Example\nuserPassword: %s\nmail: %s\n",
		uid, SlapdPeople, uid, strings.ToUpper(uid[:1])+uid[1:], password, mail)
	for _, e := range extra {
		ldif += e + "\n"
	}
	s.Add(ldif)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ADSchema is enough of Active Directory's schema for slapd to hold
// AD-like entries: users (objectClass user, an inetOrgPerson with
// sAMAccountName, a binary objectGUID, userAccountControl,
// proxyAddresses, objectCategory) and groups (objectClass group with
// member and groupType). The OIDs are under an example arc, not
// Microsoft's.
const ADSchema = `attributetype ( 1.3.6.1.4.1.32473.1.1.1 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.1.1.2 NAME 'objectGUID' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.1.1.3 NAME 'userAccountControl' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.1.1.4 NAME 'groupType' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.1.1.5 NAME 'proxyAddresses' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.32473.1.1.6 NAME 'objectCategory' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.32473.1.2.1 NAME 'user' SUP inetOrgPerson STRUCTURAL MUST sAMAccountName MAY ( objectGUID $ userAccountControl $ proxyAddresses $ objectCategory ) )
objectclass ( 1.3.6.1.4.1.32473.1.2.2 NAME 'group' SUP top STRUCTURAL MUST cn MAY ( member $ groupType $ sAMAccountName $ mail $ objectGUID $ description ) )
`
