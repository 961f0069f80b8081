// Package metrics is a small registry of counters, gauges and histograms
// with labels, written out in the Prometheus text exposition format
// (version 0.0.4). It has no global state: the composition root creates
// one Registry and passes it, or the metrics taken from it, to whoever
// counts. A nil *Registry, vector or metric is valid and counts nothing,
// so components built without metrics need no checks.
//
// Invariants: a metric name is registered once (a second registration
// with the same name panics, a programming error); label values are
// escaped on output; families are written sorted by name, series sorted
// by label values, so the output is stable.
package metrics

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds metric families.
type Registry struct {
	mu       sync.Mutex
	families map[string]*family
}

// New returns an empty registry.
func New() *Registry { return &Registry{families: map[string]*family{}} }

type kind int

const (
	counterKind kind = iota
	gaugeKind
	histogramKind
)

func (k kind) String() string {
	return [...]string{"counter", "gauge", "histogram"}[k]
}

type family struct {
	name, help string
	kind       kind
	labels     []string
	buckets    []float64

	mu     sync.Mutex
	series map[string]*series // key: label values joined by 0xff
	// collect, when set, produces the series at scrape time instead.
	collect func(emit func(v float64, labelValues ...string))
}

type series struct {
	values []string
	bits   atomic.Uint64 // counter or gauge value (float64 bits)
	hmu    sync.Mutex
	counts []uint64 // histogram: per bucket (not cumulative), then +Inf
	sum    float64
}

func (r *Registry) register(f *family) *family {
	if r == nil {
		return nil
	}
	if !validName(f.name) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", f.name))
	}
	for _, l := range f.labels {
		if !validName(l) || l == "le" || strings.HasPrefix(l, "__") {
			panic(fmt.Sprintf("metrics: invalid label name %q of %s", l, f.name))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.families[f.name]; dup {
		panic(fmt.Sprintf("metrics: %s registered twice", f.name))
	}
	f.series = map[string]*series{}
	r.families[f.name] = f
	return f
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

func (f *family) with(values []string) *series {
	if f == nil {
		return nil
	}
	if len(values) != len(f.labels) {
		panic(fmt.Sprintf("metrics: %s takes %d label values, got %d", f.name, len(f.labels), len(values)))
	}
	key := strings.Join(values, "\xff")
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.series[key]
	if s == nil {
		s = &series{values: slices.Clone(values)}
		if f.kind == histogramKind {
			s.counts = make([]uint64, len(f.buckets)+1)
		}
		f.series[key] = s
	}
	return s
}

func (s *series) add(d float64) {
	for {
		old := s.bits.Load()
		if s.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

// CounterVec is a counter family; With picks one series.
type CounterVec struct{ f *family }

// Counter is a value that only goes up.
type Counter struct{ s *series }

// Counter registers a counter. By convention its name ends in _total.
func (r *Registry) Counter(name, help string, labels ...string) *CounterVec {
	return &CounterVec{r.register(&family{name: name, help: help, kind: counterKind, labels: labels})}
}

// With returns the series for the label values, in the registered order.
func (v *CounterVec) With(values ...string) *Counter {
	if v == nil || v.f == nil {
		return nil
	}
	return &Counter{v.f.with(values)}
}

// Inc adds one.
func (c *Counter) Inc() { c.Add(1) }

// Add adds d, which must not be negative.
func (c *Counter) Add(d float64) {
	if c == nil || d < 0 {
		return
	}
	c.s.add(d)
}

// GaugeVec is a gauge family.
type GaugeVec struct{ f *family }

// Gauge is a value that goes up and down.
type Gauge struct{ s *series }

// Gauge registers a gauge.
func (r *Registry) Gauge(name, help string, labels ...string) *GaugeVec {
	return &GaugeVec{r.register(&family{name: name, help: help, kind: gaugeKind, labels: labels})}
}

// With returns the series for the label values.
func (v *GaugeVec) With(values ...string) *Gauge {
	if v == nil || v.f == nil {
		return nil
	}
	return &Gauge{v.f.with(values)}
}

// Add adds d (negative to subtract).
func (g *Gauge) Add(d float64) {
	if g != nil {
		g.s.add(d)
	}
}

// Inc adds one, Dec subtracts one.
func (g *Gauge) Inc() { g.Add(1) }
func (g *Gauge) Dec() { g.Add(-1) }

// Set sets the value.
func (g *Gauge) Set(v float64) {
	if g != nil {
		g.s.bits.Store(math.Float64bits(v))
	}
}

// GaugeFunc registers a gauge family whose series fn produces at each
// scrape, calling emit once per series (for values read from elsewhere:
// queue length, store sizes, the Go runtime).
func (r *Registry) GaugeFunc(name, help string, labels []string, fn func(emit func(v float64, labelValues ...string))) {
	r.register(&family{name: name, help: help, kind: gaugeKind, labels: labels, collect: fn})
}

// CounterFunc is GaugeFunc for a counter kept elsewhere.
func (r *Registry) CounterFunc(name, help string, labels []string, fn func(emit func(v float64, labelValues ...string))) {
	r.register(&family{name: name, help: help, kind: counterKind, labels: labels, collect: fn})
}

// HistogramVec is a histogram family.
type HistogramVec struct{ f *family }

// Histogram counts observations in buckets.
type Histogram struct {
	f *family
	s *series
}

// DefaultBuckets suit latencies in seconds, from 1 ms to 60 s.
var DefaultBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Histogram registers a histogram with the given upper bounds (sorted
// ascending; nil means DefaultBuckets).
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if buckets == nil {
		buckets = DefaultBuckets
	}
	if !slices.IsSorted(buckets) {
		panic("metrics: buckets of " + name + " not sorted")
	}
	return &HistogramVec{r.register(&family{name: name, help: help, kind: histogramKind, labels: labels, buckets: slices.Clone(buckets)})}
}

// With returns the series for the label values.
func (v *HistogramVec) With(values ...string) *Histogram {
	if v == nil || v.f == nil {
		return nil
	}
	return &Histogram{v.f, v.f.with(values)}
}

// Observe records one value.
func (h *Histogram) Observe(v float64) {
	if h == nil {
		return
	}
	i, _ := slices.BinarySearch(h.f.buckets, v) // first bound >= v: le is inclusive
	h.s.hmu.Lock()
	h.s.counts[i]++
	h.s.sum += v
	h.s.hmu.Unlock()
}
