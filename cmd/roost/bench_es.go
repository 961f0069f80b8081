package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runBenchEventSource is `roost bench eventsource`: it holds many JMAP
// EventSource streams (RFC 8620 §7.3) open, reports the server's memory
// per stream (RSS of --pid, and live heap and goroutine stacks after a
// GC, read through the profiler on the admin socket, before and after), then delivers messages over LMTP to every
// user at once and reports the time from the end of each delivery's DATA
// to the StateChange on every stream.
func runBenchEventSource(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("roost bench eventsource", flag.ContinueOnError)
	fl.SetOutput(stderr)
	base := fl.String("url", "http://127.0.0.1:8080", "the server's HTTP base URL")
	userFmt := fl.String("user", "bench%d", "login name format; %d is the user number")
	password := fl.String("password", "bench", "password of every bench user")
	users := fl.Int("users", 250, "number of distinct users (a user may hold 4 streams by default)")
	conns := fl.Int("conns", 1000, "EventSource streams to hold (at most 20000)")
	parallel := fl.Int("parallel", 8, "streams being opened at once")
	lmtpAddr := fl.String("lmtp", "", "LMTP address (host:port or unix:/path) to deliver to every user; empty: no deliveries")
	rcptFmt := fl.String("rcpt", "bench%d@bench.test", "recipient address format; %d is the user number")
	rounds := fl.Int("deliveries", 5, "delivery rounds, each one LMTP transaction to every user")
	pid := fl.Int("pid", 0, "the server's process id, to read its RSS from /proc (0: not measured)")
	sock := fl.String("admin-sock", "", "the server's admin socket, to read its live heap and stacks after a GC through the profiler (empty: not measured)")
	settle := fl.Duration("settle", 5*time.Second, "wait before each memory reading")
	profile := fl.String("profile", "", "with --admin-sock: save the server's heap and goroutine profiles, streams open, as PREFIX.heap and PREFIX.goroutines")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *conns < 1 || *conns > 20000 || *parallel < 1 || *users < 1 || *rounds < 0 || *rounds > 100 || *users > 1000 {
		fmt.Fprintln(stderr, "roost bench eventsource: --conns 1..20000, --users 1..1000, --parallel ≥ 1, --deliveries 0..100")
		return 2
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true, ResponseHeaderTimeout: 30 * time.Second}
	client := &http.Client{Transport: tr}
	url := strings.TrimRight(*base, "/") + "/jmap/eventsource/?types=*&closeafter=no&ping=0"

	type memory struct{ rss, heap, stack int64 }
	mem := func() (m memory) {
		time.Sleep(*settle)
		if *sock != "" {
			// Collect, give the runtime time to return the freed memory
			// (the first logins' password hashing) to the system, and
			// read the heap after a second collection.
			serverMem(*sock)
			time.Sleep(*settle)
			m.heap, m.stack = serverMem(*sock)
		}
		if *pid > 0 {
			// The runtime returns what the GC freed (the first logins'
			// password hashing) over seconds: wait until RSS holds
			// still (at most a minute).
			m.rss = procRSS(*pid)
			for range 60 {
				time.Sleep(time.Second)
				r := procRSS(*pid)
				if d := r - m.rss; d < 256<<10 && d > -256<<10 {
					m.rss = r
					break
				}
				m.rss = r
			}
		}
		return m
	}
	// Warm up: one stream per user, opened and closed, so that every
	// user's first login (password hashing, the credential cache) is
	// done before the baseline.
	var (
		werr  atomic.Value
		wnext atomic.Int64
		wwg   sync.WaitGroup
	)
	for range *parallel {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			for {
				i := int(wnext.Add(1)) - 1
				if i >= *users || ctx.Err() != nil {
					return
				}
				s, err := openStream(ctx, client, i, url, fmt.Sprintf(*userFmt, i), *password, nil)
				if err != nil {
					werr.Store(err.Error())
					continue
				}
				s.close()
			}
		}()
	}
	wwg.Wait()
	if e, ok := werr.Load().(string); ok {
		fmt.Fprintf(stderr, "roost bench eventsource: warm-up stream: %s\n", e)
		return 1
	}
	m0 := mem()

	events := make(chan esEvent, *conns*2)
	var (
		mu      sync.Mutex
		streams []*esStream
		fails   atomic.Int64
		next    atomic.Int64
		wg      sync.WaitGroup
		lastErr atomic.Value
	)
	start := time.Now()
	for range *parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= *conns || ctx.Err() != nil {
					return
				}
				s, err := openStream(ctx, client, i, url, fmt.Sprintf(*userFmt, i%*users), *password, events)
				if err != nil {
					fails.Add(1)
					lastErr.Store(err.Error())
					continue
				}
				mu.Lock()
				streams = append(streams, s)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	setup := time.Since(start)
	fmt.Fprintf(stdout, "roost bench eventsource: %d streams open on %s (%d failed) in %s, %d users\n",
		len(streams), *base, fails.Load(), setup.Round(time.Millisecond), *users)
	if e, ok := lastErr.Load().(string); ok {
		fmt.Fprintf(stdout, "last error: %s\n", e)
	}
	defer func() {
		for _, s := range streams {
			s.close()
		}
	}()
	m1 := mem()
	if *profile != "" && *sock != "" {
		for _, p := range [][2]string{{"heap?gc=1", ".heap"}, {"goroutine?debug=1", ".goroutines"}} {
			if err := saveProfile(*sock, p[0], *profile+p[1]); err != nil {
				fmt.Fprintf(stderr, "roost bench eventsource: profile: %v\n", err)
			}
		}
	}
	if n := int64(len(streams)); n > 0 {
		if *pid > 0 {
			fmt.Fprintf(stdout, "server RSS: %d KiB before, %d KiB with %d streams: %d bytes per stream\n",
				m0.rss/1024, m1.rss/1024, n, (m1.rss-m0.rss)/n)
		}
		if *sock != "" {
			fmt.Fprintf(stdout, "server live heap + goroutine stacks (after a GC): %d KiB before, %d KiB with %d streams: %d bytes per stream (heap %d, stacks %d)\n",
				(m0.heap+m0.stack)/1024, (m1.heap+m1.stack)/1024, n, (m1.heap+m1.stack-m0.heap-m0.stack)/n,
				(m1.heap-m0.heap)/n, (m1.stack-m0.stack)/n)
		}
	}
	if *lmtpAddr == "" || *rounds == 0 || len(streams) == 0 {
		if fails.Load() > 0 {
			return 1
		}
		return 0
	}
	// Drop what arrived so far (nothing should: no change happened).
	for len(events) > 0 {
		<-events
	}
	var all []time.Duration
	var lastAll, delivered []time.Duration
	missed := 0
	for r := range *rounds {
		t0, took, err := lmtpDeliverAll(ctx, *lmtpAddr, *rcptFmt, *users, r)
		delivered = append(delivered, took)
		if err != nil {
			fmt.Fprintf(stderr, "roost bench eventsource: delivery %d: %v\n", r, err)
			return 1
		}
		// Every stream gets at least one StateChange; the first after t0
		// counts (one delivery journals one entry per store).
		got := map[int]bool{}
		deadline := time.After(30 * time.Second)
		var latest time.Duration
	wait:
		for len(got) < len(streams) {
			select {
			case ev := <-events:
				if got[ev.idx] || ev.at.Before(t0) {
					continue
				}
				got[ev.idx] = true
				d := ev.at.Sub(t0)
				all = append(all, d)
				latest = max(latest, d)
			case <-deadline:
				missed += len(streams) - len(got)
				break wait
			}
		}
		lastAll = append(lastAll, latest)
		// Let the remaining events of this round (stores that journal
		// more than once) drain before the next one.
		time.Sleep(500 * time.Millisecond)
		for len(events) > 0 {
			<-events
		}
	}
	slices.Sort(all)
	slices.Sort(lastAll)
	slices.Sort(delivered)
	fmt.Fprintf(stdout, "LMTP delivery to %d users → StateChange on %d streams, %d rounds (from the end of DATA):\n", *users, len(streams), *rounds)
	fmt.Fprintf(stdout, "%-22s %9s %9s %9s %9s %7s\n", "", "count", "p50", "p99", "max", "missed")
	fmt.Fprintf(stdout, "%-22s %9d %9s %9s %9s %7d\n", "per stream", len(all), pct(all, 50), pct(all, 99), pct(all, 100), missed)
	fmt.Fprintf(stdout, "%-22s %9d %9s %9s %9s %7s\n", "all streams (per round)", len(lastAll), pct(lastAll, 50), pct(lastAll, 99), pct(lastAll, 100), "")
	fmt.Fprintf(stdout, "%-22s %9d %9s %9s %9s %7s\n", "LMTP replies (per round)", len(delivered), pct(delivered, 50), pct(delivered, 99), pct(delivered, 100), "")
	if fails.Load() > 0 || missed > 0 {
		return 1
	}
	return 0
}

