package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// runBench is `roost bench imap`: a load generator in the spirit of
// imaptest's benchmark mode. N clients log in and run a weighted mix of
// SELECT, FETCH, STORE, APPEND, SEARCH, EXPUNGE and IDLE against any IMAP
// server (Roost or a peer such as Dovecot), then it reports operations per
// second and latency percentiles per operation. Runs are bounded in time.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "idle" {
		return runBenchIdle(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "lmtp" {
		return runBenchLMTP(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "caldav" {
		return runBenchDAV(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "search" {
		return runBenchSearch(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "eventsource" {
		return runBenchEventSource(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "cpu" {
		return runBenchCPU(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "imap" {
		fmt.Fprintln(stderr, "usage: roost bench imap|idle|lmtp|caldav|search|cpu|eventsource [flags]   (roost bench imap -h for the flags)")
		return 2
	}
	fl := flag.NewFlagSet("roost bench imap", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", "127.0.0.1:1143", "IMAP server address (loopback only in this project's tests)")
	implicitTLS := fl.Bool("tls", false, "implicit TLS (port 993 style)")
	startTLS := fl.Bool("starttls", false, "STARTTLS before logging in")
	userFmt := fl.String("user", "bench%d", "login name format; %d is the user number")
	password := fl.String("password", "bench", "password of every bench user")
	users := fl.Int("users", 10, "number of distinct users (bench0 … benchN-1)")
	clients := fl.Int("clients", 10, "concurrent connections")
	duration := fl.Duration("duration", 20*time.Second, "how long to run (at most 10m)")
	seed := fl.Int("messages", 50, "messages each client appends before the run, if its INBOX has fewer")
	idleWait := fl.Duration("idle-wait", 0, "how long an IDLE op stays idle before DONE (0: leave at once, measuring the IDLE round trip; think time makes the total measure the client's sleep, not the server)")
	mix := fl.String("mix", "select=10,fetch=30,store=20,append=10,search=15,expunge=5,idle=10", "weighted operation mix")
	profile := fl.String("profile", "mix", "mix: each client logs in once and runs --mix; churn: imaptest's default session loop (LOGIN, LIST, STATUS, SELECT, FETCH, STORE, EXPUNGE, APPEND, LOGOUT with its probabilities), --messages is then the mailbox size it keeps (imaptest's msgs=, default 30); login: LOGIN, SELECT, LOGOUT")
	serverPID := fl.String("server-pid", "", "pids of the server (comma-separated, or @pidfile): report the CPU time of their process trees per operation")
	serverCmd := fl.String("server-cmd", "", "report the CPU time per operation of processes whose command line contains this, and their children")
	cold := fl.Bool("cold", true, "churn and login profiles: first log every user in once (LOGIN, SELECT, LOGOUT) and report these first logins separately; right after a server start they miss every credential cache")
	seedOnly := fl.Bool("seed-only", false, "log every user in once, fill INBOX to --messages, and exit")
	if err := fl.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *duration > 10*time.Minute || *duration <= 0 {
		fmt.Fprintln(stderr, "roost bench: --duration must be between 0 and 10m")
		return 2
	}
	if *clients < 1 || *clients > 20000 || *users < 1 {
		fmt.Fprintln(stderr, "roost bench: --clients must be 1..20000 and --users at least 1")
		return 2
	}
	weights, err := parseMix(*mix)
	if err != nil {
		fmt.Fprintf(stderr, "roost bench: --mix: %v\n", err)
		return 2
	}
	if *idleWait < 0 || *idleWait > time.Minute {
		fmt.Fprintln(stderr, "roost bench: --idle-wait must be between 0 and 1m")
		return 2
	}
	cfg := benchConfig{addr: *addr, implicitTLS: *implicitTLS, startTLS: *startTLS, password: *password, seed: *seed, idleWait: *idleWait}
	pids, err := parsePIDs(*serverPID)
	if err != nil {
		fmt.Fprintf(stderr, "roost bench: --server-pid: %v\n", err)
		return 2
	}
	probe := &cpuProbe{proc: "/proc", pids: pids, pattern: *serverCmd, self: os.Getpid()}
	if *seedOnly {
		return benchSeed(ctx, cfg, *userFmt, *users, *clients, stdout, stderr)
	}
	var plan func(*rand.Rand) []string
	switch *profile {
	case "mix":
	case "churn":
		plan = churnPlan
		messagesSet := false
		fl.Visit(func(f *flag.Flag) { messagesSet = messagesSet || f.Name == "messages" })
		if !messagesSet {
			cfg.seed = 30
		}
	case "login":
		plan = loginPlan
	default:
		fmt.Fprintf(stderr, "roost bench: --profile %q: want mix, churn or login\n", *profile)
		return 2
	}
	if plan != nil {
		return benchChurn(ctx, cfg, *profile, plan, *userFmt, *users, *clients, *duration, *cold, probe, stdout, stderr)
	}
	var cpu0 time.Duration
	if probe.enabled() {
		if cpu0, _, err = probe.sample(); err != nil {
			fmt.Fprintf(stderr, "roost bench: %v\n", err)
			return 1
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	errs := map[string]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < *clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			local, lerrs := benchClient(ctx, cfg, fmt.Sprintf(*userFmt, i%*users), weights, int64(i))
			mu.Lock()
			for k, v := range local {
				lat[k] = append(lat[k], v...)
			}
			for k, v := range lerrs {
				errs[k] += v
			}
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "roost bench imap: %s, %d clients, %d users, %s\n", *addr, *clients, *users, elapsed.Round(time.Millisecond))
	total := printOpTable(stdout, lat, errs, elapsed)
	cpuResult := ""
	if probe.enabled() {
		cpu1, n, err := probe.sample()
		if err != nil {
			fmt.Fprintf(stderr, "roost bench: %v\n", err)
			return 1
		}
		ms := float64(cpu1-cpu0) / float64(time.Millisecond)
		fmt.Fprintf(stdout, "server CPU %.2f s in %d processes: %.3f ms per op\n", (cpu1 - cpu0).Seconds(), n, ms/float64(max(total, 1)))
		cpuResult = fmt.Sprintf(" cpu_s=%.2f cpu_ms_per_op=%.3f", (cpu1 - cpu0).Seconds(), ms/float64(max(total, 1)))
	}
	// The mix profile logs each client in once, before its timed work.
	fmt.Fprintf(stdout, "result phase=mix ops=%d ops_per_s=%.1f logins=0 logins_per_s=0%s\n", total, float64(total)/elapsed.Seconds(), cpuResult)
	if errs["login"] > 0 || errs["connect"] > 0 {
		fmt.Fprintf(stdout, "connect errors: %d, login errors: %d\n", errs["connect"], errs["login"])
		return 1
	}
	return 0
}

// printOpTable prints count, rate, latency percentiles and errors per
// operation, and the total; it returns the total count.
func printOpTable(w io.Writer, lat map[string][]time.Duration, errs map[string]int, elapsed time.Duration) int {
	var total int
	var names []string
	for k, v := range lat {
		total += len(v)
		names = append(names, k)
	}
	for k := range errs {
		if _, ok := lat[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	fmt.Fprintf(w, "%-8s %9s %9s %9s %9s %9s %7s\n", "op", "count", "ops/s", "p50", "p95", "p99", "errors")
	for _, k := range names {
		v := lat[k]
		slices.Sort(v)
		fmt.Fprintf(w, "%-8s %9d %9.1f %9s %9s %9s %7d\n", k, len(v), float64(len(v))/elapsed.Seconds(),
			pct(v, 50), pct(v, 95), pct(v, 99), errs[k])
	}
	fmt.Fprintf(w, "%-8s %9d %9.1f\n", "total", total, float64(total)/elapsed.Seconds())
	return total
}

// benchChurn runs the churn or login profile: the first logins of every
// user (with cold), then sessions from every client for duration.
func benchChurn(ctx context.Context, cfg benchConfig, profile string, plan func(*rand.Rand) []string, userFmt string, users, clients int, duration time.Duration, cold bool, probe *cpuProbe, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "roost bench imap: %s, profile %s, %d clients, %d users\n", cfg.addr, profile, clients, users)
	failed := func(p churnPhase) bool { return p.res.errs["connect"] > 0 || p.res.errs["login"] > 0 }
	bad := false
	if cold {
		p, err := runChurnCold(ctx, cfg, userFmt, users, clients, probe)
		if err != nil {
			fmt.Fprintf(stderr, "roost bench: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "== cold: the first login of each user, %s\n", p.elapsed.Round(time.Millisecond))
		p.report(stdout, "cold", probe.enabled())
		bad = failed(p)
	}
	wctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	p, err := runChurn(wctx, cfg, userFmt, users, clients, cfg.seed, plan, probe)
	if err != nil {
		fmt.Fprintf(stderr, "roost bench: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "== warm: sessions back to back, %s\n", p.elapsed.Round(time.Millisecond))
	p.report(stdout, "warm", probe.enabled())
	if bad || failed(p) {
		fmt.Fprintln(stdout, "connect or login errors")
		return 1
	}
	return 0
}

// benchSeed fills every user's INBOX to cfg.seed messages, so a churn run
// starts from imaptest's steady mailbox size rather than growing it.
func benchSeed(ctx context.Context, cfg benchConfig, userFmt string, users, clients int, stdout, stderr io.Writer) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var fails []string
	for w := range min(clients, users) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 3))
			for u := w; u < users && ctx.Err() == nil; u += clients {
				if err := seedUser(cfg, fmt.Sprintf(userFmt, u), r); err != nil {
					mu.Lock()
					fails = append(fails, err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(fails) > 0 {
		fmt.Fprintf(stderr, "roost bench: seeding: %s\n", strings.Join(fails, "; "))
		return 1
	}
	fmt.Fprintf(stdout, "seeded %d users to %d messages\n", users, cfg.seed)
	return 0
}

func seedUser(cfg benchConfig, user string, r *rand.Rand) error {
	c, err := benchDial(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", user, err)
	}
	defer c.c.Close()
	if _, err := c.cmd("LOGIN %s %s", quoteIMAP(user), quoteIMAP(cfg.password)); err != nil {
		return fmt.Errorf("%s: login: %w", user, err)
	}
	lines, err := c.cmd("SELECT INBOX")
	if err != nil {
		return fmt.Errorf("%s: select: %w", user, err)
	}
	exists := 0
	for _, l := range lines {
		if f := strings.Fields(l); len(f) >= 3 && f[2] == "EXISTS" {
			exists, _ = strconv.Atoi(f[1])
		}
	}
	for ; exists < cfg.seed; exists++ {
		if _, err := c.appendLiteral("INBOX", churnMessage(r, user)); err != nil {
			return fmt.Errorf("%s: append: %w", user, err)
		}
	}
	c.cmd("LOGOUT")
	return nil
}

type benchConfig struct {
	addr                  string
	implicitTLS, startTLS bool
	password              string
	seed                  int
	idleWait              time.Duration
}

func parseMix(s string) ([]weighted, error) {
	var out []weighted
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("%q: want op=weight", part)
		}
		switch k {
		case "select", "fetch", "store", "append", "search", "expunge", "idle":
		default:
			return nil, fmt.Errorf("unknown operation %q", k)
		}
		out = append(out, weighted{k, n})
	}
	return out, nil
}

type weighted struct {
	op string
	w  int
}

func pick(r *rand.Rand, ws []weighted) string {
	sum := 0
	for _, w := range ws {
		sum += w.w
	}
	n := r.IntN(max(sum, 1))
	for _, w := range ws {
		if n < w.w {
			return w.op
		}
		n -= w.w
	}
	return ws[0].op
}

func pct(v []time.Duration, p int) string {
	if len(v) == 0 {
		return "-"
	}
	d := v[min(len(v)-1, len(v)*p/100)]
	return d.Round(10 * time.Microsecond).String()
}

// iconn is a minimal IMAP client connection for load generation.
type iconn struct {
	c          net.Conn
	r          *bufio.Reader
	w          *bufio.Writer
	tag        int
	greeting   string // the server's first line
	lastTagged string // the tagged reply of the last command
}

func (c *iconn) readLine() (string, error) {
	l, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	// Skip a literal announced at the end of the line.
	if strings.HasSuffix(l, "}\r\n") {
		if i := strings.LastIndexByte(l, '{'); i >= 0 {
			n, err := strconv.Atoi(strings.TrimSuffix(l[i+1:len(l)-3], "+"))
			if err == nil && n >= 0 {
				if _, err := io.CopyN(io.Discard, c.r, int64(n)); err != nil {
					return "", err
				}
				rest, err := c.readLine()
				return l + rest, err
			}
		}
	}
	return l, nil
}

// cmd sends a command and reads to its tagged response; it returns the
// untagged lines and an error for NO/BAD.
func (c *iconn) cmd(format string, args ...any) ([]string, error) {
	c.tag++
	tag := "b" + strconv.Itoa(c.tag)
	fmt.Fprintf(c.w, tag+" "+format+"\r\n", args...)
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	return c.readTagged(tag)
}

func (c *iconn) readTagged(tag string) ([]string, error) {
	var lines []string
	for {
		l, err := c.readLine()
		if err != nil {
			return lines, err
		}
		if strings.HasPrefix(l, tag+" ") {
			c.lastTagged = l
			if strings.HasPrefix(l[len(tag)+1:], "OK") {
				return lines, nil
			}
			return lines, fmt.Errorf("%s", strings.TrimSpace(l))
		}
		lines = append(lines, l)
	}
}

func benchDial(cfg benchConfig) (*iconn, error) {
	c, err := net.DialTimeout("tcp", cfg.addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{InsecureSkipVerify: true} // a benchmark against the local server's self-signed certificate
	if cfg.implicitTLS {
		c = tls.Client(c, tc)
	}
	ic := &iconn{c: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}
	g, err := ic.readLine()
	if err != nil {
		c.Close()
		return nil, err
	}
	ic.greeting = g
	if cfg.startTLS {
		if _, err := ic.cmd("STARTTLS"); err != nil {
			c.Close()
			return nil, err
		}
		t := tls.Client(c, tc)
		ic.c, ic.r, ic.w = t, bufio.NewReader(t), bufio.NewWriter(t)
	}
	return ic, nil
}

func quoteIMAP(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func benchClient(ctx context.Context, cfg benchConfig, user string, ws []weighted, seed int64) (map[string][]time.Duration, map[string]int) {
	lat := map[string][]time.Duration{}
	errs := map[string]int{}
	c, err := benchDial(cfg)
	if err != nil {
		errs["connect"]++
		return lat, errs
	}
	defer c.c.Close()
	go func() { <-ctx.Done(); c.c.SetDeadline(time.Now()) }()
	if _, err := c.cmd("LOGIN %s %s", quoteIMAP(user), quoteIMAP(cfg.password)); err != nil {
		errs["login"]++
		return lat, errs
	}
	r := rand.New(rand.NewPCG(uint64(seed), 42))
	exists := 0
	sel := func() error {
		lines, err := c.cmd("SELECT INBOX")
		for _, l := range lines {
			if f := strings.Fields(l); len(f) >= 3 && f[2] == "EXISTS" {
				exists, _ = strconv.Atoi(f[1])
			}
		}
		return err
	}
	if err := sel(); err != nil {
		errs["select"]++
		return lat, errs
	}
	appendMsg := func() error {
		_, err := c.appendLiteral("INBOX", churnMessage(r, user))
		return err
	}
	for exists < cfg.seed {
		if err := appendMsg(); err != nil {
			errs["append"]++
			return lat, errs
		}
		exists++
	}
	for ctx.Err() == nil {
		op := pick(r, ws)
		t0 := time.Now()
		var err error
		switch op {
		case "select":
			err = sel()
		case "fetch":
			if exists == 0 {
				continue
			}
			n := 1 + r.IntN(exists)
			if r.IntN(2) == 0 {
				_, err = c.cmd("FETCH 1:* (FLAGS UID)")
			} else {
				_, err = c.cmd("FETCH %d (UID RFC822.SIZE ENVELOPE BODY.PEEK[])", n)
			}
		case "store":
			if exists == 0 {
				continue
			}
			sign := "+"
			if r.IntN(2) == 0 {
				sign = "-"
			}
			_, err = c.cmd("STORE %d %sFLAGS (\\Seen $Bench)", 1+r.IntN(exists), sign)
		case "append":
			err = appendMsg()
			if err == nil {
				exists++
			}
		case "search":
			_, err = c.cmd("SEARCH SUBJECT %q UNSEEN", fmt.Sprint("bench ", r.IntN(1000)))
		case "expunge":
			if exists < cfg.seed {
				continue
			}
			if _, err = c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)"); err == nil {
				_, err = c.cmd("EXPUNGE")
			}
			if err == nil {
				exists--
			}
		case "idle":
			c.tag++
			tag := "b" + strconv.Itoa(c.tag)
			fmt.Fprintf(c.w, "%s IDLE\r\n", tag)
			c.w.Flush()
			// Pending untagged updates may come before the continuation.
			l, e := c.readLine()
			for e == nil && strings.HasPrefix(l, "* ") {
				l, e = c.readLine()
			}
			if e != nil || !strings.HasPrefix(l, "+") {
				err = fmt.Errorf("IDLE: %q %v", l, e)
				break
			}
			if cfg.idleWait > 0 {
				time.Sleep(cfg.idleWait)
			}
			c.w.WriteString("DONE\r\n")
			c.w.Flush()
			_, err = c.readTagged(tag)
		}
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			errs[op]++
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				break
			}
			continue
		}
		lat[op] = append(lat[op], time.Since(t0))
	}
	c.cmd("LOGOUT")
	return lat, errs
}
