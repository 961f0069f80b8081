package easserver_test

import (
	"fmt"
	"github.com/roost-mail/roost/internal/testenv"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// TestInitialSyncFigures measures (docs/benchmarks.md) the initial Sync
// of an N-message Inbox in windows of 512 (time and WBXML bytes on the
// wire, plain-text bodies truncated to 500 bytes as phones ask), and the
// time from a delivery to a parked Ping's answer.
//
//	EAS_SYNC_BENCH=10000 go test -run TestInitialSyncFigures -v ./internal/easserver/
func TestInitialSyncFigures(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("EAS_SYNC_BENCH"))
	if n <= 0 {
		t.Skip("set EAS_SYNC_BENCH=N to measure the initial Sync of N messages")
	}
	e := newEnv(t)
	d := e.device("alice", "BENCHPHONE")
	d.provision()
	inbox := e.folder("alice", store.SpecialInbox)
	ctx := e.as("alice")
	for i := 0; i < n; i++ {
		m := fmt.Sprintf("From: Bob <bob@acme.test>\r\nTo: alice@acme.test\r\nSubject: message %d\r\nMessage-ID: <m%d@acme.test>\r\n\r\n%s\r\n",
			i, i, strings.Repeat("Some text of a typical short mail. ", 30))
		if _, err := e.db.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader(m)}); err != nil {
			t.Fatal(err)
		}
	}
	coll := id(inbox)
	opts := `<WindowSize>512</WindowSize><Options><airsyncbase:BodyPreference><airsyncbase:Type>1</airsyncbase:Type>` +
		`<airsyncbase:TruncationSize>500</airsyncbase:TruncationSize></airsyncbase:BodyPreference></Options>`
	key := collection(d.sync(coll, "0", "")).ChildText("SyncKey")
	start := time.Now()
	bytes, rounds, items := 0, 0, 0
	var wire time.Duration
	for {
		doc := `<Sync xmlns="AirSync:" xmlns:airsyncbase="AirSyncBase:"><Collections><Collection><SyncKey>` + key +
			`</SyncKey><CollectionId>` + coll + `</CollectionId>` + opts + `</Collection></Collections></Sync>`
		body := xml2wbxmlCached(t, doc)
		t0 := time.Now()
		r := d.post("Sync", body)
		wire += time.Since(t0)
		rounds++
		bytes += len(r.raw)
		c := collection(r)
		items += len(c.Child("Commands").All("Add"))
		key = c.ChildText("SyncKey")
		if c.Child("MoreAvailable") == nil {
			break
		}
	}
	if items != n {
		t.Fatalf("synced %d of %d", items, n)
	}
	t.Logf("initial Sync of %d messages: %d requests, %.1f s in requests (%.1f s with the test's own encoding and decoding), %.1f MB of WBXML (%.0f bytes per message)",
		n, rounds, wire.Seconds(), time.Since(start).Seconds(), float64(bytes)/1e6, float64(bytes)/float64(n))
	// Delivery to Ping answer, one Ping, five times.
	pingDoc := `<Ping xmlns="Ping:"><HeartbeatInterval>300</HeartbeatInterval><Folders><Folder><Id>` + coll + `</Id><Class>Email</Class></Folder></Folders></Ping>`
	pingBody := xml2wbxmlCached(t, pingDoc)
	for i := 0; i < 5; i++ {
		key = collection(d.sync(coll, key, "")).ChildText("SyncKey")
		done := make(chan time.Time, 1)
		go func() { d.post("Ping", pingBody); done <- time.Now() }()
		for e.hub.Subscribers(inbox.StoreID) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		t0 := time.Now()
		e.deliver("alice", store.SpecialInbox, msg("ping "+strconv.Itoa(i), "x"))
		t.Logf("delivery to Ping answer: %v (the delivery itself included)", (<-done).Sub(t0))
	}
}

var wbxmlCache = map[string][]byte{}

func xml2wbxmlCached(t *testing.T, doc string) []byte {
	if b, ok := wbxmlCache[doc]; ok {
		return b
	}
	b := testenv.XML2WBXML(t, doc)
	wbxmlCache[doc] = b
	return b
}
