package easserver_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
)

// Remote wipe: once an administrator asks, every command of the device
// gets status 140, Provision answers RemoteWipe, and the device's
// confirmation is recorded (and told to OnWipe, the audit log). 16.1
// devices get an account-only wipe; older ones asked for one are refused.
func TestRemoteWipe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "LOSTPHONE")
	d.provision()
	if r := d.folderSync("0"); r.status() != "1" {
		t.Fatal(r.xml)
	}
	if _, err := mail.RequestWipe(e.as("alice"), e.db, "alice", "NOSUCH", false, "admin", time.Now()); err == nil {
		t.Fatal("wipe of an unknown device")
	}
	if _, err := mail.RequestWipe(e.as("alice"), e.db, "alice", "LOSTPHONE", false, "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := d.folderSync("0"); r.status() != "140" {
		t.Fatalf("after the wipe request: %s", r.xml)
	}
	r := d.do("Provision", `<Provision xmlns="Provision:"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType></Policy></Policies></Provision>`)
	if r.n.Child("RemoteWipe") == nil {
		t.Fatalf("Provision does not wipe: %s", r.xml)
	}
	r = d.do("Provision", `<Provision xmlns="Provision:"><RemoteWipe><Status>1</Status></RemoteWipe></Provision>`)
	if r.status() != "1" {
		t.Fatalf("wipe confirmation: %s", r.xml)
	}
	devs, err := e.listDevices("alice")
	if err != nil || len(devs) != 1 || devs[0].Wipe == nil || devs[0].Wipe.State != mail.WipeDone || devs[0].Wipe.Done.IsZero() {
		t.Fatalf("devices after the wipe: %+v %v", devs, err)
	}
	e.mu.Lock()
	if len(e.wiped) != 1 || e.wiped[0] != "alice/LOSTPHONE/done" {
		t.Fatalf("OnWipe: %v", e.wiped)
	}
	e.mu.Unlock()
	// Still wiped until removed; removal lets it start over.
	if r := d.folderSync("0"); r.status() != "140" {
		t.Fatalf("wiped device: %s", r.xml)
	}
	if err := mail.RemoveDevice(e.as("alice"), e.db, "alice", "LOSTPHONE"); err != nil {
		t.Fatal(err)
	}
	if r := d.folderSync("0"); r.status() != "142" {
		t.Fatalf("removed device: %s", r.xml)
	}
	// Account-only: 16.1 gets AccountOnlyRemoteWipe, 14.1 is refused.
	n := e.device("alice", "NEWPHONE")
	n.version = "16.1"
	n.provision()
	o := e.device("alice", "OLDPHONE")
	o.provision()
	for _, dev := range []string{"NEWPHONE", "OLDPHONE"} {
		if _, err := mail.RequestWipe(e.as("alice"), e.db, "alice", dev, true, "admin", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	prov := `<Provision xmlns="Provision:"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType></Policy></Policies></Provision>`
	if r := n.do("Provision", prov); r.n.Child("AccountOnlyRemoteWipe") == nil || r.n.Child("RemoteWipe") != nil {
		t.Fatalf("16.1 account-only wipe: %s", r.xml)
	}
	if r := o.do("Provision", prov); r.status() != "129" {
		t.Fatalf("14.1 account-only wipe: %s", r.xml)
	}
}

// Bad input gets EAS status codes, and the server goes on serving.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "FUZZPHONE")
	d.provision()
	good := func() {
		t.Helper()
		if r := d.folderSync("0"); r.status() != "1" {
			t.Fatalf("the server stopped serving: %d %s", r.code, r.xml)
		}
	}
	hdr := []byte{0x03, 0x01, 0x6a, 0x00}
	deep := append([]byte{}, hdr...)
	deep = append(deep, 0x00, 0x07) // FolderHierarchy
	for i := 0; i < 10000; i++ {
		deep = append(deep, 0x56) // FolderSync with content
	}
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"truncated", append(append([]byte{}, hdr...), 0x00, 0x07, 0x56, 0x52, 0x03, '0')},
		{"unknown token", append(append([]byte{}, hdr...), 0x00, 0x07, 0x56, 0x7f, 0x01, 0x01)},
		{"unknown code page", append(append([]byte{}, hdr...), 0x00, 0x63, 0x56, 0x01)},
		{"opaque past end", append(append([]byte{}, hdr...), 0x00, 0x07, 0x56, 0x52, 0xC3, 0x8f, 0xff, 0x7f, '0', 0x01, 0x01)},
		{"10000 deep", deep},
		{"not WBXML", []byte("<FolderSync/>")},
	} {
		r := d.post("FolderSync", tc.body)
		if r.code != 200 || r.status() != "102" {
			t.Errorf("%s: %d %s", tc.name, r.code, r.xml)
		}
		good()
	}
	// The wrong root element for the command.
	if r := d.do("FolderSync", `<Ping xmlns="Ping:"><HeartbeatInterval>60</HeartbeatInterval></Ping>`); r.status() != "101" {
		t.Errorf("wrong root: %s", r.xml)
	}
	inbox := id(e.folder("alice", store.SpecialInbox))
	// Huge and malformed SyncKeys.
	for _, k := range []string{strings.Repeat("9", 5000), "S1.2.3", "S" + strings.Repeat("1.", 4) + "99999999999999999999999", "garbage"} {
		r := d.sync(inbox, k, "")
		if c := collection(r); c.ChildText("Status") != "3" {
			t.Errorf("key %.20q: %s", k, r.xml)
		}
	}
	// Another user's, another tenant's and made-up collection ids.
	for _, coll := range []string{id(e.folder("bob", store.SpecialInbox)), id(e.folder("eve", store.SpecialInbox)), "999999", "-1", "x"} {
		r := d.sync(coll, "0", "")
		if c := collection(r); c.ChildText("Status") != "8" {
			t.Errorf("collection %s: %s", coll, r.xml)
		}
		r = d.do("ItemOperations", `<ItemOperations xmlns="ItemOperations:" xmlns:airsync="AirSync:"><Fetch><Store>Mailbox</Store>`+
			`<airsync:CollectionId>`+coll+`</airsync:CollectionId><airsync:ServerId>`+coll+`:1</airsync:ServerId></Fetch></ItemOperations>`)
		if f := r.n.Child("Response").Child("Fetch"); f.ChildText("Status") != "6" {
			t.Errorf("fetch from %s: %s", coll, r.xml)
		}
	}
	// A body over the limit, an unknown command, a bad request line.
	big := newEnvDevice(t, e)
	if r := big.post("FolderSync", bytes.Repeat([]byte{0}, 2<<20)); r.status() != "115" {
		t.Errorf("big body: %d %s", r.code, r.xml)
	}
	if r := d.post("Frobnicate", nil); r.code != 501 {
		t.Errorf("unknown command: %d", r.code)
	}
	bad := *d
	bad.id = "../../etc"
	if r := bad.post("FolderSync", nil); r.code != 400 {
		t.Errorf("bad device id: %d", r.code)
	}
	bad = *d
	bad.version = "2.5"
	if r := bad.post("FolderSync", nil); r.code != 400 {
		t.Errorf("unknown version: %d", r.code)
	}
	// Too many devices.
	for i := 0; i < mail.MaxDevices; i++ {
		x := e.device("bob", "DEV"+itoa(uint32(i)))
		x.post("FolderSync", nil)
	}
	if r := e.device("bob", "ONETOOMANY").folderSync("0"); r.status() != "177" {
		t.Errorf("device over the limit: %s", r.xml)
	}
	good()
	_ = base64.StdEncoding
}

// newEnvDevice is d's twin on a server with a 1 MiB request limit.
func newEnvDevice(t *testing.T, _ *env) *device {
	e := newEnv(t, func(o *easOptions) { o.MaxRequestBytes = 1 << 20 })
	d := e.device("alice", "BIGPHONE")
	d.provision()
	return d
}
