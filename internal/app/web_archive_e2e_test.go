package app

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWebClientArchive: a user's archive store shows in the web client
// under "Online Archive" (the read-only JMAP account), its messages open
// in the reader, and opening one does not try to mark it read
// (web/e2e/archive.mjs).
func TestWebClientArchive(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	httpsAddr := freePort(t)
	c := startServer(t, dir, fmt.Sprintf("https_listen = %q\n", httpsAddr))
	waitFor(t, "https listener", func() bool {
		conn, err := net.Dial("tcp", httpsAddr)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"ann","email":"ann@example.org","password":"pw-ann-1"}`, 201)
	base := "https://" + httpsAddr
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	call := func(method, path, ctype, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.SetBasicAuth("ann", "pw-ann-1")
		req.Header.Set("Content-Type", ctype)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %v", method, path, res.StatusCode, err)
		}
		return out
	}
	sess := call("GET", "/jmap/session", "application/json", "")
	acct := sess["primaryAccounts"].(map[string]any)["urn:ietf:params:jmap:mail"].(string)
	using := `"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"]`
	mb := call("POST", "/jmap/api/", "application/json", `{`+using+`,"methodCalls":[["Mailbox/query",{"accountId":"`+acct+`","filter":{"role":"inbox"}},"q"]]}`)
	inbox := mb["methodResponses"].([]any)[0].([]any)[1].(map[string]any)["ids"].([]any)[0].(string)
	up := call("POST", "/jmap/upload/"+acct+"/", "message/rfc822",
		"From: Old Friend <friend@example.net>\r\nTo: ann@example.org\r\nSubject: From the old days\r\n\r\nKept in the archive.\r\n")
	res := call("POST", "/jmap/api/", "application/json", `{`+using+`,"methodCalls":[["Email/import",{"accountId":"`+acct+`","emails":{"k":{"blobId":"`+
		up["blobId"].(string)+`","mailboxIds":{"`+inbox+`":true},"keywords":{},"receivedAt":"2020-02-03T04:05:06Z"}}},"i"]]}`)
	if r := res["methodResponses"].([]any)[0].([]any); r[0] != "Email/import" || len(r[1].(map[string]any)["created"].(map[string]any)) != 1 {
		t.Fatalf("import: %v", r)
	}
	adminCall(t, c, "PUT", "/v1/users/ann/archive", `{}`, 201)
	if out := adminCall(t, c, "POST", "/v1/archive/run", `{"login":"ann"}`, 200); !strings.Contains(out, `"archived":1`) {
		t.Fatalf("archive run: %s", out)
	}

	artefacts := os.Getenv("ROOST_TEST_ARTIFACTS")
	if artefacts == "" {
		artefacts = filepath.Join(os.TempDir(), "roost-test-artifacts")
	}
	artefacts = filepath.Join(artefacts, "web-archive-"+time.Now().UTC().Format("20060102T150405"))
	cmd := exec.Command(node, filepath.Join(webDir, "e2e", "archive.mjs"))
	cmd.Dir = webDir
	cmd.Env = append(os.Environ(), "BASE="+base, "USER=ann", "PASS=pw-ann-1", "ARTIFACTS="+artefacts, "CHROMIUM="+chromium,
		"SHOTS="+os.Getenv("ROOST_WEB_SCREENSHOTS"))
	out, err := cmd.CombinedOutput()
	t.Logf("web/e2e/archive.mjs:\n%s", out)
	if err != nil || !strings.Contains(string(out), "\nOK\n") {
		t.Fatalf("browser test failed (%v); screenshots and trace in %s", err, artefacts)
	}
}
