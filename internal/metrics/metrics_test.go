package metrics

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sample is one parsed line of the text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$`)

// parseText parses the text exposition format strictly enough to catch
// what Prometheus would reject: every sample belongs to the family of
// the preceding TYPE line, label values are properly quoted and escaped,
// values parse as floats.
func parseText(t *testing.T, text string) (types map[string]string, samples []sample) {
	t.Helper()
	types = map[string]string{}
	cur := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			if _, dup := types[name]; dup {
				t.Fatalf("family %s twice", name)
			}
			types[name], cur = typ, name
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("bad line %q", line)
		}
		s := sample{name: m[1], labels: parseLabels(t, m[3])}
		base := s.name
		if types[cur] == "histogram" {
			base = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(base, "_bucket"), "_sum"), "_count")
		}
		if base != cur {
			t.Fatalf("sample %s outside its family (in %s)", s.name, cur)
		}
		v, err := strconv.ParseFloat(strings.TrimPrefix(m[4], "+"), 64)
		if err != nil {
			t.Fatalf("bad value in %q", line)
		}
		s.value = v
		samples = append(samples, s)
	}
	return types, samples
}

func parseLabels(t *testing.T, s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		name, rest, ok := strings.Cut(s, `="`)
		if !ok {
			t.Fatalf("bad labels %q", s)
		}
		var val strings.Builder
		i := 0
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' {
				i++
				switch rest[i] {
				case 'n':
					val.WriteByte('\n')
				case '\\', '"':
					val.WriteByte(rest[i])
				default:
					t.Fatalf("bad escape in %q", s)
				}
				continue
			}
			val.WriteByte(rest[i])
		}
		if i == len(rest) {
			t.Fatalf("unterminated label value in %q", s)
		}
		out[name] = val.String()
		s = strings.TrimPrefix(rest[i+1:], ",")
	}
	return out
}

func find(samples []sample, name string, labels ...string) (float64, bool) {
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for i := 0; i < len(labels); i += 2 {
			if s.labels[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return s.value, true
	}
	return 0, false
}

func fill() *Registry {
	r := New()
	c := r.Counter("roost_test_requests_total", "Requests.\nSecond line with a \\ backslash.", "proto", "result")
	c.With("imap", "ok").Inc()
	c.With("imap", "ok").Add(2)
	c.With("imap", "no").Inc()
	c.With(`we"ird\`, "line\nbreak").Inc()
	g := r.Gauge("roost_test_sessions", "Sessions.", "proto")
	g.With("imap").Inc()
	g.With("imap").Inc()
	g.With("imap").Dec()
	g.With("pop3").Set(5)
	h := r.Histogram("roost_test_latency_seconds", "Latency.", []float64{0.1, 1}, "proto")
	h.With("imap").Observe(0.05)
	h.With("imap").Observe(0.1) // le is inclusive
	h.With("imap").Observe(0.5)
	h.With("imap").Observe(7)
	r.GaugeFunc("roost_test_store_bytes", "Store sizes.", []string{"tenant"}, func(emit func(float64, ...string)) {
		emit(100, "default")
		emit(math.Inf(1), "big")
	})
	r.Gauge("roost_test_unused", "No series yet.")
	RegisterRuntime(r)
	return r
}

func TestTextFormat(t *testing.T) {
	var buf bytes.Buffer
	if err := fill().WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	types, samples := parseText(t, buf.String())
	for name, typ := range map[string]string{"roost_test_requests_total": "counter", "roost_test_sessions": "gauge",
		"roost_test_latency_seconds": "histogram", "go_goroutines": "gauge", "go_gc_cycles_total": "counter"} {
		if types[name] != typ {
			t.Errorf("%s: type %q, want %q", name, types[name], typ)
		}
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"roost_test_requests_total", []string{"proto", "imap", "result", "ok"}, 3},
		{"roost_test_requests_total", []string{"proto", "imap", "result", "no"}, 1},
		{"roost_test_requests_total", []string{"proto", `we"ird\`, "result", "line\nbreak"}, 1},
		{"roost_test_sessions", []string{"proto", "imap"}, 1},
		{"roost_test_sessions", []string{"proto", "pop3"}, 5},
		{"roost_test_latency_seconds_bucket", []string{"proto", "imap", "le", "0.1"}, 2},
		{"roost_test_latency_seconds_bucket", []string{"proto", "imap", "le", "1"}, 3},
		{"roost_test_latency_seconds_bucket", []string{"proto", "imap", "le", "+Inf"}, 4},
		{"roost_test_latency_seconds_count", []string{"proto", "imap"}, 4},
		{"roost_test_latency_seconds_sum", []string{"proto", "imap"}, 7.65},
		{"roost_test_store_bytes", []string{"tenant", "default"}, 100},
		{"roost_test_store_bytes", []string{"tenant", "big"}, math.Inf(1)},
	} {
		got, ok := find(samples, c.name, c.labels...)
		if !ok || math.Abs(got-c.want) > 1e-9 && got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if v, ok := find(samples, "go_goroutines"); !ok || v < 1 {
		t.Errorf("go_goroutines = %v %v", v, ok)
	}
	if v, ok := find(samples, "go_memstats_heap_alloc_bytes"); !ok || v <= 0 {
		t.Errorf("go_memstats_heap_alloc_bytes = %v %v", v, ok)
	}
}

func TestNilIsNoop(t *testing.T) {
	var r *Registry
	r.Counter("a_total", "").With().Inc()
	r.Gauge("b", "", "x").With("y").Set(1)
	r.Histogram("c", "", nil).With().Observe(1)
	r.GaugeFunc("d", "", nil, nil)
	if err := r.WriteText(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	r := New()
	r.Counter("x_total", "")
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	r.Gauge("x_total", "")
}

// TestPromtool checks the output with Prometheus' own parser (Debian
// package prometheus). Skipped when promtool is missing, unless
// ROOST_REQUIRE_CLIENTS is set.
func TestPromtool(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatal("promtool is not installed (Debian package prometheus) and ROOST_REQUIRE_CLIENTS is set")
		}
		t.Skip("promtool not installed (Debian package prometheus)")
	}
	var buf bytes.Buffer
	fill().WriteText(&buf)
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	// promtool exits 1 for lint problems as well as parse errors; it
	// prints parse errors as "error while linting" and lint problems as
	// "NAME: text". Parse errors fail the test; lint findings too, except
	// none are expected.
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\n--- input:\n%s", err, out, buf.String())
	}
	fmt.Fprint(os.Stderr, string(out))
}
