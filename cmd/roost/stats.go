package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

const statsUsage = `Usage: roost stats [--data DIR | --config FILE] [--json] [--top]

Shows what the running server is doing (kopano-stats): the system (version,
uptime, database and blob sizes), open sessions per protocol, users,
tenants and the biggest stores. --json prints the same as JSON.

--top is a live view of the busiest users (store changes per second, from
the change journal, and logins) and sessions (bytes per second), refreshed
every 2 seconds; q quits. When standard output is not a terminal it prints
one view (totals since the server started) and exits.
`

// topInterval is how often --top refreshes.
const topInterval = 2 * time.Second

func runStats(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g, rest, err := parseGlobals(args)
	if err != nil {
		return cliFail(stderr, "stats", err)
	}
	top := false
	for _, a := range rest {
		switch {
		case isHelp(a):
			fmt.Fprint(stdout, statsUsage)
			return 0
		case a == "--top" || a == "-top":
			top = true
		default:
			return cliFail(stderr, "stats", usagef("unknown argument %s", a))
		}
	}
	c, err := g.connect()
	if err != nil {
		return cliFail(stderr, "stats", err)
	}
	var raw []byte
	fetch := func() (*Stats, error) {
		var st Stats
		data, err := c.callInto(ctx, "GET", "/v1/stats", nil, &st)
		if err != nil {
			return nil, err
		}
		raw = data
		return &st, nil
	}
	st, err := fetch()
	if err != nil {
		return cliFail(stderr, "stats", err)
	}
	if g.json && !top {
		stdout.Write(raw) // the server's reply as it is
		return 0
	}
	if !top {
		printStats(stdout, st)
		return 0
	}
	if !isTerminal(stdout) {
		drawTop(stdout, nil, st, 0, 20)
		return 0
	}
	return liveTop(ctx, stdin, stdout, stderr, st, fetch)
}

func printStats(w io.Writer, st *Stats) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "System\n")
	fmt.Fprintf(tw, "  version\t%s\n", st.Version)
	fmt.Fprintf(tw, "  started\t%s (up %s)\n", st.Started.Format(time.RFC3339), (time.Duration(st.UptimeSeconds) * time.Second).String())
	if rt := st.Runtime; rt != nil {
		fmt.Fprintf(tw, "  database\t%s, %s\n", rt.Database, humanBytes(rt.DatabaseBytes))
		if rt.BlobBytes >= 0 {
			fmt.Fprintf(tw, "  blobs\t%s in %d files\n", humanBytes(rt.BlobBytes), rt.BlobFiles)
		}
	}
	fmt.Fprintf(tw, "  goroutines\t%d\n  heap\t%s\n  queue\t%d messages\n", st.Goroutines, humanBytes(int64(st.HeapBytes)), st.Queue)
	fmt.Fprintf(tw, "Sessions\n")
	if rt := st.Runtime; rt != nil {
		names := make([]string, 0, len(rt.Sessions))
		for n := range rt.Sessions {
			names = append(names, n)
		}
		sort.Strings(names)
		total := 0
		for _, n := range names {
			fmt.Fprintf(tw, "  %s\t%d\n", n, rt.Sessions[n])
			total += rt.Sessions[n]
		}
		fmt.Fprintf(tw, "  total\t%d\n", total)
	}
	fmt.Fprintf(tw, "Users\n  total\t%d\n  active\t%d\n  non-active\t%d\n  administrators\t%d\n",
		st.Users.Total, st.Users.Active, st.Users.Inactive, st.Users.Admins)
	tw.Flush()
	fmt.Fprintf(w, "Tenants\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  NAME\tUSERS\tSIZE\tMESSAGES\t\n")
	for _, t := range st.Tenants {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%d\t\n", t.Name, t.Users, humanBytes(t.Bytes), t.Messages)
	}
	tw.Flush()
	fmt.Fprintf(w, "Biggest stores\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  LOGIN\tTENANT\tSIZE\tMESSAGES\t\n")
	for i, s := range st.Stores {
		if i == 10 {
			break
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t\n", s.Login, s.Tenant, humanBytes(s.Bytes), s.Messages)
	}
	tw.Flush()
}

