package sieve

import (
	"strconv"
	"strings"
)

// Script is a parsed and validated Sieve script.
type Script struct {
	Commands []*Command
	// Require holds every capability the script requires, lower case.
	Require map[string]bool
}

// Command is one command (RFC 5228 §2.9): name, arguments, an optional
// test or test list (for if and elsif) and an optional block.
type Command struct {
	Pos   Pos
	Name  string
	Args  []Arg
	Tests []*Test
	// TestList is true when Tests was written in parentheses.
	TestList bool
	// Block is non-nil when the command has a block, even an empty one.
	Block []*Command

	n *node // set by validation
}

// Test is one test (RFC 5228 §2.9); allof, anyof and not hold sub-tests.
type Test struct {
	Pos      Pos
	Name     string
	Args     []Arg
	Tests    []*Test
	TestList bool

	n *node // set by validation
}

// ArgKind tells the kinds of argument apart.
type ArgKind uint8

const (
	ArgTag ArgKind = iota + 1
	ArgNumber
	ArgString // a single string, not in brackets
	ArgList   // a bracketed string list
)

// Arg is one argument as written. Strings holds the string values after
// quoting is undone; encoded characters (RFC 5228 §2.4.2.4) are decoded
// only when the script requires "encoded-character", into a copy that the
// interpreter uses, so printing a Script gives back what was written.
type Arg struct {
	Pos     Pos
	Kind    ArgKind
	Tag     string // without the colon, lower case
	Num     uint64
	Strings []string

	val []string // Strings with encoded characters decoded
}

func (a *Arg) values() []string {
	if a.val != nil {
		return a.val
	}
	return a.Strings
}

// String prints the script in canonical form: one command a line, strings
// quoted, numbers without quantifier. Parsing the output gives an equal
// Script.
func (s *Script) String() string {
	var b strings.Builder
	printBlock(&b, s.Commands, 0)
	return b.String()
}

func printBlock(b *strings.Builder, cmds []*Command, depth int) {
	for _, c := range cmds {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(c.Name)
		printArgs(b, c.Args)
		printTests(b, c.Tests, c.TestList)
		if c.Block == nil {
			b.WriteString(";\n")
			continue
		}
		b.WriteString(" {\n")
		printBlock(b, c.Block, depth+1)
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString("}\n")
	}
}

func printArgs(b *strings.Builder, args []Arg) {
	for _, a := range args {
		b.WriteByte(' ')
		switch a.Kind {
		case ArgTag:
			b.WriteByte(':')
			b.WriteString(a.Tag)
		case ArgNumber:
			b.WriteString(strconv.FormatUint(a.Num, 10))
		case ArgString:
			quote(b, a.Strings[0])
		case ArgList:
			b.WriteByte('[')
			for i, s := range a.Strings {
				if i > 0 {
					b.WriteString(", ")
				}
				quote(b, s)
			}
			b.WriteByte(']')
		}
	}
}

func printTests(b *strings.Builder, tests []*Test, list bool) {
	if list {
		b.WriteString(" (")
	}
	for i, t := range tests {
		if i > 0 {
			b.WriteByte(',')
		}
		if i > 0 || !list {
			b.WriteByte(' ')
		}
		b.WriteString(t.Name)
		printArgs(b, t.Args)
		printTests(b, t.Tests, t.TestList)
	}
	if list {
		b.WriteByte(')')
	}
}

func quote(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}
