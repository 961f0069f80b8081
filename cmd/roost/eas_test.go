package main

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestActiveSyncAgainstServe drives ActiveSync on a real `roost serve`
// over HTTPS, with requests encoded by libwbxml's xml2wbxml and answers
// checked by wbxml2xml: provisioning, FolderSync, initial and
// incremental Sync, a Ping woken by an LMTP delivery, mailbox Search
// finding it by its body, SendMail arriving
// at another user over IMAP, remote wipe through `roost admin device`,
// and the mobile feature gating the endpoint.
func TestActiveSyncAgainstServe(t *testing.T) {
	testenv.NeedLibwbxml(t)
	bin := roostBinary(t)
	dir := t.TempDir()
	cfg := quietConfig(t, dir)
	httpsAddr, imapAddr, lmtpAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	text, _ := os.ReadFile(cfg)
	text = []byte(strings.NewReplacer(`https_listen = "off"`, fmt.Sprintf("https_listen = %q", httpsAddr),
		`imap_listen = "off"`, fmt.Sprintf("imap_listen = %q", imapAddr),
		`lmtp_listen = "off"`, fmt.Sprintf("lmtp_listen = %q", lmtpAddr)).Replace(string(text)) +
		"allow_plaintext_auth = true\nactivesync_require_pin = true\nactivesync_min_pin_length = 6\n" +
		fmt.Sprintf("audit_log_file = %q\n", filepath.Join(dir, "audit.log")))
	if err := os.WriteFile(cfg, text, 0o600); err != nil {
		t.Fatal(err)
	}
	startServer(t, bin, cfg, dir)
	admin := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"admin", "--config", cfg}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("roost admin %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	admin("", "domain", "add", "acme.test")
	admin("alice-pw\n", "user", "create", "alice", "--email", "alice@acme.test", "--name", "Alice", "--password-stdin")
	admin("bob-pw\n", "user", "create", "bob", "--email", "bob@acme.test", "--name", "Bob", "--password-stdin")

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 2 * time.Minute}
	base := "https://" + httpsAddr + "/Microsoft-Server-ActiveSync"
	var policyKey string
	type answer struct {
		code int
		xml  string
		n    *wbxml.Node
	}
	post := func(login, pw, cmd, doc string) answer {
		t.Helper()
		var body []byte
		if doc != "" {
			body = testenv.XML2WBXML(t, doc)
		}
		req, _ := http.NewRequest("POST", base+"?Cmd="+cmd+"&User="+login+"&DeviceId=E2EPHONE&DeviceType=iPhone", bytes.NewReader(body))
		req.SetBasicAuth(login, pw)
		req.Header.Set("Content-Type", "application/vnd.ms-sync.wbxml")
		req.Header.Set("MS-ASProtocolVersion", "14.1")
		if policyKey != "" {
			req.Header.Set("X-MS-PolicyKey", policyKey)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		a := answer{code: res.StatusCode}
		if len(raw) > 0 && res.Header.Get("Content-Type") == "application/vnd.ms-sync.wbxml" {
			a.xml = testenv.WBXML2XML(t, raw)
			if a.n, err = eas.Decode(raw, wbxml.Limits{}); err != nil {
				t.Fatal(err)
			}
		}
		return a
	}
	do := func(cmd, doc string) answer { t.Helper(); return post("alice", "alice-pw", cmd, doc) }

	// OPTIONS, then provisioning with the configured PIN policy.
	req, _ := http.NewRequest("OPTIONS", base, nil)
	req.SetBasicAuth("alice", "alice-pw")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("MS-ASProtocolVersions"), "16.1") {
		t.Fatalf("OPTIONS: %d %v", res.StatusCode, res.Header)
	}
	provDoc := `<Provision xmlns="Provision:"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>%s</Policy></Policies></Provision>`
	a := do("Provision", fmt.Sprintf(provDoc, ""))
	if !strings.Contains(a.xml, "<DevicePasswordEnabled>1</DevicePasswordEnabled>") || !strings.Contains(a.xml, "<MinDevicePasswordLength>6</MinDevicePasswordLength>") {
		t.Fatalf("policy: %s", a.xml)
	}
	temp := a.n.Child("Policies").Child("Policy").ChildText("PolicyKey")
	a = do("Provision", fmt.Sprintf(provDoc, "<PolicyKey>"+temp+"</PolicyKey><Status>1</Status>"))
	policyKey = a.n.Child("Policies").Child("Policy").ChildText("PolicyKey")

	a = do("FolderSync", `<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>`)
	var inbox string
	for _, add := range a.n.Child("Changes").All("Add") {
		if add.ChildText("Type") == "2" {
			inbox = add.ChildText("ServerId")
		}
	}
	if inbox == "" {
		t.Fatalf("no inbox: %s", a.xml)
	}
	syncDoc := func(key string) string {
		return `<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>` + key + `</SyncKey><CollectionId>` + inbox + `</CollectionId></Collection></Collections></Sync>`
	}
	key := do("Sync", syncDoc("0")).n.Child("Collections").Child("Collection").ChildText("SyncKey")
	key = do("Sync", syncDoc(key)).n.Child("Collections").Child("Collection").ChildText("SyncKey")

	// A Ping parks; an LMTP delivery wakes it.
	pinged := make(chan answer, 1)
	go func() {
		pinged <- do("Ping", `<Ping xmlns="Ping:"><HeartbeatInterval>300</HeartbeatInterval><Folders><Folder><Id>`+inbox+`</Id><Class>Email</Class></Folder></Folders></Ping>`)
	}()
	time.Sleep(500 * time.Millisecond) // let it park; a delivery before that answers it at once all the same
	lmtpDeliver(t, lmtpAddr, "bob@acme.test", "alice@acme.test", "From: bob@acme.test\r\nTo: alice@acme.test\r\nSubject: pushed by LMTP\r\n\r\nhello\r\n")
	select {
	case a := <-pinged:
		if !strings.Contains(a.xml, "<Status>2</Status><Folders><Folder>"+inbox+"</Folder></Folders>") {
			t.Fatalf("Ping: %s", a.xml)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the LMTP delivery did not wake the Ping")
	}
	a = do("Sync", syncDoc(key))
	if !strings.Contains(a.xml, ">pushed by LMTP</Subject>") {
		t.Fatalf("incremental Sync: %s", a.xml)
	}
	// Mailbox Search finds it by a word of its body (from the index, or
	// by reading it while the indexer has not reached it yet); an Or is
	// too complex (Store status 8).
	searchDoc := func(query string) string {
		return `<Search xmlns="Search:" xmlns:airsync="AirSync:"><Store><Name>Mailbox</Name><Query>` + query +
			`</Query><Options><Range>0-9</Range><RebuildResults/><DeepTraversal/></Options></Store></Search>`
	}
	a = do("Search", searchDoc(`<And><airsync:Class>Email</airsync:Class><airsync:CollectionId>`+inbox+`</airsync:CollectionId><FreeText>hello</FreeText></And>`))
	if st := a.n.Child("Response").Child("Store"); st.ChildText("Status") != "1" || st.ChildText("Total") != "1" ||
		!strings.Contains(a.xml, ">pushed by LMTP</email:Subject>") && !strings.Contains(a.xml, ">pushed by LMTP</Subject>") {
		t.Fatalf("mailbox Search: %s", a.xml)
	}
	if a := do("Search", searchDoc(`<Or><FreeText>a</FreeText><FreeText>b</FreeText></Or>`)); a.n.Child("Response").Child("Store").ChildText("Status") != "8" {
		t.Fatalf("mailbox Search with Or: %s", a.xml)
	}

	// SendMail to bob, who reads it over IMAP.
	mime := "From: alice@acme.test\r\nTo: bob@acme.test\r\nSubject: from the phone\r\n\r\nhi bob\r\n"
	if a := do("SendMail", `<SendMail xmlns="ComposeMail:"><ClientId>1</ClientId><SaveInSentItems/><MIME>`+base64.StdEncoding.EncodeToString([]byte(mime))+`</MIME></SendMail>`); a.code != 200 || a.xml != "" {
		t.Fatalf("SendMail: %d %s", a.code, a.xml)
	}
	c, err := benchDial(benchConfig{addr: imapAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.c.Close()
	if _, err := c.cmd("LOGIN bob bob-pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cmd("SELECT INBOX"); err != nil {
		t.Fatal(err)
	}
	lines, err := c.cmd("FETCH 1:* (ENVELOPE)")
	if err != nil || !strings.Contains(strings.Join(lines, "\n"), `"from the phone"`) {
		t.Fatalf("bob's inbox over IMAP: %v %q", err, lines)
	}

	// Devices: listed, wiped through Provision, removed.
	var devs []struct {
		ID        string `json:"id"`
		Login     string `json:"login"`
		PolicyKey uint32 `json:"policy_key"`
		Wipe      *struct {
			State string `json:"state"`
		} `json:"wipe"`
	}
	if err := json.Unmarshal([]byte(admin("", "device", "list", "alice", "--json")), &devs); err != nil || len(devs) != 1 ||
		devs[0].ID != "E2EPHONE" || strconv.FormatUint(uint64(devs[0].PolicyKey), 10) != policyKey {
		t.Fatalf("device list: %+v %v", devs, err)
	}
	if out := admin("", "device", "list"); !strings.Contains(out, "E2EPHONE") || !strings.Contains(out, "provisioned") {
		t.Fatalf("device list:\n%s", out)
	}
	admin("", "device", "wipe", "alice", "E2EPHONE")
	if a := do("FolderSync", `<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>`); !strings.Contains(a.xml, "<Status>140</Status>") {
		t.Fatalf("after wipe: %s", a.xml)
	}
	if a := do("Provision", fmt.Sprintf(provDoc, "")); !strings.Contains(a.xml, "<RemoteWipe/>") {
		t.Fatalf("Provision after wipe: %s", a.xml)
	}
	do("Provision", `<Provision xmlns="Provision:"><RemoteWipe><Status>1</Status></RemoteWipe></Provision>`)
	if out := admin("", "device", "list", "alice"); !strings.Contains(out, "wiped") {
		t.Fatalf("device list after wipe:\n%s", out)
	}
	// The audit log has the request and the device's confirmation.
	audit, _ := os.ReadFile(filepath.Join(dir, "audit.log"))
	if !strings.Contains(string(audit), `"action":"POST /v1/users/alice/devices/E2EPHONE/wipe"`) ||
		!strings.Contains(string(audit), `"action":"device wipe confirmed","target":"alice/E2EPHONE"`) {
		t.Fatalf("audit log:\n%s", audit)
	}
	admin("", "device", "remove", "alice", "E2EPHONE")
	if out := admin("", "device", "list", "alice", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("device list after remove: %s", out)
	}

	// The mobile feature gates the endpoint.
	admin("", "user", "update", "bob", "--disable-feature", "mobile")
	if a := post("bob", "bob-pw", "FolderSync", `<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>`); a.code != 403 {
		t.Fatalf("bob without mobile: %d", a.code)
	}
}

// lmtpDeliver delivers one message over LMTP (RFC 2033).
func lmtpDeliver(t *testing.T, addr, from, to, msg string) {
	t.Helper()
	c, err := textproto.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	step := func(code int, format string, args ...any) {
		t.Helper()
		if format != "" {
			if err := c.PrintfLine(format, args...); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := c.ReadResponse(code); err != nil {
			t.Fatalf("LMTP %q: %v", format, err)
		}
	}
	step(220, "")
	step(250, "LHLO test")
	step(250, "MAIL FROM:<%s>", from)
	step(250, "RCPT TO:<%s>", to)
	step(354, "DATA")
	w := c.DotWriter()
	io.WriteString(w, msg)
	w.Close()
	step(250, "")
	c.PrintfLine("QUIT")
}
