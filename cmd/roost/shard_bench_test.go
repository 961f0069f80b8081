package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestShardedProxyBench measures the frontend's overhead (docs/benchmarks.md,
// "Sharded mode: proxy overhead"): `roost bench imap` and `roost bench
// lmtp` against backend node-a directly and through the frontend node-c,
// alternating in one run (direct, frontend, frontend, direct). It runs only with ROOST_SHARD_BENCH=1 (and
// PostgreSQL); ROOST_SHARD_BENCH_DURATION sets each round (default 8s).
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
	bin := roostBinary(t)
	nodes := startShard(t, bin)
	a, front := nodes[0], nodes[2]
	const users = 4
	for i := range users {
		cmd := exec.Command(bin, "admin", "--data", a.dir, "user", "create", fmt.Sprintf("bench%d", i),
			"--email", fmt.Sprintf("bench%d@example.test", i), "--password-stdin")
		cmd.Stdin = strings.NewReader("bench\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("user create: %v\n%s", err, out)
		}
	}
	setHome(t, a, "node-a", "bench0", "bench1", "bench2", "bench3")
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
	// ABBA: the mailboxes change as the mix appends and expunges, so
	// neither side always runs on the larger ones.
	for round, order := range [][]target{{direct, proxied}, {proxied, direct}} {
		round++
		for _, target := range order {
			t.Logf("round %d, IMAP %s:\n%s", round, target.name, run("imap", "--addr", target.imap, "--users", "4", "--clients", "4",
				"--duration", dur, "--mix", "select=10,fetch=30,store=20,append=10,search=15,expunge=5,idle=10"))
			t.Logf("round %d, LMTP %s:\n%s", round, target.name, run("lmtp", "--addr", target.lmtp, "--rcpt", "bench%d@example.test",
				"--users", "4", "--conns", "4", "--size", "10240", "--duration", dur))
		}
	}
}
