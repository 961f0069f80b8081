package metrics

import (
	"runtime"
	"runtime/metrics"
)

// RegisterRuntime adds the Go runtime's gauges and counters under the
// names the Prometheus Go client uses, so existing dashboards work:
// goroutines, heap, GC cycles and pause time.
func RegisterRuntime(r *Registry) {
	read := func(name string) float64 {
		s := []metrics.Sample{{Name: name}}
		metrics.Read(s)
		switch s[0].Value.Kind() {
		case metrics.KindUint64:
			return float64(s[0].Value.Uint64())
		case metrics.KindFloat64:
			return s[0].Value.Float64()
		}
		return 0
	}
	one := func(fn func() float64) func(func(float64, ...string)) {
		return func(emit func(float64, ...string)) { emit(fn()) }
	}
	r.GaugeFunc("go_goroutines", "Number of goroutines that currently exist.", nil,
		one(func() float64 { return float64(runtime.NumGoroutine()) }))
	r.GaugeFunc("go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects.", nil,
		one(func() float64 { return read("/gc/heap/allocs:bytes") - read("/gc/heap/frees:bytes") }))
	r.GaugeFunc("go_memstats_sys_bytes", "Bytes of memory obtained from the OS.", nil,
		one(func() float64 { return read("/memory/classes/total:bytes") }))
	r.GaugeFunc("go_gc_heap_goal_bytes", "Heap size target for the end of the GC cycle.", nil,
		one(func() float64 { return read("/gc/heap/goal:bytes") }))
	r.CounterFunc("go_gc_cycles_total", "Completed GC cycles.", nil,
		one(func() float64 { return read("/gc/cycles/total:gc-cycles") }))
	r.GaugeFunc("go_threads", "Number of OS threads created.", nil,
		one(func() float64 { n, _ := runtime.ThreadCreateProfile(nil); return float64(n) }))
}
