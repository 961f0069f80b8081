package easserver_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/roost-mail/roost/internal/easserver"
	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/testenv"
)

// FuzzDispatch feeds arbitrary bodies to every command of a live handler
// with a provisioned device: no panic, no 5xx other than the temporary
// failure, and the handler still serves afterwards.
func FuzzDispatch(f *testing.F) {
	testenv.NeedLibwbxml(f)
	cmds := []string{"Provision", "FolderSync", "FolderCreate", "FolderUpdate", "FolderDelete", "Sync", "GetItemEstimate",
		"Ping", "ItemOperations", "MoveItems", "SendMail", "SmartReply", "SmartForward", "Settings", "MeetingResponse", "Search", "Find", "ResolveRecipients", "ValidateCert"}
	seed := func(n *wbxml.Node) []byte {
		b, err := eas.Encode(n)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(uint8(1), seed(wbxml.El(eas.FolderHierarchy, "FolderSync", wbxml.Str(eas.FolderHierarchy, "SyncKey", "0"))))
	f.Add(uint8(5), seed(wbxml.El(eas.AirSync, "Sync", wbxml.El(eas.AirSync, "Collections", wbxml.El(eas.AirSync, "Collection",
		wbxml.Str(eas.AirSync, "SyncKey", "S1.1.0.1.1"), wbxml.Str(eas.AirSync, "CollectionId", "1"),
		wbxml.El(eas.AirSync, "Commands", wbxml.El(eas.AirSync, "Delete", wbxml.Str(eas.AirSync, "ServerId", "1:1"))))))))
	f.Add(uint8(7), seed(wbxml.El(eas.Ping, "Ping", wbxml.Str(eas.Ping, "HeartbeatInterval", "1"),
		wbxml.El(eas.Ping, "Folders", wbxml.El(eas.Ping, "Folder", wbxml.Str(eas.Ping, "Id", "1"))))))
	f.Add(uint8(13), seed(wbxml.El(eas.Settings, "Settings", wbxml.El(eas.Settings, "Oof", wbxml.El(eas.Settings, "Get")))))
	// A mailbox Search with every query form (index 15).
	f.Add(uint8(15), seed(wbxml.El(eas.Search, "Search", wbxml.El(eas.Search, "Store", wbxml.Str(eas.Search, "Name", "Mailbox"),
		wbxml.El(eas.Search, "Query", wbxml.El(eas.Search, "And", wbxml.Str(eas.AirSync, "Class", "Email"),
			wbxml.Str(eas.AirSync, "CollectionId", "1"), wbxml.Str(eas.Search, "FreeText", "report"),
			wbxml.El(eas.Search, "GreaterThan", wbxml.El(eas.Email, "DateReceived"), wbxml.Str(eas.Search, "Value", "2026-01-01T00:00:00.000Z")),
			wbxml.El(eas.Search, "EqualTo", wbxml.El(eas.AirSync, "CollectionId"), wbxml.Str(eas.Search, "Value", "1")))),
		wbxml.El(eas.Search, "Options", wbxml.Str(eas.Search, "Range", "0-9"), wbxml.El(eas.Search, "DeepTraversal"),
			wbxml.El(eas.AirSyncBase, "BodyPreference", wbxml.Str(eas.AirSyncBase, "Type", "2")))))))
	e := newEnv(f, func(o *easserver.Options) { o.SearchIndex = true })
	d := e.device("alice", "FUZZ")
	d.provision()
	h := easserver.New(easserver.Options{Store: e.db, Hub: e.hub, SearchIndex: true, Authenticate: testenv.Authenticator(e.db, false), MinHeartbeat: 1, MaxHeartbeat: 1})
	post := func(cmd string, body []byte) int {
		req := httptest.NewRequest("POST", easserver.Path+"?Cmd="+cmd+"&User=alice&DeviceId=FUZZ&DeviceType=x", bytes.NewReader(body))
		req.SetBasicAuth("alice", "pw-alice")
		req.Header.Set("MS-ASProtocolVersion", "14.1")
		req.Header.Set("X-MS-PolicyKey", strconv.FormatUint(uint64(d.key), 10))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		cmd := cmds[int(which)%len(cmds)]
		if cmd == "Provision" {
			return // would change the policy key under the other runs
		}
		if code := post(cmd, body); code >= 500 && code != http.StatusServiceUnavailable {
			t.Fatalf("%s: HTTP %d", cmd, code)
		}
	})
}
