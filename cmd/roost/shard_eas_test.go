package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/testenv"
)

// easClient speaks ActiveSync to base (…/Microsoft-Server-ActiveSync) as
// one device of login, with requests encoded by libwbxml's xml2wbxml.
type easClient struct {
	t           *testing.T
	base        string
	login, pw   string
	device      string
	policyKey   string
	http        *http.Client
	lastHeaders http.Header
}

type easAnswer struct {
	code int
	xml  string
	n    *wbxml.Node
}

func (c *easClient) do(cmd, doc string) easAnswer {
	c.t.Helper()
	var body []byte
	if doc != "" {
		body = testenv.XML2WBXML(c.t, doc)
	}
	req, _ := http.NewRequest("POST", c.base+"?Cmd="+cmd+"&User="+c.login+"&DeviceId="+c.device+"&DeviceType=iPhone", bytes.NewReader(body))
	req.SetBasicAuth(c.login, c.pw)
	req.Header.Set("Content-Type", "application/vnd.ms-sync.wbxml")
	req.Header.Set("MS-ASProtocolVersion", "14.1")
	if c.policyKey != "" {
		req.Header.Set("X-MS-PolicyKey", c.policyKey)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Errorf("ActiveSync %s: %v", cmd, err)
		return easAnswer{}
	}
	defer res.Body.Close()
	c.lastHeaders = res.Header
	raw, _ := io.ReadAll(res.Body)
	a := easAnswer{code: res.StatusCode}
	if len(raw) > 0 && res.Header.Get("Content-Type") == "application/vnd.ms-sync.wbxml" {
		a.xml = testenv.WBXML2XML(c.t, raw)
		if a.n, err = eas.Decode(raw, wbxml.Limits{}); err != nil {
			c.t.Errorf("ActiveSync %s: %v", cmd, err)
		}
	}
	return a
}

// provision runs both Provision steps and keeps the policy key.
func (c *easClient) provision() {
	c.t.Helper()
	doc := `<Provision xmlns="Provision:"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>%s</Policy></Policies></Provision>`
	a := c.do("Provision", fmt.Sprintf(doc, ""))
	if a.n == nil {
		c.t.Fatalf("Provision: %d %s", a.code, a.xml)
	}
	temp := a.n.Child("Policies").Child("Policy").ChildText("PolicyKey")
	a = c.do("Provision", fmt.Sprintf(doc, "<PolicyKey>"+temp+"</PolicyKey><Status>1</Status>"))
	if a.n == nil {
		c.t.Fatalf("Provision: %d %s", a.code, a.xml)
	}
	c.policyKey = a.n.Child("Policies").Child("Policy").ChildText("PolicyKey")
}

// inbox runs an initial FolderSync and returns the Inbox's ServerId.
func (c *easClient) inbox() string {
	c.t.Helper()
	a := c.do("FolderSync", `<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>`)
	if a.n == nil {
		c.t.Fatalf("FolderSync: %d %s", a.code, a.xml)
	}
	for _, add := range a.n.Child("Changes").All("Add") {
		if add.ChildText("Type") == "2" {
			return add.ChildText("ServerId")
		}
	}
	c.t.Fatalf("FolderSync: no Inbox: %s", a.xml)
	return ""
}

func easSyncDoc(inbox, key string) string {
	return `<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>` + key + `</SyncKey><CollectionId>` + inbox + `</CollectionId></Collection></Collections></Sync>`
}

func easPingDoc(inbox string) string {
	return `<Ping xmlns="Ping:"><HeartbeatInterval>300</HeartbeatInterval><Folders><Folder><Id>` + inbox + `</Id><Class>Email</Class></Folder></Folders></Ping>`
}

