package config

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md from the struct tags")

const docsFile = "../../docs/configuration.md"

// TestDocsCurrent keeps docs/configuration.md equal to Markdown().
func TestDocsCurrent(t *testing.T) {
	t.Parallel()
	md := Markdown()
	if *update {
		if err := os.MkdirAll(filepath.Dir(docsFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(docsFile, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(docsFile)
	if err != nil || string(got) != md {
		t.Fatalf("%s is out of date (%v); run: go test ./internal/config -run TestDocsCurrent -update", docsFile, err)
	}
}

func TestMarkdownMentionsEveryKey(t *testing.T) {
	t.Parallel()
	md := Markdown()
	for _, f := range Fields() {
		if !strings.Contains(md, "\n### "+f.Key+"\n") {
			t.Errorf("no section for %s", f.Key)
		}
	}
	for _, s := range []string{"--config FILE", "SIGHUP", "all of them at\nonce"} {
		if !strings.Contains(md, s) {
			t.Errorf("intro does not mention %q", s)
		}
	}
	// Every single-quoted span in a doc tag must become code.
	for _, f := range Fields() {
		if out := codeSpans(f.Doc); strings.Contains(out, " '") {
			t.Errorf("%s: unconverted quote in %q", f.Key, out)
		}
	}
}

func TestCodeSpans(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"'all' runs":                    "`all` runs",
		"any of 'a', 'b' and 'c'.":      "any of `a`, `b` and `c`.",
		"Roost's own; the users' files": "Roost's own; the users' files",
		"as in '%u@%c'.":                "as in `%u@%c`.",
		"in 'data_dir'/tls/":            "in `data_dir`/tls/",
		"(see 'x')":                     "(see `x`)",
		"unclosed 'quote":               "unclosed 'quote",
		"empty '' quotes":               "empty '' quotes",
	} {
		if got := codeSpans(in); got != want {
			t.Errorf("codeSpans(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"imap_listen", "imap_listn", 1}, {"quota_warn", "quota_wran", 2},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"imap_listn":             `; did you mean "imap_listen"?`,
		"Log_Levl":               `; did you mean "log_level"?`,
		"loginname_fromat":       `; did you mean "loginname_format"?`,
		"server_listen":          "",
		"x":                      "",
		strings.Repeat("a", 500): "",
	} {
		if got := suggest(key); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestDurationValues(t *testing.T) {
	t.Parallel()
	// No key is a duration yet; the decoder and docs support them already.
	v, err := parseDefault(durationType, "1h30m")
	if err != nil || tomlLiteral(v) != `"1h30m0s"` || typeName(durationType) != "duration" {
		t.Errorf("duration default = %v, %v", v, err)
	}
	dst := reflect.New(durationType).Elem()
	if msg := setValue(dst, "k", "90s"); msg != "" || dst.Int() != 90e9 {
		t.Errorf("setValue(90s) = %q, %v", msg, dst)
	}
	if msg := setValue(dst, "k", int64(5)); !strings.Contains(msg, "want a duration") {
		t.Errorf("setValue(5) = %q", msg)
	}
	if msg := setValue(dst, "k", "5 minutes"); !strings.Contains(msg, "invalid duration") {
		t.Errorf("setValue(5 minutes) = %q", msg)
	}
}
