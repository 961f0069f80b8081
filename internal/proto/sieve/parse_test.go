package sieve

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, script, want string }{
		{"missing require", `fileinto "x";`, `line 1:1: command fileinto needs the "fileinto" extension: add require "fileinto";`},
		{"missing require tag", `require "fileinto"; fileinto :copy "x";`, `line 1:30: tag :copy needs the "copy" extension`},
		{"missing require test", "if true {\n  if envelope \"to\" \"x\" { keep; }\n}", `line 2:6: test envelope needs the "envelope" extension`},
		{"missing relational", `if header :count "gt" "to" "1" { keep; }`, `tag :count needs the "relational"`},
		{"missing subaddress", `if address :user "to" "a" { keep; }`, `tag :user needs the "subaddress"`},
		{"missing numeric", `if header :is :comparator "i;ascii-numeric" "x" "1" { keep; }`, `needs the "comparator-i;ascii-numeric"`},
		{"missing variables flag", `require "imap4flags"; setflag "v" "x";`, `needs the "variables"`},
		{"unknown command", `require "fileinto"; filinto "x";`, `line 1:21: unknown command "filinto"`},
		{"unknown test", `if sizes :over 1 { keep; }`, `unknown test "sizes"`},
		{"unknown extension", `require "regex";`, `extension "regex" is not supported`},
		{"require late", `keep; require "fileinto";`, "require must come before"},
		{"require in block", `if true { require "fileinto"; }`, "only allowed at the top"},
		{"test as command", `header "a" "b";`, "is a test, not a command"},
		{"command as test", `if keep { stop; }`, "is a command, not a test"},
		{"missing semicolon", "keep\ndiscard;", "line 2:1: keep takes no test here; is a ; missing before discard?"},
		{"no block", `if true keep;`, "if needs a block"},
		{"no semicolon end", `keep`, "expected ; after keep"},
		{"if without block", `if true;`, "if needs a block"},
		{"else alone", `else { keep; }`, "else must follow an if or elsif"},
		{"bad tag", `if header :over "a" "b" { keep; }`, "header does not take the tag :over"},
		{"two match types", `if header :is :contains "a" "b" { keep; }`, "only one of :is and :contains"},
		{"tag after positional", `if header "a" :is "b" { keep; }`, "must come before the other arguments"},
		{"missing args", `if header "a" { keep; }`, "header takes a string list and a string list"},
		{"wrong arg type", `redirect ["a@b.example", "c@d.example"];`, "argument 1 of redirect must be a string"},
		{"number for string", `if size :over "1" { keep; }`, "must be a number"},
		{"size no tag", `if size 100 { keep; }`, "size needs :over or :under"},
		{"bad relation", `require "relational"; if header :value "xx" "a" "b" { keep; }`, `relation "xx"`},
		{"bad comparator", `if header :comparator "i;foo" "a" "b" { keep; }`, `unknown comparator "i;foo"`},
		{"numeric contains", `require "comparator-i;ascii-numeric"; if header :contains :comparator "i;ascii-numeric" "a" "b" { keep; }`, "works only with :is"},
		{"comparator arg", `if header :comparator "a" "b" { keep; }`, "header takes"},
		{"tag no arg", `if header :comparator { keep; }`, "tag :comparator must be followed by a string"},
		{"allof no list", `if allof true { keep; }`, "takes a test list"},
		{"not two", `if not (true, false) { keep; }`, "takes exactly one test"},
		{"bad var name", `require "variables"; set "1a" "x";`, `"1a" is not a valid variable name`},
		{"unclosed string", `keep "x;`, "line 1:6: string is never closed"},
		{"unclosed comment", `keep; /* x`, "line 1:7: comment opened with /* is never closed"},
		{"unclosed text", "require \"vacation\"; vacation text:\nhello\n", "never ended by a line holding only"},
		{"unclosed block", `if true { keep;`, "expected } to close the block of if"},
		{"bad char", `keep; @`, "line 1:7: unexpected character '@'"},
		{"bad number", `if size :over 10X { keep; }`, "may only end in K, M or G"},
		{"huge number", `if size :over 99999999999999999999 { keep; }`, "number is too large"},
		{"bad list", `require ["a" "b"];`, "expected , or ] in the string list"},
		{"empty list", `require [];`, "expected a string in the list"},
		{"invalid utf8", "keep;\n\"\xff\"", "line 2:2: script is not valid UTF-8"},
		{"stray", `keep; }`, "unexpected \"}\""},
		{"discard args", `discard "x";`, "discard takes no arguments"},
		{"redirect constant", `redirect "not an address";`, `line 1:10: redirect address "not an address" is not a valid email address`},
		{"missing mailbox", `if mailboxexists "a" { keep; }`, `needs the "mailbox" extension`},
		{"bad header name", `if header "Sub ject" "x" { keep; }`, `"Sub ject" is not a valid header field name`},
		{"empty header name", `if exists "" { keep; }`, `"" is not a valid header field name`},
		{"envelope part", `require "envelope"; if envelope "cc" "x" { keep; }`, `envelope part "cc" is not supported`},
		{"stop block", `stop { keep; }`, "stop takes no block"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.script), Limits{})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Pos.Line < 1 || pe.Pos.Col < 1 {
				t.Errorf("error %v has no position", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	deepBlocks := strings.Repeat("if true {\n", 10000) + strings.Repeat("}\n", 10000)
	deepTests := "if " + strings.Repeat("not ", 10000) + "true { keep; }"
	deepLists := "if " + strings.Repeat("allof(", 10000) + "true" + strings.Repeat(")", 10000) + " { keep; }"
	cases := []struct {
		name, script string
		lim          Limits
		want         string
	}{
		{"deep blocks", deepBlocks, Limits{}, "nested deeper than the limit of 32"},
		{"deep tests", deepTests, Limits{}, "nested deeper than the limit of 32"},
		{"deep test lists", deepLists, Limits{}, "nested deeper than the limit of 32"},
		{"huge script", "#" + strings.Repeat("x", 2<<20), Limits{}, "larger than the limit of 1048576 bytes"},
		{"commands", strings.Repeat("keep;", 20), Limits{MaxCommands: 10}, "more than 10 commands"},
		{"string", `redirect "` + strings.Repeat("a", 100) + `";`, Limits{MaxStringBytes: 50}, "longer than the limit of 50"},
		{"list", `require ["a", "b", "c"];`, Limits{MaxListItems: 2}, "more than 2 items"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.script), tc.lim)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// Exactly at the nesting limit is fine.
	ok := strings.Repeat("if true {\n", 32) + strings.Repeat("}\n", 32)
	if _, err := Parse([]byte(ok), Limits{}); err != nil {
		t.Fatalf("32 levels: %v", err)
	}
}

func TestLexer(t *testing.T) {
	t.Parallel()
	script := "require [\"vacation\"];\r\n# comment\r\nvacation /* c */ :DAYS 1k text: # note\r\n..dot\r\nline\r\n.\r\n;"
	s, err := Parse([]byte(script), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Commands[1]
	if c.Args[1].Num != 1024 || c.Args[0].Tag != "days" {
		t.Errorf("args = %+v", c.Args)
	}
	if got := c.Args[2].Strings[0]; got != ".dot\r\nline\r\n" {
		t.Errorf("text = %q", got)
	}
	q, err := Parse([]byte(`if header "x" "a\"b\\c\d@x.example" {}`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Commands[0].Tests[0].Args[1].Strings[0]; got != `a"b\cd@x.example` {
		t.Errorf("quoted = %q", got)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, sc := range seedScripts() {
		s, err := Parse([]byte(sc), Limits{})
		if err != nil {
			t.Fatalf("parse %q: %v", sc, err)
		}
		out := s.String()
		s2, err := Parse([]byte(out), Limits{})
		if err != nil {
			t.Fatalf("reparse %q: %v", out, err)
		}
		if s2.String() != out {
			t.Errorf("round trip changed:\n%s\n---\n%s", out, s2.String())
		}
	}
}

func seedScripts() []string {
	seeds := []string{
		rfc5228Complete, rfc5229Match, rfc5229Subject, rfc5229Address, rfc5229Vacation,
		rfc5229Modifiers, rfc5230Days, rfc5230If, rfc5232Flags, rfc5232Hasflag, rfc5233,
	}
	for _, c := range runCases {
		seeds = append(seeds, c.script)
	}
	return seeds
}
