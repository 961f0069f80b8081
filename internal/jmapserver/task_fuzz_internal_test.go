package jmapserver

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzTaskFilter feeds Task/query filters to the parser: it never
// panics, a filter it accepts is within the bounds (depth, terms), and
// one it accepts evaluates on a task and parses the same once
// re-serialised.
func FuzzTaskFilter(f *testing.F) {
	for _, s := range []string{
		`null`, `{}`, `{"progress":"completed"}`, `{"inTaskLists":["L1","L2"],"text":"report"}`,
		`{"after":"2026-01-01T00:00:00Z","before":"2026-02-01T00:00:00Z","hasDue":true}`,
		`{"operator":"NOT","conditions":[{"progress":"completed"},{"title":"x","uid":"u"}]}`,
		`{"operator":"OR","conditions":[{"operator":"AND","conditions":[{"description":"d"}]}]}`,
		`{"after":"tomorrow"}`, `{"operator":"XOR"}`, `{"colour":1}`,
	} {
		f.Add([]byte(s))
	}
	task := map[string]any{"@type": "Task", "uid": "u", "title": "Report", "progress": "completed",
		"due": "2026-01-10T10:00:00", "keywords": map[string]any{"a": true}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fl, err := parseTaskFilter(raw)
		if err != nil {
			return
		}
		var depth func(x *taskFilter, d int) int
		depth = func(x *taskFilter, d int) int {
			m := d
			for i := range x.Conditions {
				m = max(m, depth(&x.Conditions[i], d+1))
			}
			return m
		}
		if depth(fl, 0) > maxFilterDepth {
			t.Fatalf("accepted a filter deeper than %d: %s", maxFilterDepth, raw)
		}
		m1 := fl.match(task, "L1", time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC))
		b, err := json.Marshal(fl)
		if err != nil {
			t.Fatal(err)
		}
		fl2, err := parseTaskFilter(b)
		if err != nil {
			t.Fatalf("re-serialised filter %s rejected: %v", b, err)
		}
		if m2 := fl2.match(task, "L1", time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)); m1 != m2 {
			t.Fatalf("match changed after re-serialising %s", b)
		}
	})
}