// TestShardedActiveSync: ActiveSync through a frontend is served by the
// user's home backend (docs/cluster.md, "HTTP on a frontend"). bob's
// device provisions, syncs its folders and its Inbox through the
// frontend, every request logged by node-b as proxied from the client;
// a Ping parked through the frontend answers when mail is delivered; a
// wrong password is answered 401 by the frontend; and a user without
// the mobile feature gets 403 from the frontend, reaching no backend.
func TestShardedActiveSync(t *testing.T) {
	testenv.PostgresDSN(t)
	testenv.NeedLibwbxml(t)
	bin := roostBinary(t)
	nodes := startShard(t, bin)
	a, b, front := nodes[0], nodes[1], nodes[2]
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node-a log:\n%s\nnode-b log:\n%s\nfrontend log:\n%s", a.proc.out, b.proc.out, front.proc.out)
		}
	})
	lmtpDeliver(t, front.lmtp, "dave@remote.test", "bob@example.test", "Subject: first for bob\r\n\r\nhello\r\n")

	c := &easClient{t: t, base: "http://" + front.http + "/Microsoft-Server-ActiveSync", login: "bob", pw: "secret-pw",
		device: "SHARDPHONE", http: &http.Client{Timeout: 2 * time.Minute}}
	c.provision()
	inbox := c.inbox()
	key := c.do("Sync", easSyncDoc(inbox, "0")).n.Child("Collections").Child("Collection").ChildText("SyncKey")
	s := c.do("Sync", easSyncDoc(inbox, key))
	if !strings.Contains(s.xml, ">first for bob</Subject>") {
		t.Fatalf("Sync through the frontend: %s", s.xml)
	}
	key = s.n.Child("Collections").Child("Collection").ChildText("SyncKey")
	for _, cmd := range []string{"Provision", "FolderSync", "Sync"} {
		if !logHasSoon(b.proc.out, "proxied request", "method=POST", "path=/Microsoft-Server-ActiveSync", "user=bob", "remote=127.0.0.1", "via=127.0.0.4", "cmd="+cmd) {
			t.Errorf("node-b logged no proxied ActiveSync %s of bob from the client via the frontend", cmd)
		}
	}
	if strings.Contains(a.proc.out.String(), "user=bob") || strings.Contains(front.proc.out.String(), "msg=\"proxied request\"") {
		t.Errorf("ActiveSync of bob was served outside node-b")
	}

	// A Ping parked through the frontend on node-b answers a delivery.
	pinged := make(chan easAnswer, 1)
	go func() { pinged <- c.do("Ping", easPingDoc(inbox)) }()
	if !logHasSoon(b.proc.out, "proxied request", "path=/Microsoft-Server-ActiveSync", "user=bob", "cmd=Ping") {
		t.Fatal("node-b logged no proxied Ping")
	}
	time.Sleep(300 * time.Millisecond) // let it park; a delivery before that answers it at once all the same
	lmtpDeliver(t, front.lmtp, "dave@remote.test", "bob@example.test", "Subject: pushed to the phone\r\n\r\nhello\r\n")
	select {
	case p := <-pinged:
		if !strings.Contains(p.xml, "<Status>2</Status><Folders><Folder>"+inbox+"</Folder></Folders>") {
			t.Fatalf("Ping through the frontend: %d %s", p.code, p.xml)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the delivery did not answer the Ping through the frontend")
	}
	if s := c.do("Sync", easSyncDoc(inbox, key)); !strings.Contains(s.xml, ">pushed to the phone</Subject>") {
		t.Fatalf("Sync after the Ping: %s", s.xml)
	}

	// The frontend checks the password and the feature itself.
	bad := &easClient{t: t, base: c.base, login: "bob", pw: "wrong", device: "SHARDPHONE", http: c.http}
	if a := bad.do("FolderSync", `<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>`); a.code != http.StatusUnauthorized {
		t.Errorf("a wrong password through the frontend: %d", a.code)
	}
	adminCLI(t, bin, a.dir, "user", "update", "bob", "--disable-feature", "mobile")
	n := strings.Count(b.proc.out.String(), "path=/Microsoft-Server-ActiveSync")
	if a := c.do("FolderSync", `<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>`); a.code != http.StatusForbidden {
		t.Errorf("bob without the mobile feature through the frontend: %d", a.code)
	}
	if strings.Count(b.proc.out.String(), "path=/Microsoft-Server-ActiveSync") != n {
		t.Errorf("a request refused by the frontend reached node-b")
	}
}
