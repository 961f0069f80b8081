package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The session-churn profiles of `roost bench imap`. Unlike the mix profile,
// whose clients log in once and then issue commands for the whole run,
// every client here runs whole sessions back to back — connect, LOGIN, a
// few commands, LOGOUT — so logins and session setup are part of the cost,
// as they are for phones, pollers and imaptest's default benchmark.

// churnState is one state of imaptest's default state machine
// (src/client-state.c: states[], client_get_next_state, do_rand and
// do_rand_again): a session walks the states in this order, doing each
// with probability prob %, and after doing one, doing it again with
// probability again %.
type churnState struct {
	name        string
	prob, again int
	selected    bool // needs a selected mailbox with messages
}

// churnStates are imaptest's defaults with no copybox= given (COPY is then
// off) and no checkpoint=: LOGIN 100, LIST 50, STATUS 50, SELECT 100,
// FETCH 100, FETCH2 100 (again 30), STORE 50, DELETE (STORE +FLAGS
// \Deleted) 100, EXPUNGE 100, APPEND 100 (again 5), LOGOUT 100.
var churnStates = []churnState{
	{"login", 100, 0, false},
	{"list", 50, 0, false},
	{"status", 50, 0, false},
	{"select", 100, 0, false},
	{"fetch", 100, 0, true},
	{"fetch2", 100, 30, true},
	{"store", 50, 0, true},
	{"delete", 100, 0, true},
	{"expunge", 100, 0, true},
	{"append", 100, 5, false},
	{"logout", 100, 0, false},
}

// churnPlan draws the states of one session of the churn profile.
func churnPlan(r *rand.Rand) []string {
	plan := []string{"login"}
	i := 0
	for churnStates[i].name != "logout" {
		if r.IntN(100) < churnStates[i].again {
			plan = append(plan, churnStates[i].name)
			continue
		}
		for i++; r.IntN(100) >= churnStates[i].prob; i++ {
		}
		plan = append(plan, churnStates[i].name)
	}
	return plan
}

// loginPlan is the login/select/logout profile: the cost of a session
// itself.
func loginPlan(*rand.Rand) []string { return []string{"login", "select", "logout"} }

// randomSeqSet picks count message numbers in 1..msgs at random (repeats
// merge, as imaptest's seq_range does) and writes them as an IMAP
// sequence set of ascending ranges.
func randomSeqSet(r *rand.Rand, msgs, count int) string {
	pick := make([]bool, msgs+1)
	for range count {
		pick[1+r.IntN(msgs)] = true
	}
	var b strings.Builder
	for s := 1; s <= msgs; s++ {
		if !pick[s] {
			continue
		}
		e := s
		for e < msgs && pick[e+1] {
			e++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(s))
		if e > s {
			b.WriteString(":" + strconv.Itoa(e))
		}
		s = e
	}
	return b.String()
}

var (
	churnFetchFields  = []string{"UID", "FLAGS", "ENVELOPE", "INTERNALDATE", "BODY", "BODYSTRUCTURE", "RFC822.SIZE"}
	churnHeaderFields = []string{"From", "To", "Cc", "Subject", "References", "In-Reply-To", "Message-ID"}
	churnFetch2Fields = []string{"BODY.PEEK[HEADER]", "RFC822.HEADER", "BODY.PEEK[]", "BODY.PEEK[1]", "BODY.PEEK[TEXT]"}
	churnFlags        = []string{`\Answered`, `\Flagged`, `\Seen`, `\Draft`}
	churnKeywords     = []string{"$Label1", "$Label2", "$Label3", "$Label4", "$Label5"}
)

