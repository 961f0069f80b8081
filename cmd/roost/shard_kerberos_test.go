package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/testenv"
)

// TestShardedKerberosHTTP: HTTP Negotiate (Kerberos) through a frontend
// (docs/cluster.md, "Kerberos through a frontend"). A real MIT KDC; the
// frontend (node-c, 127.0.0.4) holds the keytab of HTTP/127.0.0.4, the
// backends none. curl --negotiate (MIT GSS-API) with alice's ticket (kinit
// with her password) does a CalDAV PROPFIND and fetches her JMAP session
// through the frontend: node-a, her home, serves both (its log names the
// frontend), and the JMAP session names the frontend's URL. A token that
// is no ticket, and a valid ticket of a principal without a Roost user,
// get 401 from the frontend with the Negotiate challenge, and never reach
// a backend.
func TestShardedKerberosHTTP(t *testing.T) {
	testenv.PostgresDSN(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	bin := roostBinary(t)
	k := testenv.StartKDC(t)
	kt := k.ServiceKeytab("HTTP/127.0.0.4")
	k.AddUser("alice", "pw-alice")
	k.AddUser("carol2", "pw-carol2")
	nodes := startShardConf(t, bin, func(role string) string {
		if role == "frontend" {
			return fmt.Sprintf("kerberos_keytab = %q\n", kt)
		}
		return ""
	})
	a, b, front := nodes[0], nodes[1], nodes[2]
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node-a log:\n%s\nnode-b log:\n%s\nfrontend log:\n%s", a.proc.out, b.proc.out, front.proc.out)
		}
	})
	alice := k.Kinit("alice", "pw-alice", k.Dir()+"/alice.cc")
	carol := k.Kinit("carol2", "pw-carol2", k.Dir()+"/carol2.cc")
	base := "http://" + front.http

	curl := func(env []string, args ...string) (code, body string) {
		t.Helper()
		cmd := exec.Command("curl", append([]string{"-s", "-w", "\n%{http_code}", "--negotiate", "-u", ":"}, args...)...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl %q: %v %s", args, err, out)
		}
		s := string(out)
		i := strings.LastIndex(s, "\n")
		return s[i+1:], s[:i]
	}

	// CalDAV PROPFIND with Negotiate, served by node-a.
	code, body := curl(alice, "-X", "PROPFIND", "-H", "Depth: 0", "-H", "Content-Type: application/xml",
		"--data", `<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:displayname/></d:prop></d:propfind>`,
		base+"/dav/calendars/alice/")
	if code != "207" || !strings.Contains(body, "/dav/calendars/alice/") {
		t.Fatalf("PROPFIND with Negotiate through the frontend: %s %s", code, body)
	}
	if !logHasSoon(a.proc.out, "proxied request", "method=PROPFIND", "path=/dav/calendars/alice/", "user=alice", "remote=127.0.0.1", "via=127.0.0.4") {
		t.Errorf("node-a logged no proxied PROPFIND of alice via the frontend")
	}

	// The JMAP session with Negotiate, served by node-a.
	code, body = curl(alice, base+"/jmap/session")
	var sess struct {
		Username string `json:"username"`
		APIURL   string `json:"apiUrl"`
	}
	if code != "200" || json.Unmarshal([]byte(body), &sess) != nil || sess.Username != "alice" || !strings.HasPrefix(sess.APIURL, base+"/") {
		t.Fatalf("JMAP session with Negotiate through the frontend: %s %s", code, body)
	}
	if !logHasSoon(a.proc.out, "proxied request", "method=GET", "path=/jmap/session", "user=alice", "remote=127.0.0.1", "via=127.0.0.4") {
		t.Errorf("node-a logged no proxied JMAP session of alice via the frontend")
	}

	// A token that is no Kerberos ticket: 401 from the frontend.
	hc := &http.Client{Timeout: 30 * time.Second}
	for _, path := range []string{"/dav/calendars/alice/bad-token/", "/jmap/bad-token"} {
		req, _ := http.NewRequest("PROPFIND", base+path, nil)
		if strings.HasPrefix(path, "/jmap/") {
			req.Method = "GET"
		}
		req.Header.Set("Authorization", "Negotiate "+base64.StdEncoding.EncodeToString([]byte("not a ticket at all")))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(strings.Join(resp.Header.Values("WWW-Authenticate"), ","), "Negotiate") {
			t.Errorf("a bad Negotiate token on %s: %d %q", path, resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
		}
	}
	// A valid ticket of a principal that is no Roost user: 401 as well.
	if code, _ := curl(carol, base+"/jmap/carol2"); code != "401" {
		t.Errorf("carol2 (no Roost user) through the frontend: %s", code)
	}
	if !logHasSoon(front.proc.out, "kerberos ticket refused") {
		t.Errorf("the frontend logged no refused ticket")
	}
	// A good request after the refused ones: once node-a has logged it,
	// it would have logged any of them it had received (one pipe, in
	// order).
	if code, _ := curl(alice, "-X", "PROPFIND", "-H", "Depth: 0", base+"/dav/calendars/alice/after-marker/"); code != "404" {
		t.Fatalf("PROPFIND of a missing collection with Negotiate: %s", code)
	}
	if !logHasSoon(a.proc.out, "proxied request", "path=/dav/calendars/alice/after-marker/", "user=alice", "via=127.0.0.4") {
		t.Fatal("node-a logged no PROPFIND of the marker")
	}
	for _, n := range []*clusterNode{a, b} {
		if l := n.proc.out.String(); strings.Contains(l, "bad-token") || strings.Contains(l, "carol2") {
			t.Errorf("%s saw a request the frontend should have refused", n.name)
		}
	}
}
