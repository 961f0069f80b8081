package app

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// smuggleEnv runs s.serve on a loopback listener with a handler that
// records the paths it serves.
type smuggleEnv struct {
	addr string
	tls  *tls.Config // client config, nil for plain text
	mu   sync.Mutex
	seen []string
}

func newSmuggleEnv(t *testing.T, useTLS bool) *smuggleEnv {
	t.Helper()
	s := &server{o: Options{Stdout: io.Discard}, log: slog.New(slog.DiscardHandler)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &smuggleEnv{addr: ln.Addr().String()}
	var srvTLS *tls.Config
	if useTLS {
		cert, _, err := loadOrCreateCert("", "", t.TempDir(), "localhost")
		if err != nil {
			t.Fatal(err)
		}
		srvTLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		e.tls = &tls.Config{InsecureSkipVerify: true}
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.seen = append(e.seen, r.URL.Path)
		e.mu.Unlock()
		if useTLS && r.TLS == nil {
			http.Error(w, "no TLS state", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "served "+r.URL.Path+" body="+string(body))
	})
	s.serve(ln, srvTLS, h, "http", e.addr)
	t.Cleanup(s.shutdown)
	return e
}

func (e *smuggleEnv) served() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.seen...)
}

func (e *smuggleEnv) dial(t *testing.T) net.Conn {
	t.Helper()
	var c net.Conn
	var err error
	if e.tls != nil {
		c, err = tls.Dial("tcp", e.addr, e.tls)
	} else {
		c, err = net.Dial("tcp", e.addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// exchange writes raw to a new connection and reads everything the server
// sends until it closes the connection (or 5 s pass: then open is true).
func (e *smuggleEnv) exchange(t *testing.T, raw string) (reply string, open bool) {
	t.Helper()
	c := e.dial(t)
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return string(b), true
	}
	return string(b), false
}

// TestSmuggledRequestRefused: RFC 9112 §6.1. A request with both
// Content-Length and Transfer-Encoding is refused with 400, the request
// hidden in its body is never served, and the connection closes.
func TestSmuggledRequestRefused(t *testing.T) {
	t.Parallel()
	for _, useTLS := range []bool{false, true} {
		e := newSmuggleEnv(t, useTLS)
		hidden := "GET /hidden HTTP/1.1\r\nHost: x\r\n\r\n"
		body := "0\r\n\r\n" + hidden
		for _, te := range []string{"Transfer-Encoding: chunked\r\n", "transfer-encoding: CHUNKED\r\n"} {
			raw := "POST /front HTTP/1.1\r\nHost: x\r\n" + te + "Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body
			reply, open := e.exchange(t, raw)
			if open {
				t.Errorf("tls=%v: connection left open after a CL+TE request; got:\n%s", useTLS, reply)
			}
			if !strings.HasPrefix(reply, "HTTP/1.1 400 ") {
				t.Errorf("tls=%v: reply %q, want 400", useTLS, firstLine(reply))
			}
			if strings.Contains(reply, "served /hidden") {
				t.Errorf("tls=%v: the smuggled request was served", useTLS)
			}
		}
		for _, p := range e.served() {
			if p == "/hidden" || p == "/front" {
				t.Errorf("tls=%v: handler saw %s", useTLS, p)
			}
		}
	}
}

// TestFramingKeepsNormalRequests: keep-alive and pipelining still work for
// requests framed by Content-Length, and a chunked request is served but
// closes the connection after its answer.
func TestFramingKeepsNormalRequests(t *testing.T) {
	t.Parallel()
	for _, useTLS := range []bool{false, true} {
		e := newSmuggleEnv(t, useTLS)
		raw := "PUT /one HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
			"GET /two HTTP/1.1\r\nHost: x\r\n\r\n" +
			"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n" +
			"POST /three HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
			"POST /four HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n" +
			"GET /five HTTP/1.1\r\nHost: x\r\n\r\n"
		reply, open := e.exchange(t, raw)
		if open {
			t.Errorf("tls=%v: connection open after a chunked request", useTLS)
		}
		for _, want := range []string{"served /one body=hello", "served /two body=", "served /three body=abc", "served /four body=xyz"} {
			if !strings.Contains(reply, want) {
				t.Errorf("tls=%v: reply lacks %q:\n%s", useTLS, want, reply)
			}
		}
		if strings.Contains(reply, "/five") || strings.Count(reply, "HTTP/1.1 200 ") != 5 {
			t.Errorf("tls=%v: want 5 answers and none after the chunked request:\n%s", useTLS, reply)
		}
		// Keep-alive: request, answer, request, answer on one connection.
		c := e.dial(t)
		br := bufio.NewReader(c)
		for _, p := range []string{"/six", "/seven"} {
			if _, err := io.WriteString(c, "GET "+p+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatalf("tls=%v: %s: %v", useTLS, p, err)
			}
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("tls=%v: %s: %v", useTLS, p, err)
			}
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || res.Close || !strings.Contains(string(b), "served "+p) {
				t.Errorf("tls=%v: %s: %d close=%v %s", useTLS, p, res.StatusCode, res.Close, b)
			}
		}
		c.Close()
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func firstLine(s string) string {
	l, _, _ := bufio.NewReader(strings.NewReader(s)).ReadLine()
	return string(l)
}

// FuzzFrameWatch: the framing watcher reads untrusted bytes. It never
// panics, and how the bytes are split into reads does not change its
// verdicts.
func FuzzFrameWatch(f *testing.F) {
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n"), uint8(1))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n"), uint8(7))
	f.Add([]byte("\r\n\nGET / HTTP/1.0\nContent-Length: -1\n\n"), uint8(3))
	f.Add([]byte("GET / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n"), uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		whole := &frameConn{}
		whole.watch(b)
		split := &frameConn{}
		n := int(step)%17 + 1
		for i := 0; i < len(b); i += n {
			split.watch(b[i:min(i+n, len(b))])
		}
		if len(whole.verdicts) != len(split.verdicts) {
			t.Fatalf("%d verdicts whole, %d split by %d", len(whole.verdicts), len(split.verdicts), n)
		}
		for i := range whole.verdicts {
			if whole.verdicts[i] != split.verdicts[i] {
				t.Fatalf("verdict %d: %+v whole, %+v split by %d", i, whole.verdicts[i], split.verdicts[i], n)
			}
		}
	})
}