// drawTop writes one --top screen. With a previous sample, rates are per
// second over dt; without, the figures are totals since the start.
func drawTop(w io.Writer, prev, cur *Stats, dt time.Duration, rows int) {
	sessions := "-"
	if rt := cur.Runtime; rt != nil {
		var parts []string
		for n, k := range rt.Sessions {
			parts = append(parts, fmt.Sprintf("%s %d", n, k))
		}
		sort.Strings(parts)
		sessions = strings.Join(parts, ", ")
	}
	fmt.Fprintf(w, "roost %s  up %s  users %d  queue %d  sessions: %s\n", cur.Version,
		time.Duration(cur.UptimeSeconds)*time.Second, cur.Users.Total, cur.Queue, sessions)
	rate := prev != nil && dt > 0
	secs := dt.Seconds()

	// Users: store changes (journal growth) and logins.
	type urow struct {
		login, tenant string
		changes       float64
		logins        int64
		last          string
		bytes         int64
	}
	var logins map[string]UserActivity
	if cur.Runtime != nil {
		logins = cur.Runtime.Logins
	}
	old := map[string]uint64{}
	if rate {
		for _, s := range prev.Stores {
			old[s.Login] = s.ModSeq
		}
	}
	var us []urow
	for _, s := range cur.Stores {
		r := urow{login: s.Login, tenant: s.Tenant, bytes: s.Bytes, logins: logins[s.Login].Logins}
		if a, ok := logins[s.Login]; ok {
			r.last = a.Proto
		}
		if rate {
			if o, ok := old[s.Login]; ok && s.ModSeq >= o {
				r.changes = float64(s.ModSeq-o) / secs
			}
		} else {
			r.changes = float64(s.ModSeq)
		}
		us = append(us, r)
	}
	slices.SortFunc(us, func(a, b urow) int {
		switch {
		case a.changes != b.changes:
			if a.changes > b.changes {
				return -1
			}
			return 1
		case a.logins != b.logins:
			if a.logins > b.logins {
				return -1
			}
			return 1
		}
		return strings.Compare(a.login, b.login)
	})
	changesHead := "CHANGES"
	if rate {
		changesHead = "CHANGES/S"
	}
	fmt.Fprintf(w, "\nBusiest users\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "LOGIN\tTENANT\t%s\tLOGINS\tLAST VIA\tSIZE\t\n", changesHead)
	for i, r := range us {
		if i == rows {
			break
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t\n", r.login, r.tenant, fmtRate(r.changes, rate), r.logins, r.last, humanBytes(r.bytes))
	}
	tw.Flush()

	// Sessions: bytes moved.
	fmt.Fprintf(w, "\nBusiest sessions\n")
	if cur.Runtime == nil {
		return
	}
	type srow struct {
		c       ConnStats
		in, out float64
	}
	oldc := map[uint64]ConnStats{}
	if rate && prev.Runtime != nil {
		for _, c := range prev.Runtime.Connections {
			oldc[c.ID] = c
		}
	}
	var ss []srow
	for _, c := range cur.Runtime.Connections {
		r := srow{c: c, in: float64(c.BytesIn), out: float64(c.BytesOut)}
		if rate {
			o := oldc[c.ID]
			r.in, r.out = float64(c.BytesIn-o.BytesIn)/secs, float64(c.BytesOut-o.BytesOut)/secs
		}
		ss = append(ss, r)
	}
	slices.SortFunc(ss, func(a, b srow) int {
		x, y := a.in+a.out, b.in+b.out
		switch {
		case x > y:
			return -1
		case x < y:
			return 1
		}
		return int(a.c.ID) - int(b.c.ID)
	})
	inHead, outHead := "IN", "OUT"
	if rate {
		inHead, outHead = "IN/S", "OUT/S"
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "ID\tLISTENER\tREMOTE\tAGE\t%s\t%s\t\n", inHead, outHead)
	now := time.Now()
	for i, r := range ss {
		if i == rows {
			break
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t\n", r.c.ID, r.c.Listener, r.c.Remote, now.Sub(r.c.Since).Truncate(time.Second),
			humanBytes(int64(r.in)), humanBytes(int64(r.out)))
	}
	tw.Flush()
}

func fmtRate(v float64, rate bool) string {
	if rate {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// liveTop redraws the --top screen until q (or Ctrl-C, or the end of
// standard input).
func liveTop(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, first *Stats, fetch func() (*Stats, error)) int {
	restore := rawTerminal(stdin)
	defer restore()
	keys := make(chan byte, 8)
	go func() {
		buf := make([]byte, 1)
		for {
			n, err := stdin.Read(buf)
			if err != nil {
				close(keys)
				return
			}
			if n == 1 {
				keys <- buf[0]
			}
		}
	}()
	prev, prevAt := first, time.Now()
	draw := func(p, c *Stats, dt time.Duration) {
		var b strings.Builder
		b.WriteString("\x1b[H\x1b[2J")
		drawTop(&b, p, c, dt, 15)
		b.WriteString("\nq: quit\n")
		// Raw mode: a line feed no longer returns the carriage.
		io.WriteString(stdout, strings.ReplaceAll(b.String(), "\n", "\r\n"))
	}
	draw(nil, first, 0)
	tick := time.NewTicker(topInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0
		case k, ok := <-keys:
			if !ok || k == 'q' || k == 'Q' || k == 3 { // 3: Ctrl-C in raw mode
				io.WriteString(stdout, "\r\n")
				return 0
			}
		case <-tick.C:
			cur, err := fetch()
			if err != nil {
				restore()
				return cliFail(stderr, "stats", err)
			}
			now := time.Now()
			draw(prev, cur, now.Sub(prevAt))
			prev, prevAt = cur, now
		}
	}
}

// rawTerminal puts a terminal on stdin into raw mode (keys arrive one by
// one, unechoed) and returns the function that restores it.
func rawTerminal(stdin io.Reader) func() {
	f, ok := stdin.(*os.File)
	if !ok {
		return func() {}
	}
	return makeRaw(int(f.Fd()))
}

// The reply of GET /v1/stats, as far as roost stats shows it (the server's
// types are internal/adminapi's Stats; --json prints the reply as it is).
type (
	Stats struct {
		Version       string        `json:"version"`
		Started       time.Time     `json:"started"`
		UptimeSeconds int64         `json:"uptime_seconds"`
		Goroutines    int           `json:"goroutines"`
		HeapBytes     uint64        `json:"heap_bytes"`
		Runtime       *RuntimeStats `json:"runtime,omitempty"`
		Users         UserCounts    `json:"users"`
		Tenants       []TenantStats `json:"tenants"`
		Stores        []StoreStats  `json:"stores"`
		Queue         int           `json:"queue_messages"`
	}
	RuntimeStats struct {
		Database      string                  `json:"database"`
		DatabaseBytes int64                   `json:"database_bytes"`
		BlobBytes     int64                   `json:"blob_bytes"`
		BlobFiles     int64                   `json:"blob_files"`
		Sessions      map[string]int          `json:"sessions"`
		Connections   []ConnStats             `json:"connections"`
		Logins        map[string]UserActivity `json:"logins"`
	}
	ConnStats struct {
		ID       uint64    `json:"id"`
		Listener string    `json:"listener"`
		Remote   string    `json:"remote"`
		Since    time.Time `json:"since"`
		BytesIn  int64     `json:"bytes_in"`
		BytesOut int64     `json:"bytes_out"`
	}
	UserActivity struct {
		Logins int64     `json:"logins"`
		Last   time.Time `json:"last"`
		Proto  string    `json:"proto"`
	}
	UserCounts struct {
		Total    int `json:"total"`
		Active   int `json:"active"`
		Inactive int `json:"inactive"`
		Admins   int `json:"admins"`
	}
	TenantStats struct {
		Name     string `json:"name"`
		Users    int    `json:"users"`
		Bytes    int64  `json:"bytes"`
		Messages int64  `json:"messages"`
	}
	StoreStats struct {
		Login    string `json:"login"`
		Tenant   string `json:"tenant"`
		Bytes    int64  `json:"bytes"`
		Messages int64  `json:"messages"`
		ModSeq   uint64 `json:"modseq"`
	}
)
