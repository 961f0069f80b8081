package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The load tools report the CPU time the server spent per operation next
// to throughput, so that a server that is fast because it burns both cores
// and one that is fast because it does little work can be told apart on a
// shared machine. The figure comes from /proc/<pid>/stat of the server's
// process tree, sampled before and after a phase (proc(5)).

// clockTicks is USER_HZ, the unit of the times in /proc/<pid>/stat. It is
// 100 on every Linux architecture Go supports (the kernel's ABI fixes it;
// sysconf(_SC_CLK_TCK) would need cgo to ask).
const clockTicks = 100

// procStat is what the CPU reader needs from one /proc/<pid>/stat line.
type procStat struct {
	pid, ppid int
	// utime+stime: the process's own CPU; cutime+cstime: that of the
	// children it has waited for — processes that lived and died inside
	// the tree during the phase (Dovecot's imap-login and imap processes
	// with a limited service_count).
	self, children uint64
}

// parseProcStat parses one /proc/<pid>/stat line. The command name is in
// parentheses and may itself contain spaces and parentheses, so the fields
// are counted from the last ')'.
func parseProcStat(line string) (procStat, error) {
	open := strings.IndexByte(line, '(')
	end := strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("stat line %.40q: no command name", line)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line[:open]))
	if err != nil {
		return procStat{}, fmt.Errorf("stat line %.40q: pid: %w", line, err)
	}
	// After ")": state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17),
	// numbered as in proc(5); f[0] is field 3.
	f := strings.Fields(line[end+1:])
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("stat line of pid %d: %d fields after the name", pid, len(f))
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procStat{}, fmt.Errorf("stat line of pid %d: ppid: %w", pid, err)
	}
	var t [4]uint64
	for i := range t {
		// cutime and cstime are signed in the kernel's format; they are
		// never negative in practice.
		n, err := strconv.ParseInt(f[11+i], 10, 64)
		if err != nil || n < 0 {
			return procStat{}, fmt.Errorf("stat line of pid %d: field %d: %q", pid, 14+i, f[11+i])
		}
		t[i] = uint64(n)
	}
	return procStat{pid: pid, ppid: ppid, self: t[0] + t[1], children: t[2] + t[3]}, nil
}

// cpuProbe measures the CPU time of a server's process tree: the processes
// given by pid, those whose command line contains a pattern, and all their
// descendants, found afresh at each sample because servers fork per
// connection.
type cpuProbe struct {
	proc    string // "/proc", a directory of the same shape in tests
	pids    []int
	pattern string
	self    int // this process, excluded: its own command line holds the pattern
}

func (p *cpuProbe) enabled() bool { return p != nil && (len(p.pids) > 0 || p.pattern != "") }

// sample returns the tree's total CPU time and how many processes it had.
// The total counts, for every live process of the tree, its own time and
// the time of its reaped children; a child that exits between two samples
// moves its time from the first count to its parent's second, so the
// difference is the CPU spent in between.
func (p *cpuProbe) sample() (time.Duration, int, error) {
	ents, err := os.ReadDir(p.proc)
	if err != nil {
		return 0, 0, fmt.Errorf("cpu probe: %w", err)
	}
	all := map[int]procStat{}
	kids := map[int][]int{}
	roots := map[int]bool{}
	for _, pid := range p.pids {
		roots[pid] = true
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == p.self {
			continue
		}
		b, err := os.ReadFile(filepath.Join(p.proc, e.Name(), "stat"))
		if err != nil {
			continue // exited since ReadDir
		}
		st, err := parseProcStat(strings.TrimSpace(string(b)))
		if err != nil {
			return 0, 0, fmt.Errorf("cpu probe: %w", err)
		}
		all[pid] = st
		kids[st.ppid] = append(kids[st.ppid], pid)
		if p.pattern != "" {
			cl, err := os.ReadFile(filepath.Join(p.proc, e.Name(), "cmdline"))
			if err == nil && strings.Contains(strings.ReplaceAll(string(cl), "\x00", " "), p.pattern) {
				roots[pid] = true
			}
		}
	}
	for _, pid := range p.pids {
		if _, ok := all[pid]; !ok {
			return 0, 0, fmt.Errorf("cpu probe: server pid %d not running", pid)
		}
	}
	seen := map[int]bool{}
	var ticks uint64
	var walk func(int)
	walk = func(pid int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		st := all[pid]
		ticks += st.self + st.children
		for _, k := range kids[pid] {
			walk(k)
		}
	}
	for pid := range roots {
		walk(pid)
	}
	if len(seen) == 0 {
		return 0, 0, fmt.Errorf("cpu probe: no process matches %q", p.pattern)
	}
	return time.Duration(ticks) * time.Second / clockTicks, len(seen), nil
}

// parsePIDs parses --server-pid: pids separated by commas, or "@file" to
// read one (a pid file such as Dovecot's master.pid).
func parsePIDs(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	if name, ok := strings.CutPrefix(s, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		s = strings.TrimSpace(string(b))
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want a pid", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// runBenchCPU is `roost bench cpu`: it prints the CPU time a server's
// process tree has used so far, so that a script can take the difference
// around a run of another load tool (imaptest).
func runBenchCPU(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("roost bench cpu", flag.ContinueOnError)
	fl.SetOutput(stderr)
	serverPID := fl.String("server-pid", "", "pids of the server (comma-separated, or @pidfile)")
	serverCmd := fl.String("server-cmd", "", "processes whose command line contains this")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	pids, err := parsePIDs(*serverPID)
	if err != nil {
		fmt.Fprintf(stderr, "roost bench cpu: --server-pid: %v\n", err)
		return 2
	}
	p := &cpuProbe{proc: "/proc", pids: pids, pattern: *serverCmd, self: os.Getpid()}
	if !p.enabled() {
		fmt.Fprintln(stderr, "roost bench cpu: give --server-pid or --server-cmd")
		return 2
	}
	cpu, n, err := p.sample()
	if err != nil {
		fmt.Fprintf(stderr, "roost bench cpu: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "cpu_s=%.2f procs=%d\n", cpu.Seconds(), n)
	return 0
}