// churnCommand is the command imaptest would send for state in a mailbox
// of msgs messages, keeping about threshold of them; "" means the state is
// skipped this time. APPEND is returned as "APPEND" and sent with a
// literal by the caller.
func churnCommand(r *rand.Rand, state string, msgs, threshold int, condstore bool) string {
	if msgs == 0 {
		for _, s := range churnStates {
			if s.name == state && s.selected {
				return ""
			}
		}
	}
	switch state {
	case "list":
		return `LIST "" *`
	case "status":
		return `STATUS "INBOX" (MESSAGES UNSEEN RECENT)`
	case "select":
		if condstore {
			return `SELECT "INBOX" (CONDSTORE)`
		}
		return `SELECT "INBOX"`
	case "fetch":
		set := randomSeqSet(r, msgs, min(msgs, 100))
		var items []string
		for i := r.IntN(4) + 1; i > 0; i-- {
			if r.IntN(4) != 0 {
				items = append(items, churnFetchFields[r.IntN(len(churnFetchFields))])
				continue
			}
			var hs []string
			for j := r.IntN(4) + 1; j > 0; j-- {
				hs = append(hs, churnHeaderFields[r.IntN(len(churnHeaderFields))])
			}
			items = append(items, "BODY.PEEK[HEADER.FIELDS ("+strings.Join(hs, " ")+")]")
		}
		return "FETCH " + set + " (" + strings.Join(items, " ") + ")"
	case "fetch2":
		return fmt.Sprintf("FETCH %d (UID %s)", 1+r.IntN(msgs), churnFetch2Fields[r.IntN(len(churnFetch2Fields))])
	case "store":
		limit := msgs
		if msgs >= 10 {
			limit = min(msgs/5, 50)
		}
		count := r.IntN(limit)
		silent := r.IntN(2) == 0
		if count == 0 {
			return ""
		}
		set := randomSeqSet(r, msgs, count)
		sign := [3]string{"+", "-", ""}[r.IntN(3)]
		var fl []string
		for _, f := range churnFlags {
			if r.IntN(2) == 0 {
				fl = append(fl, f)
			}
		}
		if r.IntN(2) == 0 {
			fl = append(fl, churnKeywords[r.IntN(len(churnKeywords))])
		}
		cmd := "STORE " + set + " " + sign + "FLAGS"
		if silent {
			cmd += ".SILENT"
		}
		return cmd + " (" + strings.Join(fl, " ") + ")"
	case "delete":
		// imaptest: bound = 1 + (APPEND% + DELETE%/2) / DELETE%, larger when
		// the mailbox has grown past the threshold; delete fewer than that.
		bound := 1 + (100+100/2)/100
		if msgs > threshold+5 {
			bound += msgs - threshold
		}
		count := min(r.IntN(bound), 1000)
		if count == 0 {
			return ""
		}
		silent := ""
		if r.IntN(2) == 0 {
			silent = ".SILENT"
		}
		return "STORE " + randomSeqSet(r, msgs, count) + " +FLAGS" + silent + ` \Deleted`
	case "expunge":
		return "EXPUNGE"
	case "append":
		if msgs-msgs>>3 >= threshold {
			return ""
		}
		return "APPEND"
	case "logout":
		return "LOGOUT"
	}
	return ""
}

// churnResult is what one phase of a churn run measured.
type churnResult struct {
	lat  map[string][]time.Duration
	errs map[string]int
}

func (c *churnResult) merge(o churnResult) {
	for k, v := range o.lat {
		c.lat[k] = append(c.lat[k], v...)
	}
	for k, v := range o.errs {
		c.errs[k] += v
	}
}

func newChurnResult() churnResult {
	return churnResult{lat: map[string][]time.Duration{}, errs: map[string]int{}}
}

// churnSession runs one session of plan as user and records each command's
// latency under its state's name. It returns false if the connection
// failed, so the caller can tell a dead server from NO replies.
func churnSession(ctx context.Context, cfg benchConfig, user string, plan []string, threshold int, r *rand.Rand, res churnResult) bool {
	c, err := benchDial(cfg)
	if err != nil {
		if ctx.Err() == nil {
			res.errs["connect"]++
		}
		return false
	}
	defer c.c.Close()
	stop := context.AfterFunc(ctx, func() { c.c.SetDeadline(time.Now()) })
	defer stop()
	caps := c.greeting
	msgs := 0
	track := func(lines []string) {
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) < 3 || f[0] != "*" {
				continue
			}
			n, err := strconv.Atoi(f[1])
			if err != nil {
				continue
			}
			switch strings.ToUpper(f[2]) {
			case "EXISTS":
				msgs = n
			case "EXPUNGE":
				msgs = max(msgs-1, 0)
			}
		}
	}
	for _, state := range plan {
		var cmd string
		switch state {
		case "login":
			cmd = fmt.Sprintf("LOGIN %s %s", quoteIMAP(user), quoteIMAP(cfg.password))
		default:
			cmd = churnCommand(r, state, msgs, threshold, strings.Contains(caps, "CONDSTORE"))
		}
		if cmd == "" {
			continue
		}
		t0 := time.Now()
		var lines []string
		if cmd == "APPEND" {
			lines, err = c.appendLiteral("INBOX", churnMessage(r, user))
		} else {
			lines, err = c.cmd("%s", cmd)
		}
		if ctx.Err() != nil {
			return true
		}
		track(lines)
		if state == "login" && err == nil {
			caps += strings.Join(lines, " ") + c.lastTagged
		}
		if err != nil {
			res.errs[state]++
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isNetErr(err) {
				return false
			}
			if state == "login" || state == "select" {
				// The rest of the session needs these; end it as
				// imaptest does (it disconnects on a failed login).
				return true
			}
			continue
		}
		res.lat[state] = append(res.lat[state], time.Since(t0))
	}
	return true
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

// churnMessage is a message of 2–6.5 KB, the size of the mix profile's.
// Its Message-ID names the user: every run replays the same random
// sequence, so without it two users' mailboxes would hold different
// messages with one Message-ID, which imaptest, run on the same
// mailboxes, reports as an ENVELOPE that changed.
func churnMessage(r *rand.Rand, user string) string {
	body := strings.Repeat("The quick brown fox jumps over the lazy dog.\r\n", 40+r.IntN(100))
	return fmt.Sprintf("From: bench@example.test\r\nTo: %s@example.test\r\nSubject: bench %d\r\nMessage-ID: <%d.%s@bench>\r\n\r\n%s",
		user, r.IntN(1000), r.Int64(), user, body)
}

