package app

import (
	"fmt"
	"net"
	"strings"
	"testing"
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
	call, acct, inbox := webJMAP(t, base, "ann", "pw-ann-1")
	up := call("POST", "/jmap/upload/"+acct+"/", "message/rfc822",
		"From: Old Friend <friend@example.net>\r\nTo: ann@example.org\r\nSubject: From the old days\r\n\r\nKept in the archive.\r\n")
	res := call("POST", "/jmap/api/", "application/json", `{`+jmapMailUsing+`,"methodCalls":[["Email/import",{"accountId":"`+acct+`","emails":{"k":{"blobId":"`+
		up["blobId"].(string)+`","mailboxIds":{"`+inbox+`":true},"keywords":{},"receivedAt":"2020-02-03T04:05:06Z"}}},"i"]]}`)
	if r := res["methodResponses"].([]any)[0].([]any); r[0] != "Email/import" || len(r[1].(map[string]any)["created"].(map[string]any)) != 1 {
		t.Fatalf("import: %v", r)
	}
	adminCall(t, c, "PUT", "/v1/users/ann/archive", `{}`, 201)
	if out := adminCall(t, c, "POST", "/v1/archive/run", `{"login":"ann"}`, 200); !strings.Contains(out, `"archived":1`) {
		t.Fatalf("archive run: %s", out)
	}

	runWebE2E(t, node, chromium, webDir, "archive.mjs", "web-archive",
		"BASE="+base, "USER=ann", "PASS=pw-ann-1")
}
