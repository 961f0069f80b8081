package config

import (
	"fmt"
	"strings"
)

// docsHeader opens docs/configuration.md; TestDocsCurrent keeps the file
// equal to Markdown().
const docsHeader = `<!-- Generated from the struct tags in internal/config by
     go test ./internal/config -run TestDocsCurrent -update
     Do not edit by hand. -->

# Configuration reference

Roost reads its configuration from one TOML file of flat ` + "`key = value`" + ` lines, named
on the command line with ` + "`roost serve --config FILE`" + `. Without ` + "`--config`" + ` every key has
its default, which is enough for a single node that keeps everything under
` + "`./roost-data`" + `. A key missing from the file keeps its default. Strings are written in
double quotes, lists in brackets, numbers and booleans (` + "`true`, `false`" + `) bare:

` + "```toml" + `
data_dir = "/var/lib/roost"
database = "postgres://roost:secret@db.example.com/roost"
roles = ["imap", "lmtp", "submission"]
imap_listen = "off"
imaps_listen = ":993"
log_level = "warn"
` + "```" + `

When the file has problems Roost does not start, and it reports all of them at
once, one line per problem naming the key: unknown keys (with the nearest known
key as a suggestion), values of the wrong type, values out of range and keys
that contradict each other.

On SIGHUP Roost reads the file again. If it is valid, the keys marked
reloadable below take effect at once and changes to any other key are logged as
needing a restart; if it is not, the problems are logged and the running
configuration stays in force.

Relative paths are relative to the working directory of the process. Sizes in
MB are mebibytes (1 MB = 1,048,576 bytes).
`

// Markdown renders the configuration reference (docs/configuration.md) from
// the struct tags of [Config].
func Markdown() string {
	var b strings.Builder
	b.WriteString(docsHeader)
	b.WriteString("\n## Summary\n\n| Key | Type | Default | Reloadable |\n| --- | --- | --- | --- |\n")
	for _, f := range Fields() {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | `%s` | %s |\n", f.Key, f.Key, f.Type, f.Default, yesNo(f.Reloadable))
	}
	b.WriteString("\n## Keys\n")
	for _, f := range Fields() {
		fmt.Fprintf(&b, "\n### %s\n\n%s\n\n", f.Key, codeSpans(f.Doc))
		fmt.Fprintf(&b, "- Type: %s\n- Default: `%s`\n", f.Type, f.Default)
		if f.Reloadable {
			b.WriteString("- Reloadable: yes, on SIGHUP\n")
		} else {
			b.WriteString("- Reloadable: no, a change needs a restart\n")
		}
	}
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// codeSpans turns 'text' in a doc tag into `text`. A quote opens a span only
// at the start or after a space, "(" or "["; it closes at the next quote that
// is not followed by a letter or digit. Apostrophes (Roost's, users') thus
// stay as they are.
func codeSpans(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' && (i == 0 || strings.IndexByte(" ([", s[i-1]) >= 0) {
			if j := closingQuote(s, i+1); j > i+1 {
				b.WriteByte('`')
				b.WriteString(s[i+1 : j])
				b.WriteByte('`')
				i = j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func closingQuote(s string, from int) int {
	for j := from; j < len(s); j++ {
		if s[j] != '\'' {
			continue
		}
		if j+1 == len(s) || !isAlnum(s[j+1]) {
			return j
		}
	}
	return -1
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
