package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, line string
		want       procStat
		bad        bool
	}{
		{name: "roost", line: "4242 (roost) S 1 4242 4242 0 -1 4194560 9120 0 0 0 1234 567 89 10 20 0 12 0 5000 2000000000 9000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0",
			want: procStat{pid: 4242, ppid: 1, self: 1234 + 567, children: 89 + 10}},
		// A command name with spaces and parentheses: fields count from the last ')'.
		{name: "odd comm", line: "77 (imap (x) 1) R 70 77 77 0 -1 0 0 0 0 0 5 6 7 8 20 0 1 0 1 1 1",
			want: procStat{pid: 77, ppid: 70, self: 11, children: 15}},
		{name: "dovecot child", line: "901 (imap-login) S 900 900 900 0 -1 4194624 300 0 0 0 3 4 0 0 20 0 1 0 99 1 1",
			want: procStat{pid: 901, ppid: 900, self: 7}},
		{name: "no name", line: "12 S 1 2 3", bad: true},
		{name: "short", line: "12 (x) S 1 2 3 4 5", bad: true},
		{name: "negative", line: "12 (x) S 1 2 3 4 5 6 7 8 9 10 -1 0 0 0 20 0", bad: true},
		{name: "bad pid", line: "x (x) S 1 2 3 4 5 6 7 8 9 10 1 0 0 0 20 0", bad: true},
	} {
		got, err := parseProcStat(tc.line)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: parsed %+v, want an error", tc.name, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

// TestCPUProbeTree samples a fake /proc: the server's tree is the given pid
// and its descendants (with the reaped children's time), or the processes
// matching --server-cmd and theirs; other processes and the bench itself
// do not count.
func TestCPUProbeTree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	proc := func(pid, ppid int, utime, stime, cutime, cstime int, cmdline string) {
		d := filepath.Join(dir, strconv.Itoa(pid))
		os.MkdirAll(d, 0o755)
		line := fmt.Sprintf("%d (p%d) S %d 1 1 0 -1 0 0 0 0 0 %d %d %d %d 20 0 1 0 1 1 1\n", pid, pid, ppid, utime, stime, cutime, cstime)
		os.WriteFile(filepath.Join(d, "stat"), []byte(line), 0o644)
		os.WriteFile(filepath.Join(d, "cmdline"), []byte(strings.ReplaceAll(cmdline, " ", "\x00")+"\x00"), 0o644)
	}
	proc(1, 0, 1000, 1000, 0, 0, "/sbin/init")
	proc(100, 1, 50, 50, 300, 100, "/usr/sbin/dovecot -c x.conf") // master, with reaped children
	proc(101, 100, 10, 10, 0, 0, "dovecot/imap-login")
	proc(102, 101, 5, 5, 0, 0, "dovecot/imap") // grandchild
	proc(200, 1, 70, 30, 0, 0, "roost serve")
	proc(300, 1, 9, 9, 0, 0, "roost bench imap --server-cmd dovecot") // the bench itself
	os.MkdirAll(filepath.Join(dir, "self"), 0o755)                    // not a pid

	for _, tc := range []struct {
		name  string
		probe cpuProbe
		cpu   time.Duration
		n     int
	}{
		{"pid tree", cpuProbe{pids: []int{100}}, 530 * time.Second / clockTicks, 3},
		{"pattern", cpuProbe{pattern: "dovecot", self: 300}, 530 * time.Second / clockTicks, 3},
		{"roost", cpuProbe{pids: []int{200}}, 100 * time.Second / clockTicks, 1},
		{"two pids", cpuProbe{pids: []int{200, 101}}, 130 * time.Second / clockTicks, 3},
	} {
		tc.probe.proc = dir
		cpu, n, err := tc.probe.sample()
		if err != nil || cpu != tc.cpu || n != tc.n {
			t.Errorf("%s: got %v in %d processes, %v; want %v in %d", tc.name, cpu, n, err, tc.cpu, tc.n)
		}
	}
	if _, _, err := (&cpuProbe{proc: dir, pids: []int{999}}).sample(); err == nil {
		t.Error("a pid that is not running: no error")
	}
	if _, _, err := (&cpuProbe{proc: dir, pattern: "nothing-like-it"}).sample(); err == nil {
		t.Error("a pattern nothing matches: no error")
	}
}

