package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runBenchIdle is `roost bench idle`: it opens many IMAP connections, logs
// each in, selects INBOX and leaves it in IDLE, then holds them for a while
// so the server's memory per idle connection can be measured from outside.
func runBenchIdle(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("roost bench idle", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", "127.0.0.1:1143", "IMAP server address")
	userFmt := fl.String("user", "bench%d", "login name format; %d is the user number")
	password := fl.String("password", "bench", "password of every bench user")
	users := fl.Int("users", 10, "number of distinct users")
	conns := fl.Int("conns", 1000, "connections to hold in IDLE (at most 20000)")
	parallel := fl.Int("parallel", 4, "connections being set up at once")
	hold := fl.Duration("hold", 10*time.Second, "how long to hold them once all are idle (at most 10m)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *conns < 1 || *conns > 20000 || *hold > 10*time.Minute || *parallel < 1 || *users < 1 {
		fmt.Fprintln(stderr, "roost bench idle: --conns 1..20000, --hold at most 10m, --parallel and --users at least 1")
		return 2
	}
	cfg := benchConfig{addr: *addr, password: *password}
	var (
		mu    sync.Mutex
		open  []*iconn
		fails atomic.Int64
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	start := time.Now()
	for w := 0; w < *parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= *conns || ctx.Err() != nil {
					return
				}
				c, err := benchDial(cfg)
				if err != nil {
					fails.Add(1)
					continue
				}
				if _, err := c.cmd("LOGIN %s %s", quoteIMAP(fmt.Sprintf(*userFmt, i%*users)), quoteIMAP(cfg.password)); err != nil {
					fails.Add(1)
					c.c.Close()
					continue
				}
				if _, err := c.cmd("SELECT INBOX"); err != nil {
					fails.Add(1)
					c.c.Close()
					continue
				}
				c.tag++
				fmt.Fprintf(c.w, "b%d IDLE\r\n", c.tag)
				c.w.Flush()
				l, err := c.readLine()
				for err == nil && strings.HasPrefix(l, "* ") {
					l, err = c.readLine()
				}
				if err != nil || !strings.HasPrefix(l, "+") {
					fails.Add(1)
					c.c.Close()
					continue
				}
				mu.Lock()
				open = append(open, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(stdout, "roost bench idle: %d connections idle on %s (%d failed) after %s; holding %s\n",
		len(open), *addr, fails.Load(), time.Since(start).Round(time.Millisecond), *hold)
	select {
	case <-time.After(*hold):
	case <-ctx.Done():
	}
	for _, c := range open {
		c.c.Close()
	}
	if fails.Load() > 0 {
		return 1
	}
	return 0
}
