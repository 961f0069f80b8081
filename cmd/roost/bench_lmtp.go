package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// runBenchLMTP is `roost bench lmtp`: N connections deliver messages of a
// given size, each to one user picked at random, to any LMTP server (Roost
// or Dovecot's lmtp), and it reports deliveries per second and the latency
// of a single delivery (MAIL FROM to the recipient's final reply).
func runBenchLMTP(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("roost bench lmtp", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", "127.0.0.1:1024", "LMTP server address (host:port, or unix:/path)")
	rcptFmt := fl.String("rcpt", "bench%d@bench.test", "recipient address format; %d is the user number")
	users := fl.Int("users", 100, "number of distinct recipients")
	rcpts := fl.Int("rcpts", 1, "recipients per transaction (distinct users)")
	conns := fl.Int("conns", 8, "parallel connections")
	size := fl.Int("size", 10*1024, "message size in bytes")
	duration := fl.Duration("duration", 20*time.Second, "how long to run (at most 10m)")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *duration > 10*time.Minute || *duration <= 0 || *conns < 1 || *conns > 1000 || *users < 1 || *size < 100 || *size > 64<<20 ||
		*rcpts < 1 || *rcpts > *users || *rcpts > 1000 {
		fmt.Fprintln(stderr, "roost bench lmtp: --duration 0..10m, --conns 1..1000, --users ≥ 1, --size 100 B..64 MiB, --rcpts 1..min(users, 1000)")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var failed int
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			l, f, err := lmtpClient(ctx, *addr, *rcptFmt, *users, *rcpts, *size, uint64(i))
			mu.Lock()
			lat = append(lat, l...)
			failed += f
			if err != nil && firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	fmt.Fprintf(stdout, "roost bench lmtp: %s, %d connections, %d recipients, %d per message, %d-byte messages, %s\n",
		*addr, *conns, *users, *rcpts, *size, elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "%-9s %9s %9s %9s %9s %9s %9s %7s\n", "op", "count", "msg/s", "rcpt/s", "p50", "p95", "p99", "errors")
	fmt.Fprintf(stdout, "%-9s %9d %9.1f %9.1f %9s %9s %9s %7d\n", "delivery", len(lat), float64(len(lat))/elapsed.Seconds(),
		float64(len(lat)**rcpts)/elapsed.Seconds(), pct(lat, 50), pct(lat, 95), pct(lat, 99), failed)
	if firstErr != nil {
		fmt.Fprintf(stdout, "first error: %v\n", firstErr)
	}
	if len(lat) == 0 || failed > 0 {
		return 1
	}
	return 0
}

// lmtpClient delivers messages on one connection until ctx ends, each to
// rcpts distinct users.
func lmtpClient(ctx context.Context, addr, rcptFmt string, users, rcpts, size int, seed uint64) ([]time.Duration, int, error) {
	network := "tcp"
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", p
	}
	c, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		return nil, 1, err
	}
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	reply := func() (string, error) {
		var last string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return "", err
			}
			last = strings.TrimRight(l, "\r\n")
			if len(last) < 4 || last[3] != '-' {
				return last, nil
			}
		}
	}
	cmd := func(s string) (string, error) {
		w.WriteString(s + "\r\n")
		if err := w.Flush(); err != nil {
			return "", err
		}
		return reply()
	}
	if l, err := reply(); err != nil || !strings.HasPrefix(l, "220") {
		return nil, 1, fmt.Errorf("greeting %q: %v", l, err)
	}
	if l, err := cmd("LHLO bench.test"); err != nil || !strings.HasPrefix(l, "250") {
		return nil, 1, fmt.Errorf("LHLO: %q %v", l, err)
	}
	rnd := rand.New(rand.NewPCG(seed, 42))
	body := benchMessage(size)
	var lat []time.Duration
	failed := 0
	for n := 0; ctx.Err() == nil; n++ {
		first := rnd.IntN(users)
		t0 := time.Now()
		// Pipelined like an MTA that speaks PIPELINING.
		w.WriteString("MAIL FROM:<sender@example.test>\r\n")
		for j := range rcpts {
			fmt.Fprintf(w, "RCPT TO:<%s>\r\n", fmt.Sprintf(rcptFmt, (first+j)%users))
		}
		w.WriteString("DATA\r\n")
		if err := w.Flush(); err != nil {
			return lat, failed + 1, err
		}
		var bad string
		for k := 0; k < rcpts+2; k++ {
			want := "250"
			if k == rcpts+1 {
				want = "354"
			}
			l, err := reply()
			if err != nil {
				return lat, failed + 1, err
			}
			if !strings.HasPrefix(l, want) && bad == "" {
				bad = l
			}
		}
		if bad != "" {
			// The server refused MAIL or RCPT; end the transaction.
			if _, err := cmd("RSET"); err != nil {
				return lat, failed + 1, err
			}
			return lat, failed + 1, fmt.Errorf("refused: %s", bad)
		}
		fmt.Fprintf(w, "Message-ID: <bench%d.%d@bench.test>\r\n", seed, n)
		w.Write(body)
		w.WriteString(".\r\n")
		if err := w.Flush(); err != nil {
			return lat, failed + 1, err
		}
		ok := true
		for range rcpts { // LMTP answers each recipient (RFC 2033 §4.2)
			l, err := reply()
			if err != nil {
				return lat, failed + 1, err
			}
			ok = ok && strings.HasPrefix(l, "250")
		}
		if !ok {
			failed++
			continue
		}
		lat = append(lat, time.Since(t0))
	}
	cmd("QUIT")
	return lat, failed, nil
}

// benchMessage builds a message body of about size bytes (headers after
// Message-ID, then text lines), dot-stuffing-safe.
func benchMessage(size int) []byte {
	var b strings.Builder
	b.WriteString("From: Sender <sender@example.test>\r\nTo: bench@bench.test\r\nSubject: LMTP benchmark\r\n" +
		"Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
	line := "The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	return []byte(b.String())
}
