package easserver_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
)

type faultLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *faultLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *faultLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A store that fails (down, locked, out of disk) reaches the device as
// status 111 "server error, retry later" (HTTP 503 for 12.1), logged,
// never as "not found", "invalid collection" or a failed login.
func TestStoreFaults(t *testing.T) {
	t.Parallel()
	var f *storefault.Backend
	logs := &faultLog{}
	e := newEnv(t, func(o *easOptions) {
		f = storefault.New(o.Store)
		o.Store = f
		o.Authenticate = f.Authenticate("mobile")
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	d := e.device("alice", "FAULTPHONE")
	d.provision()
	it := e.deliver("alice", store.SpecialInbox, msg("faulty", "x"))
	inbox := id(e.folder("alice", store.SpecialInbox))
	sid := inbox + ":" + itoa(it.UID)
	trash := id(e.folder("alice", store.SpecialTrash))
	k := d.sync(inbox, "0", "")
	key := collection(k).ChildText("SyncKey")
	for _, tc := range []struct {
		name    string
		methods []string
		cmd     string
		doc     string
	}{
		{"sync folder", []string{"GetFolder"}, "Sync", `<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>` + key + `</SyncKey><CollectionId>` + inbox + `</CollectionId></Collection></Collections></Sync>`},
		{"fetch item", []string{"ItemByUID"}, "ItemOperations", `<ItemOperations xmlns="ItemOperations:" xmlns:airsync="AirSync:"><Fetch><Store>Mailbox</Store>` +
			`<airsync:CollectionId>` + inbox + `</airsync:CollectionId><airsync:ServerId>` + sid + `</airsync:ServerId></Fetch></ItemOperations>`},
		{"fetch folder", []string{"GetFolder"}, "ItemOperations", `<ItemOperations xmlns="ItemOperations:" xmlns:airsync="AirSync:"><Fetch><Store>Mailbox</Store>` +
			`<airsync:CollectionId>` + inbox + `</airsync:CollectionId><airsync:ServerId>` + sid + `</airsync:ServerId></Fetch></ItemOperations>`},
		{"move", []string{"MoveItems"}, "MoveItems", `<MoveItems xmlns="Move:"><Move><SrcMsgId>` + sid + `</SrcMsgId><SrcFldId>` + inbox + `</SrcFldId><DstFldId>` + trash + `</DstFldId></Move></MoveItems>`},
		{"move folder", []string{"GetFolder"}, "MoveItems", `<MoveItems xmlns="Move:"><Move><SrcMsgId>` + sid + `</SrcMsgId><SrcFldId>` + inbox + `</SrcFldId><DstFldId>` + trash + `</DstFldId></Move></MoveItems>`},
		{"smart forward", []string{"ItemByUID"}, "SmartForward", `<SmartForward xmlns="ComposeMail:"><ClientId>f1</ClientId><Source><FolderId>` + inbox +
			`</FolderId><ItemId>` + sid + `</ItemId></Source><MIME>` + "From: alice@acme.test\r\nTo: bob@acme.test\r\nSubject: fw\r\n\r\nhi\r\n" + `</MIME></SmartForward>`},
		{"estimate", []string{"GetFolder"}, "GetItemEstimate", `<GetItemEstimate xmlns="GetItemEstimate:" xmlns:airsync="AirSync:"><Collections><Collection>` +
			`<airsync:SyncKey>` + key + `</airsync:SyncKey><CollectionId>` + inbox + `</CollectionId></Collection></Collections></GetItemEstimate>`},
		{"device", []string{"StorePropsPrefix"}, "FolderSync", `<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>`},
		{"user store", []string{"UserStore"}, "FolderSync", `<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>`},
	} {
		f.Fail(nil, tc.methods...)
		r := d.do(tc.cmd, tc.doc)
		f.Heal()
		if r.code != 200 || r.status() != "111" {
			t.Errorf("%s: %d %s", tc.name, r.code, r.xml)
		}
		if r.hdr.Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", tc.name)
		}
	}
	if !strings.Contains(logs.String(), storefault.ErrInjected.Error()) {
		t.Errorf("the failures are not logged:\n%s", logs.String())
	}
	// A directory that fails is a temporary failure, not a wrong password.
	f.Fail(nil, "GetUser", "UserByLogin", "Authenticate")
	x := e.device("alice", "FAULTPHONE2")
	r := x.do("FolderSync", `<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>`)
	f.Heal()
	if r.code == 401 || r.code == 403 || r.code < 500 {
		t.Errorf("login with the directory down: HTTP %d", r.code)
	}
	// 12.1 has no common status codes: HTTP 503.
	old := e.device("alice", "OLDFAULTPHONE")
	old.version = "12.1"
	old.provision()
	f.Fail(nil, "GetFolder")
	r = old.do("ItemOperations", `<ItemOperations xmlns="ItemOperations:" xmlns:airsync="AirSync:"><Fetch><Store>Mailbox</Store>`+
		`<airsync:CollectionId>`+inbox+`</airsync:CollectionId><airsync:ServerId>`+sid+`</airsync:ServerId></Fetch></ItemOperations>`)
	f.Heal()
	if r.code != 503 {
		t.Errorf("12.1 fetch: HTTP %d %s", r.code, r.xml)
	}
}
