package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestShardedProxyBench measures the frontend's overhead (docs/benchmarks.md,
// "Sharded mode: proxy overhead"): `roost bench imap` and `roost bench
// lmtp` against backend node-a directly and through the frontend node-c,
// alternating in one run (direct, frontend, frontend, direct), with the
// CPU time node-a and node-c spent per operation (/proc/PID/stat). It
// runs only with ROOST_SHARD_BENCH=1 (and PostgreSQL);
// ROOST_SHARD_BENCH_DURATION sets each round (default 8s), and
// ROOST_SHARD_BENCH_PROFILE=FILE writes a CPU profile of the frontend
// during its first IMAP round and FILE.lmtp during its first LMTP round
// (go tool pprof FILE); ROOST_SHARD_BENCH_CONNS sets the IMAP clients and
// LMTP connections (default 4).
//
//	ROOST_SHARD_BENCH=1 go test ./cmd/roost -run TestShardedProxyBench -v
func TestShardedProxyBench(t *testing.T) {
	if os.Getenv("ROOST_SHARD_BENCH") != "1" {
		t.Skip("set ROOST_SHARD_BENCH=1 to measure the proxy overhead")
	}
	dur := os.Getenv("ROOST_SHARD_BENCH_DURATION")
	if dur == "" {
		dur = "8s"
	}
	d, err := time.ParseDuration(dur)
	if err != nil {
		t.Fatal(err)
	}
	conns := "4"
	if c := os.Getenv("ROOST_SHARD_BENCH_CONNS"); c != "" {
		if n, err := strconv.Atoi(c); err != nil || n < 1 {
			t.Fatalf("ROOST_SHARD_BENCH_CONNS=%q: want a positive number", c)
		}
		conns = c
	}
	bin := roostBinary(t)
	// The frontend runs what a frontend needs, not the jobs (outbound
	// queue, purge, quota monitor, search indexing), which belong on
	// backends: the indexer of a node with the jobs role indexes every
	// store, and on the frontend it took half the process's CPU.
	nodes := startShardConf(t, bin, func(role string) string {
		if role == "frontend" {
			return "roles = [\"imap\", \"pop3\", \"lmtp\", \"http\", \"managesieve\", \"admin\"]\n"
		}
		return ""
	})
	a, front := nodes[0], nodes[2]
	// ROOST_SHARD_BENCH_FRONTEND_CPU=N puts the frontend on CPU N alone,
	// as on a machine of its own; run the test under `taskset -c M` so
	// that the client, the backends, PostgreSQL and the S3 server share
	// CPU M in both the direct and the proxied phases.
	if cpu := os.Getenv("ROOST_SHARD_BENCH_FRONTEND_CPU"); cpu != "" {
		if out, err := exec.Command("taskset", "-a", "-p", "-c", cpu, strconv.Itoa(front.proc.cmd.Process.Pid)).CombinedOutput(); err != nil {
			t.Fatalf("taskset the frontend: %v\n%s", err, out)
		}
		t.Logf("frontend pinned to CPU %s", cpu)
	}
	// bench0-3 for IMAP, lmtp0-3 for LMTP: deliveries do not grow the
	// mailboxes the IMAP rounds work on (a search over 50 messages and
	// one over 900 are different operations).
	const users = 4
	var logins []string
	for _, prefix := range []string{"bench", "lmtp"} {
		for i := range users {
			login := fmt.Sprintf("%s%d", prefix, i)
			cmd := exec.Command(bin, "admin", "--data", a.dir, "user", "create", login,
				"--email", login+"@example.test", "--password-stdin")
			cmd.Stdin = strings.NewReader("bench\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("user create: %v\n%s", err, out)
			}
			logins = append(logins, login)
		}
	}
	setHome(t, a, "node-a", logins...)
	run := func(args ...string) string {
		out, err := exec.Command(bin, append([]string{"bench"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("roost bench %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("imap", "--addr", a.imap, "--users", "4", "--clients", "4", "--seed-only", "--messages", "50")
	type target struct{ name, imap, lmtp string }
	direct, proxied := target{"direct", a.imap, a.lmtp}, target{"frontend", front.imap, front.lmtp}
	cpu := func(n *clusterNode) time.Duration {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n.proc.cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		st, err := parseProcStat(string(b))
		if err != nil {
			t.Fatal(err)
		}
		return time.Duration(st.self) * time.Second / clockTicks
	}
	imapOps := regexp.MustCompile(`result phase=mix ops=(\d+)`)
	lmtpOps := regexp.MustCompile(`(?m)^delivery\s+(\d+)`)
	// The p99 latency of the operation that stands for the protocol:
	// IMAP FETCH and an LMTP delivery (the last column before errors).
	p99 := map[string]*regexp.Regexp{
		"IMAP": regexp.MustCompile(`(?m)^fetch\s+\d+\s+\S+\s+\S+\s+\S+\s+(\S+)\s+\d+\s*$`),
		"LMTP": regexp.MustCompile(`(?m)^delivery\s+\d+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)\s+\d+\s*$`),
	}
	totals := map[string]benchTotal{}
	var summary strings.Builder
	fmt.Fprintf(&summary, "%-6s %-5s %-8s %8s %8s %10s %14s %14s\n", "round", "proto", "target", "ops", "ops/s", "p99", "node-a ms/op", "frontend ms/op")
	phase := func(round int, proto string, tg target, args []string, re *regexp.Regexp, profile string) {
		a0, f0 := cpu(a), cpu(front)
		done := make(chan struct{})
		if profile != "" {
			go func() {
				defer close(done)
				secs := max(int(d.Seconds())-2, 1)
				resp, err := unixClient(filepath.Join(front.dir, "admin.sock")).Get(fmt.Sprintf("http://roost/debug/pprof/profile?seconds=%d", secs))
				if err != nil {
					t.Errorf("profile: %v", err)
					return
				}
				defer resp.Body.Close()
				f, err := os.Create(profile)
				if err != nil {
					t.Errorf("profile: %v", err)
					return
				}
				defer f.Close()
				io.Copy(f, resp.Body)
			}()
		} else {
			close(done)
		}
		out := run(args...)
		<-done
		da, df := cpu(a)-a0, cpu(front)-f0
		t.Logf("round %d, %s %s:\n%s", round, proto, tg.name, out)
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no operation count in:\n%s", out)
		}
		ops, _ := strconv.Atoi(m[1])
		per := func(c time.Duration) float64 { return float64(c) / float64(time.Millisecond) / float64(max(ops, 1)) }
		tot := totals[proto+" "+tg.name]
		tot.ops, tot.a, tot.f = tot.ops+ops, tot.a+da, tot.f+df
		totals[proto+" "+tg.name] = tot
		q := "?"
		if m := p99[proto].FindStringSubmatch(out); m != nil {
			q = m[1]
		}
		fmt.Fprintf(&summary, "%-6d %-5s %-8s %8d %8.1f %10s %14.3f %14.3f\n", round, proto, tg.name, ops, float64(ops)/d.Seconds(), q, per(da), per(df))
	}
	profile := os.Getenv("ROOST_SHARD_BENCH_PROFILE")
	lprofile := ""
	if profile != "" {
		lprofile = profile + ".lmtp"
	}
	// ABBA twice per protocol: what changes during the run (mailboxes
	// grow, other work on the machine) falls on both sides alike.
	order := [][]target{{direct, proxied}, {proxied, direct}, {direct, proxied}, {proxied, direct}}
	for round, pair := range order {
		for _, tg := range pair {
			p := ""
			if tg.name == "frontend" {
				p, profile = profile, ""
			}
			phase(round+1, "IMAP", tg, []string{"imap", "--addr", tg.imap, "--users", "4", "--clients", conns,
				"--duration", dur, "--mix", "select=10,fetch=30,store=20,append=10,search=15,expunge=5,idle=10"}, imapOps, p)
		}
	}
	for round, pair := range order {
		for _, tg := range pair {
			p := ""
			if tg.name == "frontend" {
				p, lprofile = lprofile, ""
			}
			phase(round+1, "LMTP", tg, []string{"lmtp", "--addr", tg.lmtp, "--rcpt", "lmtp%d@example.test",
				"--users", "4", "--conns", conns, "--size", "10240", "--duration", dur}, lmtpOps, p)
		}
	}
	for _, proto := range []string{"IMAP", "LMTP"} {
		d, f := totals[proto+" direct"], totals[proto+" frontend"]
		fmt.Fprintf(&summary, "%s: frontend/direct throughput %.2f; CPU per op direct: node-a %.3f ms; through the frontend: node-a %.3f ms + frontend %.3f ms\n",
			proto, float64(f.ops)/float64(max(d.ops, 1)), d.perOp(d.a), f.perOp(f.a), f.perOp(f.f))
	}
	t.Logf("summary (CPU of each roost process per operation):\n%s", summary.String())
}

// benchTotal sums the phases of one protocol and target: operations and
// the CPU time of node-a (a) and the frontend (f).
type benchTotal struct {
	ops  int
	a, f time.Duration
}

// perOp is c per operation in milliseconds.
func (b benchTotal) perOp(c time.Duration) float64 {
	return float64(c) / float64(time.Millisecond) / float64(max(b.ops, 1))
}