// appendLiteral sends APPEND mailbox {n} and the message once the server
// asks for it.
func (c *iconn) appendLiteral(mailbox, msg string) ([]string, error) {
	c.tag++
	tag := "b" + strconv.Itoa(c.tag)
	fmt.Fprintf(c.w, "%s APPEND %s {%d}\r\n", tag, quoteIMAP(mailbox), len(msg))
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	var lines []string
	for {
		l, err := c.readLine()
		if err != nil {
			return lines, err
		}
		if strings.HasPrefix(l, "+") {
			break
		}
		if strings.HasPrefix(l, tag+" ") {
			return lines, fmt.Errorf("APPEND: %s", strings.TrimSpace(l))
		}
		lines = append(lines, l)
	}
	c.w.WriteString(msg + "\r\n")
	if err := c.w.Flush(); err != nil {
		return lines, err
	}
	more, err := c.readTagged(tag)
	return append(lines, more...), err
}

// churnPhase is one measured phase: its result, wall time, and the
// server's CPU time over it (0 without a probe).
type churnPhase struct {
	res      churnResult
	elapsed  time.Duration
	cpu      time.Duration
	cpuProcs int
}

// runChurnCold logs every user in once (LOGIN, SELECT, LOGOUT), spread
// over the clients: with the server just started, these are the first
// logins of each user, before any credential cache holds them.
func runChurnCold(ctx context.Context, cfg benchConfig, userFmt string, users, clients int, probe *cpuProbe) (churnPhase, error) {
	return measurePhase(probe, func() churnResult {
		all := newChurnResult()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := range min(clients, users) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := newChurnResult()
				r := rand.New(rand.NewPCG(uint64(w), 7))
				for u := w; u < users && ctx.Err() == nil; u += clients {
					churnSession(ctx, cfg, fmt.Sprintf(userFmt, u), loginPlan(r), 0, r, res)
				}
				mu.Lock()
				all.merge(res)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return all
	})
}

// runChurn runs sessions drawn by plan from every client until ctx ends;
// each session logs in as a user picked at random, as imaptest does.
func runChurn(ctx context.Context, cfg benchConfig, userFmt string, users, clients, threshold int, plan func(*rand.Rand) []string, probe *cpuProbe) (churnPhase, error) {
	return measurePhase(probe, func() churnResult {
		all := newChurnResult()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := newChurnResult()
				r := rand.New(rand.NewPCG(uint64(w), 42))
				for ctx.Err() == nil {
					if !churnSession(ctx, cfg, fmt.Sprintf(userFmt, r.IntN(users)), plan(r), threshold, r, res) && ctx.Err() == nil {
						time.Sleep(10 * time.Millisecond) // a refused connection: do not spin
					}
				}
				mu.Lock()
				all.merge(res)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return all
	})
}

func measurePhase(probe *cpuProbe, run func() churnResult) (churnPhase, error) {
	var p churnPhase
	var cpu0 time.Duration
	if probe.enabled() {
		var err error
		if cpu0, _, err = probe.sample(); err != nil {
			return p, err
		}
	}
	start := time.Now()
	p.res = run()
	p.elapsed = time.Since(start)
	if probe.enabled() {
		cpu1, n, err := probe.sample()
		if err != nil {
			return p, err
		}
		p.cpu, p.cpuProcs = cpu1-cpu0, n
	}
	return p, nil
}

// report prints a phase's table and its summary line, which
// scripts/bench-imap.sh reads:
//
//	result phase=warm ops=… ops_per_s=… logins_per_s=… cpu_ms_per_op=… cpu_ms_per_login=…
func (p churnPhase) report(w io.Writer, phase string, withCPU bool) {
	total := printOpTable(w, p.res.lat, p.res.errs, p.elapsed)
	logins := len(p.res.lat["login"])
	secs := p.elapsed.Seconds()
	fmt.Fprintf(w, "%-8s %9d %9.1f\n", "logins", logins, float64(logins)/secs)
	line := fmt.Sprintf("result phase=%s ops=%d ops_per_s=%.1f logins=%d logins_per_s=%.1f", phase, total, float64(total)/secs, logins, float64(logins)/secs)
	if withCPU {
		perOp, perLogin := 0.0, 0.0
		ms := float64(p.cpu) / float64(time.Millisecond)
		if total > 0 {
			perOp = ms / float64(total)
		}
		if logins > 0 {
			perLogin = ms / float64(logins)
		}
		fmt.Fprintf(w, "server CPU %.2f s in %d processes: %.3f ms per op, %.2f ms per login\n", p.cpu.Seconds(), p.cpuProcs, perOp, perLogin)
		line += fmt.Sprintf(" cpu_s=%.2f cpu_ms_per_op=%.3f cpu_ms_per_login=%.2f", p.cpu.Seconds(), perOp, perLogin)
	}
	fmt.Fprintln(w, line)
}
