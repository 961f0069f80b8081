// Package nsdtest starts Debian's nsd (package "nsd") on a loopback
// port serving test zones, for tests of DNS checks. Without nsd a test
// skips, or fails when ROOST_REQUIRE_CLIENTS is set (scripts/test.sh).
package nsdtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func resolver(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// nsdPath finds Debian's nsd (package "nsd"); without it the test skips,
// or fails when ROOST_REQUIRE_CLIENTS is set (scripts/test.sh).
func nsdPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nsd"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nsd"); err == nil {
		return "/usr/sbin/nsd"
	}
	if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
		t.Fatal("nsd is not installed (Debian package nsd) and ROOST_REQUIRE_CLIENTS is set")
	}
	t.Skip("nsd not installed (Debian package nsd)")
	return ""
}

// freePort finds a port free for both UDP and TCP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// Start serves zones (origin → records after SOA/NS) on a loopback
// port and returns its address.
func Start(t *testing.T, zones map[string]string) string {
	t.Helper()
	bin := nsdPath(t)
	dir, err := os.MkdirTemp("", "roost-nsd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port := freePort(t)
	conf := fmt.Sprintf(`server:
  ip-address: 127.0.0.1@%d
  port: %d
  username: ""
  chroot: ""
  zonesdir: "%s"
  pidfile: "%s/nsd.pid"
  xfrdfile: "%s/xfrd.state"
  zonelistfile: "%s/zone.list"
  xfrdir: "%s"
  database: ""
  logfile: "%s/nsd.log"
  server-count: 1
  verbosity: 1
  hide-version: yes
remote-control:
  control-enable: no
`, port, port, dir, dir, dir, dir, dir, dir)
	for origin, body := range zones {
		zone := fmt.Sprintf("$ORIGIN %s.\n$TTL 300\n@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n@ IN NS ns.%s.\nns IN A 127.0.0.1\n%s",
			origin, origin, origin, origin, body)
		if err := os.WriteFile(filepath.Join(dir, origin+".zone"), []byte(zone), 0o644); err != nil {
			t.Fatal(err)
		}
		conf += fmt.Sprintf("zone:\n  name: %s\n  zonefile: %s.zone\n", origin, origin)
	}
	cf := filepath.Join(dir, "nsd.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-d", "-c", cf)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	res := resolver(addr)
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := res.LookupHost(ctx, "ns."+firstKey(zones))
		cancel()
		if err == nil {
			break
		}
		if i == 100 {
			log, _ := os.ReadFile(filepath.Join(dir, "nsd.log"))
			t.Fatalf("nsd does not answer: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return addr
}

func firstKey(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}
