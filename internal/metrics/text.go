package metrics

import (
	"bufio"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// WriteText writes every family in the Prometheus text format.
func (r *Registry) WriteText(w io.Writer) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	fams := make([]*family, 0, len(r.families))
	for _, f := range r.families {
		fams = append(fams, f)
	}
	r.mu.Unlock()
	slices.SortFunc(fams, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		f.write(bw)
	}
	return bw.Flush()
}

// Handler serves WriteText.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ContentType)
		r.WriteText(w)
	})
}

func (f *family) write(w *bufio.Writer) {
	var ss []*series
	if f.collect != nil {
		f.collect(func(v float64, values ...string) {
			if len(values) != len(f.labels) {
				return // a programming error; never a broken exposition
			}
			s := &series{values: slices.Clone(values)}
			s.bits.Store(math.Float64bits(v))
			ss = append(ss, s)
		})
	} else {
		f.mu.Lock()
		for _, s := range f.series {
			ss = append(ss, s)
		}
		f.mu.Unlock()
	}
	slices.SortFunc(ss, func(a, b *series) int { return slices.Compare(a.values, b.values) })
	w.WriteString("# HELP " + f.name + " " + escapeHelp(f.help) + "\n")
	w.WriteString("# TYPE " + f.name + " " + f.kind.String() + "\n")
	seen := map[string]bool{}
	for _, s := range ss {
		key := strings.Join(s.values, "\xff")
		if seen[key] {
			continue // a collector emitting one series twice
		}
		seen[key] = true
		if f.kind != histogramKind {
			w.WriteString(f.name + labelText(f.labels, s.values, "") + " " + formatValue(math.Float64frombits(s.bits.Load())) + "\n")
			continue
		}
		s.hmu.Lock()
		counts, sum := slices.Clone(s.counts), s.sum
		s.hmu.Unlock()
		var cum uint64
		for i, c := range counts {
			cum += c
			le := "+Inf"
			if i < len(f.buckets) {
				le = formatValue(f.buckets[i])
			}
			w.WriteString(f.name + "_bucket" + labelText(f.labels, s.values, le) + " " + strconv.FormatUint(cum, 10) + "\n")
		}
		w.WriteString(f.name + "_sum" + labelText(f.labels, s.values, "") + " " + formatValue(sum) + "\n")
		w.WriteString(f.name + "_count" + labelText(f.labels, s.values, "") + " " + strconv.FormatUint(cum, 10) + "\n")
	}
}

func labelText(names, values []string, le string) string {
	if len(names) == 0 && le == "" {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n + `="` + escapeLabel(values[i]) + `"`)
	}
	if le != "" {
		if len(names) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`le="` + le + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