// esEvent is a StateChange a stream received.
type esEvent struct {
	idx int
	at  time.Time
}

type esStream struct {
	idx  int
	body io.ReadCloser
}

func (s *esStream) close() { s.body.Close() }

// openStream opens one EventSource stream and, when events is set, reads
// it in a goroutine, sending the arrival time of every state event.
func openStream(ctx context.Context, c *http.Client, idx int, url, user, password string, events chan<- esEvent) (*esStream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(user, password)
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		res.Body.Close()
		return nil, fmt.Errorf("%s: %s %s", user, res.Status, strings.TrimSpace(string(b)))
	}
	s := &esStream{idx: idx, body: res.Body}
	if events != nil {
		go func() {
			r := bufio.NewReader(res.Body)
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if strings.HasPrefix(l, "event: state") {
					events <- esEvent{idx: s.idx, at: time.Now()}
				}
			}
		}()
	}
	return s, nil
}

// lmtpDeliverAll delivers one message to every user in one LMTP
// transaction and returns when the final "." was sent.
func lmtpDeliverAll(ctx context.Context, addr, rcptFmt string, users, round int) (t0 time.Time, took time.Duration, err error) {
	network := "tcp"
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", p
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return time.Time{}, 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	reply := func() (string, error) {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return "", err
			}
			l = strings.TrimRight(l, "\r\n")
			if len(l) < 4 || l[3] != '-' {
				return l, nil
			}
		}
	}
	expect := func(code string) error {
		l, err := reply()
		if err != nil {
			return err
		}
		if !strings.HasPrefix(l, code) {
			return fmt.Errorf("want %s, got %q", code, l)
		}
		return nil
	}
	if err := expect("220"); err != nil {
		return time.Time{}, 0, err
	}
	w.WriteString("LHLO bench.test\r\n")
	w.Flush()
	if err := expect("250"); err != nil {
		return time.Time{}, 0, err
	}
	w.WriteString("MAIL FROM:<sender@example.test>\r\n")
	for i := range users {
		fmt.Fprintf(w, "RCPT TO:<%s>\r\n", fmt.Sprintf(rcptFmt, i))
	}
	w.WriteString("DATA\r\n")
	if err := w.Flush(); err != nil {
		return time.Time{}, 0, err
	}
	for range users + 1 {
		if err := expect("250"); err != nil {
			return time.Time{}, 0, err
		}
	}
	if err := expect("354"); err != nil {
		return time.Time{}, 0, err
	}
	fmt.Fprintf(w, "Message-ID: <es%d.%d@bench.test>\r\n", round, time.Now().UnixNano())
	w.Write(benchMessage(2048))
	w.WriteString(".\r\n")
	if err := w.Flush(); err != nil {
		return time.Time{}, 0, err
	}
	t0 = time.Now()
	for range users {
		if err := expect("250"); err != nil {
			return t0, 0, err
		}
	}
	took = time.Since(t0)
	w.WriteString("QUIT\r\n")
	w.Flush()
	return t0, took, nil
}

// procRSS reads VmRSS of a local process, in bytes.
func procRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n * 1024
		}
	}
	return 0
}

// serverMem runs a GC in the server and reads its live heap and
// goroutine stack bytes (runtime.MemStats through the profiler on the
// admin socket: /debug/pprof/heap?gc=1&debug=1).
func serverMem(sock string) (heap, stack int64) {
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}, Timeout: 30 * time.Second}
	res, err := c.Get("http://roost/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		l := sc.Text()
		if v, ok := strings.CutPrefix(l, "# HeapAlloc = "); ok {
			heap, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
		if v, ok := strings.CutPrefix(l, "# Stack = "); ok {
			in, _, _ := strings.Cut(v, "/")
			stack, _ = strconv.ParseInt(strings.TrimSpace(in), 10, 64)
		}
	}
	return heap, stack
}

func saveProfile(sock, what, file string) error {
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}, Timeout: 60 * time.Second}
	res, err := c.Get("http://roost/debug/pprof/" + what)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