func TestParsePIDs(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "master.pid")
	os.WriteFile(f, []byte("4242\n"), 0o644)
	for in, want := range map[string][]int{"": nil, "12": {12}, "12, 13": {12, 13}, "@" + f: {4242}} {
		got, err := parsePIDs(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("parsePIDs(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "0", "12,", "@/nonexistent/pid"} {
		if _, err := parsePIDs(in); err == nil {
			t.Errorf("parsePIDs(%q): no error", in)
		}
	}
}

// TestChurnPlan checks the sessions drawn from imaptest's state machine:
// each begins with LOGIN and ends with LOGOUT, keeps imaptest's order,
// repeats only FETCH2 and APPEND, always has the 100 % states, and over many
// sessions draws LIST, STATUS and STORE about half the time.
func TestChurnPlan(t *testing.T) {
	t.Parallel()
	order := map[string]int{}
	for i, s := range churnStates {
		order[s.name] = i
	}
	r := rand.New(rand.NewPCG(1, 2))
	count := map[string]int{}
	const sessions = 4000
	for range sessions {
		plan := churnPlan(r)
		if plan[0] != "login" || plan[len(plan)-1] != "logout" {
			t.Fatalf("plan %v: not LOGIN … LOGOUT", plan)
		}
		seen := map[string]bool{}
		for i, s := range plan {
			if i > 0 && order[s] < order[plan[i-1]] {
				t.Fatalf("plan %v: %s after %s", plan, s, plan[i-1])
			}
			if i > 0 && s == plan[i-1] && s != "fetch2" && s != "append" {
				t.Fatalf("plan %v: %s repeated", plan, s)
			}
			if !seen[s] {
				count[s]++
			}
			seen[s] = true
		}
		for _, s := range churnStates {
			if s.prob == 100 && !seen[s.name] {
				t.Fatalf("plan %v: no %s", plan, s.name)
			}
		}
	}
	for _, s := range []string{"list", "status", "store"} {
		if count[s] < sessions*4/10 || count[s] > sessions*6/10 {
			t.Errorf("%s in %d of %d sessions, want about half", s, count[s], sessions)
		}
	}
	if got := loginPlan(r); !slices.Equal(got, []string{"login", "select", "logout"}) {
		t.Errorf("loginPlan = %v", got)
	}
}

// TestChurnCommand checks the commands of each state against imaptest's
// rules: no command needing messages in an empty mailbox, sequence sets
// within the mailbox, APPEND only below the threshold, DELETE only sets
// \Deleted.
func TestChurnCommand(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	set := `(\d+(:\d+)?)(,\d+(:\d+)?)*`
	want := map[string]*regexp.Regexp{
		"list":    regexp.MustCompile(`^LIST "" \*$`),
		"status":  regexp.MustCompile(`^STATUS "INBOX" \(MESSAGES UNSEEN RECENT\)$`),
		"select":  regexp.MustCompile(`^SELECT "INBOX"( \(CONDSTORE\))?$`),
		"fetch":   regexp.MustCompile(`^FETCH ` + set + ` \((UID|FLAGS|ENVELOPE|INTERNALDATE|BODY|BODYSTRUCTURE|RFC822\.SIZE|BODY\.PEEK\[HEADER\.FIELDS \([A-Za-z -]+\)\])( \S+| BODY\.PEEK\[HEADER\.FIELDS \([A-Za-z -]+\)\])*\)$`),
		"fetch2":  regexp.MustCompile(`^FETCH \d+ \(UID (BODY\.PEEK\[HEADER\]|RFC822\.HEADER|BODY\.PEEK\[\]|BODY\.PEEK\[1\]|BODY\.PEEK\[TEXT\])\)$`),
		"store":   regexp.MustCompile(`^STORE ` + set + ` [+-]?FLAGS(\.SILENT)? \(((\\(Answered|Flagged|Seen|Draft)|\$Label[1-5]) ?)*\)$`),
		"delete":  regexp.MustCompile(`^STORE ` + set + ` \+FLAGS(\.SILENT)? \\Deleted$`),
		"expunge": regexp.MustCompile(`^EXPUNGE$`),
		"append":  regexp.MustCompile(`^APPEND$`),
		"logout":  regexp.MustCompile(`^LOGOUT$`),
	}
	nums := regexp.MustCompile(`\d+`)
	for _, s := range churnStates[1:] {
		if got := churnCommand(r, s.name, 0, 30, false); (got == "") != s.selected {
			t.Errorf("%s in an empty mailbox: %q", s.name, got)
		}
		sent := 0
		for range 500 {
			msgs := 1 + r.IntN(60)
			cmd := churnCommand(r, s.name, msgs, 30, r.IntN(2) == 0)
			if cmd == "" {
				continue
			}
			sent++
			if !want[s.name].MatchString(cmd) {
				t.Fatalf("%s: %q", s.name, cmd)
			}
			if s.selected {
				for _, n := range nums.FindAllString(strings.SplitN(cmd, " (", 2)[0], -1) {
					if v, _ := strconv.Atoi(n); v < 1 || v > msgs {
						t.Fatalf("%s with %d messages: %q", s.name, msgs, cmd)
					}
				}
			}
			if s.name == "append" && msgs-msgs/8 >= 30 {
				t.Fatalf("APPEND with %d messages, threshold 30", msgs)
			}
		}
		if sent == 0 {
			t.Errorf("%s: never sent", s.name)
		}
	}
	if got := randomSeqSet(rand.New(rand.NewPCG(5, 6)), 5, 100); got != "1:5" {
		t.Errorf("randomSeqSet picking everything = %q, want 1:5", got)
	}
}

// TestBenchIMAPChurn runs the churn and login profiles briefly against a
// real server with the CPU probe on its pid: every state of imaptest's
// loop runs without errors, the cold phase logs each user in once, and
// the summary lines the script reads are there.
func TestBenchIMAPChurn(t *testing.T) {
	bin := roostBinary(t)
	dir := t.TempDir()
	cfg := quietConfig(t, dir)
	addr := freeAddr(t)
	data, _ := os.ReadFile(cfg)
	data = []byte(strings.Replace(string(data), "imap_listen = \"off\"\n", fmt.Sprintf("imap_listen = %q\nallow_plaintext_auth = true\n", addr), 1))
	if err := os.WriteFile(cfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, bin, cfg, dir)
	defer func() {
		srv.cmd.Process.Signal(syscall.SIGTERM)
		srv.cmd.Wait()
	}()
	for i := 0; i < 3; i++ {
		cmd := exec.Command(bin, "admin", "--config", cfg, "user", "create", fmt.Sprintf("bench%d", i), "--email",
			fmt.Sprintf("bench%d@example.test", i), "--name", "Bench", "--password-stdin")
		cmd.Stdin = strings.NewReader("bench\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	pid := strconv.Itoa(srv.cmd.Process.Pid)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"bench", "imap", "--addr", addr, "--users", "3"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("roost bench imap %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("--clients", "2", "--messages", "12", "--seed-only"); !strings.Contains(out, "seeded 3 users to 12 messages") {
		t.Fatalf("seed: %s", out)
	}
	// One client: sessions of one user racing EXPUNGE against STORE may
	// legitimately get NO, which would count as an error here.
	out := run("--clients", "1", "--profile", "churn", "--messages", "12", "--duration", "4s", "--server-pid", pid)
	cold, warm, ok := strings.Cut(out, "== warm")
	if !ok {
		t.Fatalf("no warm phase:\n%s", out)
	}
	row := func(text, op string) (count, errs int) {
		m := regexp.MustCompile(`(?m)^` + op + `\s+(\d+)\s+\S+\s+\S+\s+\S+\s+\S+\s+(\d+)$`).FindStringSubmatch(text)
		if m == nil {
			return 0, -1
		}
		count, _ = strconv.Atoi(m[1])
		errs, _ = strconv.Atoi(m[2])
		return count, errs
	}
	for _, op := range []string{"login", "select", "logout"} {
		if n, e := row(cold, op); n != 3 || e != 0 {
			t.Errorf("cold phase: %s ran %d times with %d errors, want 3 and 0:\n%s", op, n, e, out)
		}
	}
	for _, s := range churnStates {
		if n, e := row(warm, s.name); e != 0 || (n == 0 && s.prob == 100 && s.name != "delete" && s.name != "append") {
			t.Errorf("warm phase: %s ran %d times with %d errors:\n%s", s.name, n, e, out)
		}
	}
	for _, phase := range []string{"cold", "warm"} {
		if !regexp.MustCompile(`(?m)^result phase=` + phase + ` ops=\d+ ops_per_s=[\d.]+ logins=\d+ logins_per_s=[\d.]+ cpu_s=[\d.]+ cpu_ms_per_op=[\d.]+ cpu_ms_per_login=[\d.]+$`).MatchString(out) {
			t.Errorf("no result line for the %s phase:\n%s", phase, out)
		}
	}
	out = run("--clients", "2", "--profile", "login", "--cold=false", "--duration", "2s", "--server-cmd", "roost serve --config "+cfg)
	if strings.Contains(out, "== cold") || !regexp.MustCompile(`(?m)^result phase=warm .* cpu_ms_per_login=`).MatchString(out) {
		t.Errorf("login profile:\n%s", out)
	}
	for _, op := range []string{"fetch", "store", "list"} {
		if n, _ := row(out, op); n != 0 {
			t.Errorf("login profile ran %s:\n%s", op, out)
		}
	}
}
