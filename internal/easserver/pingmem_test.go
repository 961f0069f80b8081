package easserver_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestParkedPingMemory measures what parked Pings cost the server
// (docs/benchmarks.md): EAS_PING_MEMORY=N parks N Pings from a client
// in another process (this test binary re-run as the client), reports
// the server's heap and stack in use and goroutines per Ping, the same
// for a bare handler that only waits (what net/http itself costs per
// parked request), then delivers one message and reports how long until
// every Ping has answered.
//
//	EAS_PING_MEMORY=5000 go test -run TestParkedPingMemory -v ./internal/easserver/
func TestParkedPingMemory(t *testing.T) {
	if os.Getenv("EAS_PING_CLIENT") != "" {
		pingClient()
		return
	}
	n, _ := strconv.Atoi(os.Getenv("EAS_PING_MEMORY"))
	if n <= 0 {
		t.Skip("set EAS_PING_MEMORY=N to measure N parked Pings")
	}
	e := newEnv(t)
	d := e.device("alice", "MEMPHONE")
	d.provision()
	inbox := e.folder("alice", store.SpecialInbox)
	coll := id(inbox)
	r := d.sync(coll, "0", "")
	d.sync(coll, collection(r).ChildText("SyncKey"), "")
	body := testenv.XML2WBXML(t, `<Ping xmlns="Ping:"><HeartbeatInterval>900</HeartbeatInterval><Folders><Folder><Id>`+coll+`</Id><Class>Email</Class></Folder></Folders></Ping>`)
	bodyFile := t.TempDir() + "/ping.wbxml"
	os.WriteFile(bodyFile, body, 0o600)

	measure := func(url string, parked func() int) (heap, stack, gor float64, client *exec.Cmd) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		client = exec.Command(os.Args[0], "-test.run", "^TestParkedPingMemory$")
		client.Env = append(os.Environ(), "EAS_PING_CLIENT="+url, "EAS_PING_N="+strconv.Itoa(n), "EAS_PING_BODY="+bodyFile,
			"EAS_PING_KEY="+strconv.FormatUint(uint64(d.key), 10))
		client.Stdout, client.Stderr = os.Stderr, os.Stderr
		if err := client.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(5 * time.Minute); parked() < n; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d requests parked", parked(), n)
			}
		}
		time.Sleep(time.Second)
		// A parked request lives through many collections (at least one
		// every two minutes); each halves a stack that is mostly unused,
		// down to what the waiting frames need.
		for i := 0; i < 4; i++ {
			runtime.GC()
		}
		runtime.ReadMemStats(&after)
		k := float64(n) * 1000
		return float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / k, float64(int64(after.StackInuse)-int64(before.StackInuse)) / k,
			float64(runtime.NumGoroutine()-g0) / float64(n), client
	}
	// A bare handler that only waits: net/http's own share.
	var waiting atomicInt
	release := make(chan struct{})
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		waiting.add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	bh, bs, bg, bc := measure(bare.URL, waiting.get)
	close(release)
	bc.Wait()
	bare.Close()
	t.Logf("bare parked HTTP request: heap %.1f KB, stack %.1f KB, %.1f goroutines", bh, bs, bg)

	url := e.url + "/Microsoft-Server-ActiveSync?Cmd=Ping&User=alice&DeviceId=MEMPHONE&DeviceType=x"
	h, s, g, client := measure(url, func() int { return e.hub.Subscribers(inbox.StoreID) })
	t.Logf("%d parked Pings: heap %.1f KB, stack %.1f KB, %.1f goroutines per Ping (server side only)", n, h, s, g)
	start := time.Now()
	e.deliver("alice", store.SpecialInbox, msg("wake up", "now"))
	if err := client.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("delivery to the last of %d Ping answers: %v", n, time.Since(start))
}

type atomicInt struct {
	mu sync.Mutex
	n  int
}

func (a *atomicInt) add(d int) { a.mu.Lock(); a.n += d; a.mu.Unlock() }
func (a *atomicInt) get() int  { a.mu.Lock(); defer a.mu.Unlock(); return a.n }

// pingClient is the client process: N concurrent Pings, each on its own
// connection; it exits when all have answered.
func pingClient() {
	n, _ := strconv.Atoi(os.Getenv("EAS_PING_N"))
	body, _ := os.ReadFile(os.Getenv("EAS_PING_BODY"))
	url := os.Getenv("EAS_PING_CLIENT")
	cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, DisableCompression: true}}
	done := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			req.SetBasicAuth("alice", "pw-alice")
			req.Header.Set("MS-ASProtocolVersion", "14.1")
			req.Header.Set("X-MS-PolicyKey", os.Getenv("EAS_PING_KEY"))
			res, err := cl.Do(req)
			if err == nil {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if strings.Contains(url, "ActiveSync") && (res.StatusCode != 200 || len(b) == 0) {
					err = fmt.Errorf("Ping answered %d with %d bytes", res.StatusCode, len(b))
				}
			}
			done <- err
		}()
		if i%50 == 49 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i := 0; i < n; i++ {
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(0)
}
