package sieve

import (
	"unicode/utf8"
)

// Limits bounds what Parse accepts. A zero field takes its default.
type Limits struct {
	MaxScriptBytes int // default 1 MiB
	MaxNesting     int // blocks and tests inside each other; default 32
	MaxCommands    int // commands plus tests; default 10,000
	MaxStringBytes int // one string; default 64 KiB
	MaxListItems   int // one string list; default 1,024
}

func (l Limits) withDefaults() Limits {
	if l.MaxScriptBytes <= 0 {
		l.MaxScriptBytes = 1 << 20
	}
	if l.MaxNesting <= 0 {
		l.MaxNesting = 32
	}
	if l.MaxCommands <= 0 {
		l.MaxCommands = 10000
	}
	if l.MaxStringBytes <= 0 {
		l.MaxStringBytes = 64 << 10
	}
	if l.MaxListItems <= 0 {
		l.MaxListItems = 1024
	}
	return l
}

type parser struct {
	lx    lexer
	tok   token
	lim   Limits
	count int
}

// Parse parses and validates a script. The error, an *Error, gives the
// line and column of the first problem.
func Parse(script []byte, lim Limits) (*Script, error) {
	lim = lim.withDefaults()
	if len(script) > lim.MaxScriptBytes {
		return nil, &Error{Pos: Pos{1, 1}, Msg: "script is larger than the limit of " + itoa(lim.MaxScriptBytes) + " bytes"}
	}
	p := &parser{lx: lexer{src: script, line: 1, col: 1, maxStr: lim.MaxStringBytes}, lim: lim}
	if !utf8.Valid(script) {
		i := 0
		for i < len(script) {
			r, n := utf8.DecodeRune(script[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		p.lx.advance(i)
		return nil, &Error{Pos: p.lx.pos(), Msg: "script is not valid UTF-8"}
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	cmds, err := p.commands(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errf("unexpected %s; a command starts with its name", p.tok.describe())
	}
	s := &Script{Commands: cmds, Require: map[string]bool{}}
	if err := validate(s); err != nil {
		return nil, err
	}
	return s, nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func (p *parser) next() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errf(format string, a ...any) error { return p.lx.errf(p.tok.pos, format, a...) }

func (p *parser) isPunct(s string) bool { return p.tok.kind == tPunct && p.tok.text == s }

func (p *parser) bump() error {
	p.count++
	if p.count > p.lim.MaxCommands {
		return p.errf("script has more than %d commands and tests", p.lim.MaxCommands)
	}
	return nil
}

// commands parses commands up to "}" or the end.
func (p *parser) commands(depth int) ([]*Command, error) {
	var cmds []*Command
	for p.tok.kind == tIdent {
		c, err := p.command(depth)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

func (p *parser) command(depth int) (*Command, error) {
	if err := p.bump(); err != nil {
		return nil, err
	}
	c := &Command{Pos: p.tok.pos, Name: p.tok.text}
	if err := p.next(); err != nil {
		return nil, err
	}
	args, tests, list, err := p.arguments(depth)
	if err != nil {
		return nil, err
	}
	c.Args, c.Tests, c.TestList = args, tests, list
	switch {
	case p.isPunct(";"):
		return c, p.next()
	case p.isPunct("{"):
		if depth+1 > p.lim.MaxNesting {
			return nil, p.errf("blocks are nested deeper than the limit of %d", p.lim.MaxNesting)
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		block, err := p.commands(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.isPunct("}") {
			return nil, p.errf("expected } to close the block of %s, found %s", c.Name, p.tok.describe())
		}
		if block == nil {
			block = []*Command{}
		}
		c.Block = block
		return c, p.next()
	}
	return nil, p.errf("expected ; after %s, found %s", c.Name, p.tok.describe())
}

// arguments parses *argument [test / test-list].
func (p *parser) arguments(depth int) ([]Arg, []*Test, bool, error) {
	var args []Arg
	for {
		a := Arg{Pos: p.tok.pos}
		switch {
		case p.tok.kind == tTag:
			a.Kind, a.Tag = ArgTag, p.tok.text
		case p.tok.kind == tNumber:
			a.Kind, a.Num = ArgNumber, p.tok.num
		case p.tok.kind == tString:
			a.Kind, a.Strings = ArgString, []string{p.tok.text}
		case p.isPunct("["):
			a.Kind = ArgList
			list, err := p.stringList()
			if err != nil {
				return nil, nil, false, err
			}
			a.Strings = list
			args = append(args, a)
			continue
		default:
			goto tests
		}
		args = append(args, a)
		if err := p.next(); err != nil {
			return nil, nil, false, err
		}
	}
tests:
	if p.tok.kind == tIdent {
		t, err := p.test(depth + 1)
		if err != nil {
			return nil, nil, false, err
		}
		return args, []*Test{t}, false, nil
	}
	if p.isPunct("(") {
		if err := p.next(); err != nil {
			return nil, nil, false, err
		}
		var tests []*Test
		for {
			if p.tok.kind != tIdent {
				return nil, nil, false, p.errf("expected a test in the test list, found %s", p.tok.describe())
			}
			t, err := p.test(depth + 1)
			if err != nil {
				return nil, nil, false, err
			}
			tests = append(tests, t)
			if p.isPunct(",") {
				if err := p.next(); err != nil {
					return nil, nil, false, err
				}
				continue
			}
			if p.isPunct(")") {
				return args, tests, true, p.next()
			}
			return nil, nil, false, p.errf("expected , or ) in the test list, found %s", p.tok.describe())
		}
	}
	return args, nil, false, nil
}

func (p *parser) test(depth int) (*Test, error) {
	if depth > p.lim.MaxNesting {
		return nil, p.errf("tests are nested deeper than the limit of %d", p.lim.MaxNesting)
	}
	if err := p.bump(); err != nil {
		return nil, err
	}
	t := &Test{Pos: p.tok.pos, Name: p.tok.text}
	if err := p.next(); err != nil {
		return nil, err
	}
	args, tests, list, err := p.arguments(depth)
	if err != nil {
		return nil, err
	}
	t.Args, t.Tests, t.TestList = args, tests, list
	return t, nil
}

func (p *parser) stringList() ([]string, error) {
	open := p.tok.pos
	if err := p.next(); err != nil {
		return nil, err
	}
	var list []string
	for {
		if p.tok.kind != tString {
			return nil, p.errf("expected a string in the list opened at %s, found %s", open, p.tok.describe())
		}
		list = append(list, p.tok.text)
		if len(list) > p.lim.MaxListItems {
			return nil, p.errf("string list has more than %d items", p.lim.MaxListItems)
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.isPunct(",") {
			if err := p.next(); err != nil {
				return nil, err
			}
			continue
		}
		if p.isPunct("]") {
			return list, p.next()
		}
		return nil, p.errf("expected , or ] in the string list opened at %s, found %s", open, p.tok.describe())
	}
}
