package sieve

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// validAddress tells whether s is a bare addr-spec (RFC 5322 §3.4.1).
func validAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s, "@")
}

var capabilities = []string{
	"fileinto", "reject", "ereject", "envelope", "encoded-character",
	"comparator-i;octet", "comparator-i;ascii-casemap", "comparator-i;ascii-numeric",
	"relational", "subaddress", "copy", "imap4flags", "body", "variables",
	"vacation", "vacation-seconds", "mailbox", "date",
}

// Capabilities lists the extensions this package implements, for
// ManageSieve's SIEVE capability (RFC 5804 §1.7).
func Capabilities() []string { return append([]string(nil), capabilities...) }

func supported(ext string) bool {
	for _, c := range capabilities {
		if c == ext {
			return true
		}
	}
	return false
}

type argType uint8

const (
	aString argType = iota + 1 // one string, not in brackets
	aList                      // a string or a string list
	aNumber
)

func (t argType) String() string {
	switch t {
	case aString:
		return "a string"
	case aList:
		return "a string list"
	}
	return "a number"
}

type tagSpec struct {
	ext   string
	arg   argType
	group string // at most one tag of a group
}

type spec struct {
	ext    string
	tags   map[string]tagSpec
	pos    []argType
	minPos int // fewer leading positionals may be omitted; see setflag
	tests  int // 0 none, 1 one test, 2 test list
	block  bool
	test   bool
}

var (
	comparatorTags = map[string]tagSpec{"comparator": {arg: aString, group: "comparator"}}
	matchTags      = map[string]tagSpec{
		"is": {group: "match"}, "contains": {group: "match"}, "matches": {group: "match"},
		"count": {ext: "relational", arg: aString, group: "match"},
		"value": {ext: "relational", arg: aString, group: "match"},
	}
	addrTags = map[string]tagSpec{
		"all": {group: "addrpart"}, "localpart": {group: "addrpart"}, "domain": {group: "addrpart"},
		"user": {ext: "subaddress", group: "addrpart"}, "detail": {ext: "subaddress", group: "addrpart"},
	}
	bodyTags = map[string]tagSpec{
		"raw": {group: "transform"}, "content": {arg: aList, group: "transform"}, "text": {group: "transform"},
	}
)

func merge(ms ...map[string]tagSpec) map[string]tagSpec {
	out := map[string]tagSpec{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

var specs = map[string]spec{
	"require":  {pos: []argType{aList}},
	"if":       {tests: 1, block: true},
	"elsif":    {tests: 1, block: true},
	"else":     {block: true},
	"stop":     {},
	"keep":     {tags: map[string]tagSpec{"flags": {ext: "imap4flags", arg: aList}}},
	"discard":  {},
	"redirect": {tags: map[string]tagSpec{"copy": {ext: "copy"}}, pos: []argType{aString}},
	"fileinto": {ext: "fileinto", pos: []argType{aString}, tags: map[string]tagSpec{
		"copy": {ext: "copy"}, "flags": {ext: "imap4flags", arg: aList}, "create": {ext: "mailbox"}}},
	"reject":  {ext: "reject", pos: []argType{aString}},
	"ereject": {ext: "ereject", pos: []argType{aString}},
	"vacation": {ext: "vacation", pos: []argType{aString}, tags: map[string]tagSpec{
		"days":    {arg: aNumber, group: "period"},
		"seconds": {ext: "vacation-seconds", arg: aNumber, group: "period"},
		"subject": {arg: aString}, "from": {arg: aString}, "addresses": {arg: aList},
		"mime": {}, "handle": {arg: aString}}},
	"setflag":    {ext: "imap4flags", pos: []argType{aString, aList}, minPos: 1},
	"addflag":    {ext: "imap4flags", pos: []argType{aString, aList}, minPos: 1},
	"removeflag": {ext: "imap4flags", pos: []argType{aString, aList}, minPos: 1},
	"set": {ext: "variables", pos: []argType{aString, aString}, tags: map[string]tagSpec{
		"lower": {group: "case"}, "upper": {group: "case"},
		"lowerfirst": {group: "first"}, "upperfirst": {group: "first"},
		"quotewildcard": {}, "length": {}}},

	"address":  {test: true, tags: merge(comparatorTags, matchTags, addrTags), pos: []argType{aList, aList}},
	"envelope": {test: true, ext: "envelope", tags: merge(comparatorTags, matchTags, addrTags), pos: []argType{aList, aList}},
	"header":   {test: true, tags: merge(comparatorTags, matchTags), pos: []argType{aList, aList}},
	"exists":   {test: true, pos: []argType{aList}},
	"size": {test: true, pos: []argType{aNumber}, tags: map[string]tagSpec{
		"over": {group: "size"}, "under": {group: "size"}}},
	"allof":   {test: true, tests: 2},
	"anyof":   {test: true, tests: 2},
	"not":     {test: true, tests: 1},
	"true":    {test: true},
	"false":   {test: true},
	"body":    {test: true, ext: "body", tags: merge(comparatorTags, matchTags, bodyTags), pos: []argType{aList}},
	"hasflag": {test: true, ext: "imap4flags", tags: merge(comparatorTags, matchTags), pos: []argType{aList, aList}, minPos: 1},
	"string":  {test: true, ext: "variables", tags: merge(comparatorTags, matchTags), pos: []argType{aList, aList}},

	"mailboxexists": {test: true, ext: "mailbox", pos: []argType{aList}},
	"date": {test: true, ext: "date", pos: []argType{aString, aString, aList},
		tags: merge(comparatorTags, matchTags, map[string]tagSpec{
			"zone": {arg: aString, group: "zone"}, "originalzone": {group: "zone"}})},
	"currentdate": {test: true, ext: "date", pos: []argType{aString, aList},
		tags: merge(comparatorTags, matchTags, map[string]tagSpec{"zone": {arg: aString}})},
}

// node is what Command and Test share for validation and running.
type node struct {
	tags map[string]*Arg // tag name → the tag's argument, or the tag itself
	pos  []*Arg
}

type validator struct {
	req map[string]bool
}

func verr(p Pos, format string, a ...any) error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, a...)}
}

func validate(s *Script) error {
	v := &validator{req: s.Require}
	// RFC 5228 §3.2: require comes before any other command.
	seenOther := false
	for _, c := range s.Commands {
		if c.Name != "require" {
			seenOther = true
			continue
		}
		if seenOther {
			return verr(c.Pos, "require must come before all other commands")
		}
		if len(c.Args) != 1 || c.Args[0].Kind == ArgTag || c.Args[0].Kind == ArgNumber {
			return verr(c.Pos, "require takes one string list of extension names, like require [\"fileinto\", \"copy\"];")
		}
		for _, ext := range c.Args[0].Strings {
			e := strings.ToLower(ext)
			if !supported(e) {
				return verr(c.Args[0].Pos, "extension %q is not supported; supported are: %s", ext, strings.Join(capabilities, ", "))
			}
			v.req[e] = true
		}
	}
	return v.block(s.Commands, true)
}

func (v *validator) need(p Pos, what, ext string) error {
	if ext == "" || v.req[ext] {
		return nil
	}
	return verr(p, "%s needs the %q extension: add require %q; at the top of the script", what, ext, ext)
}

func (v *validator) block(cmds []*Command, top bool) error {
	prev := ""
	for _, c := range cmds {
		if c.Name == "require" && !top {
			return verr(c.Pos, "require is only allowed at the top of the script, not inside a block")
		}
		if (c.Name == "elsif" || c.Name == "else") && prev != "if" && prev != "elsif" {
			return verr(c.Pos, "%s must follow an if or elsif block", c.Name)
		}
		if err := v.command(c); err != nil {
			return err
		}
		prev = c.Name
	}
	return nil
}

func (v *validator) command(c *Command) error {
	sp, ok := specs[c.Name]
	if !ok {
		return verr(c.Pos, "unknown command %q", c.Name)
	}
	if sp.test {
		return verr(c.Pos, "%s is a test, not a command; use it in an if, like if %s ... { keep; }", c.Name, c.Name)
	}
	if err := v.need(c.Pos, "command "+c.Name, sp.ext); err != nil {
		return err
	}
	n, err := v.args(c.Pos, c.Name, sp, c.Args, c.Tests, c.TestList)
	if err != nil {
		return err
	}
	if sp.block && c.Block == nil {
		return verr(c.Pos, "%s needs a block in braces { ... }", c.Name)
	}
	if !sp.block && c.Block != nil {
		return verr(c.Pos, "%s takes no block; end it with ;", c.Name)
	}
	if err := v.extra(c.Pos, c.Name, n); err != nil {
		return err
	}
	c.n = n
	for _, t := range c.Tests {
		if err := v.test(t); err != nil {
			return err
		}
	}
	return v.block(c.Block, false)
}

func (v *validator) test(t *Test) error {
	sp, ok := specs[t.Name]
	if !ok {
		return verr(t.Pos, "unknown test %q", t.Name)
	}
	if !sp.test {
		return verr(t.Pos, "%s is a command, not a test", t.Name)
	}
	if err := v.need(t.Pos, "test "+t.Name, sp.ext); err != nil {
		return err
	}
	n, err := v.args(t.Pos, t.Name, sp, t.Args, t.Tests, t.TestList)
	if err != nil {
		return err
	}
	if err := v.extra(t.Pos, t.Name, n); err != nil {
		return err
	}
	t.n = n
	for _, s := range t.Tests {
		if err := v.test(s); err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) args(p Pos, name string, sp spec, args []Arg, tests []*Test, list bool) (*node, error) {
	n := &node{tags: map[string]*Arg{}}
	groups := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := &args[i]
		v.decode(a)
		if a.Kind != ArgTag {
			n.pos = append(n.pos, a)
			continue
		}
		if len(n.pos) > 0 {
			return nil, verr(a.Pos, "tag :%s must come before the other arguments of %s", a.Tag, name)
		}
		ts, ok := sp.tags[a.Tag]
		if !ok {
			return nil, verr(a.Pos, "%s does not take the tag :%s", name, a.Tag)
		}
		if err := v.need(a.Pos, "tag :"+a.Tag, ts.ext); err != nil {
			return nil, err
		}
		if ts.group != "" {
			if g, dup := groups[ts.group]; dup {
				return nil, verr(a.Pos, "%s takes only one of :%s and :%s", name, g, a.Tag)
			}
			groups[ts.group] = a.Tag
		} else if _, dup := n.tags[a.Tag]; dup {
			return nil, verr(a.Pos, "tag :%s is given twice", a.Tag)
		}
		n.tags[a.Tag] = a
		if ts.arg != 0 {
			if i+1 >= len(args) || !fits(args[i+1].Kind, ts.arg) {
				return nil, verr(a.Pos, "tag :%s must be followed by %s", a.Tag, ts.arg)
			}
			i++
			v.decode(&args[i])
			n.tags[a.Tag] = &args[i]
		}
	}
	min := len(sp.pos)
	if sp.minPos > 0 {
		min = sp.minPos
	}
	if len(n.pos) < min || len(n.pos) > len(sp.pos) {
		return nil, verr(p, "%s takes %s", name, describePos(sp))
	}
	off := len(sp.pos) - len(n.pos) // omitted leading optional positionals
	for i, a := range n.pos {
		if !fits(a.Kind, sp.pos[off+i]) {
			return nil, verr(a.Pos, "argument %d of %s must be %s", i+1, name, sp.pos[off+i])
		}
	}
	switch sp.tests {
	case 0:
		if len(tests) > 0 {
			return nil, verr(tests[0].Pos, "%s takes no test here; is a ; missing before %s?", name, tests[0].Name)
		}
	case 1:
		if len(tests) != 1 || list {
			return nil, verr(p, "%s takes exactly one test", name)
		}
	case 2:
		if !list || len(tests) == 0 {
			return nil, verr(p, "%s takes a test list in parentheses, like %s (true, false)", name, name)
		}
	}
	return n, nil
}

func describePos(sp spec) string {
	if len(sp.pos) == 0 {
		return "no arguments besides tags"
	}
	var parts []string
	for _, t := range sp.pos {
		parts = append(parts, t.String())
	}
	s := strings.Join(parts, " and ")
	if sp.minPos > 0 {
		s += " (the first may be left out)"
	}
	return s
}

func fits(k ArgKind, t argType) bool {
	switch t {
	case aString:
		return k == ArgString
	case aList:
		return k == ArgString || k == ArgList
	}
	return k == ArgNumber
}

// extra holds the checks one table cannot express.
func (v *validator) extra(p Pos, name string, n *node) error {
	if a, ok := n.tags["comparator"]; ok {
		c := strings.ToLower(a.values()[0])
		switch c {
		case "i;octet", "i;ascii-casemap":
		case "i;ascii-numeric":
			if err := v.need(a.Pos, "comparator i;ascii-numeric", "comparator-i;ascii-numeric"); err != nil {
				return err
			}
			if n.tags["contains"] != nil || n.tags["matches"] != nil {
				return verr(a.Pos, "comparator i;ascii-numeric works only with :is, :count and :value")
			}
		default:
			return verr(a.Pos, "unknown comparator %q; use i;octet, i;ascii-casemap or i;ascii-numeric", a.values()[0])
		}
	}
	for _, rel := range []string{"count", "value"} {
		if a, ok := n.tags[rel]; ok {
			switch strings.ToLower(a.values()[0]) {
			case "gt", "ge", "lt", "le", "eq", "ne":
			default:
				return verr(a.Pos, "relation %q for :%s is unknown; use gt, ge, lt, le, eq or ne", a.values()[0], rel)
			}
		}
	}
	switch name {
	case "size":
		if n.tags["over"] == nil && n.tags["under"] == nil {
			return verr(p, "size needs :over or :under, like size :over 100K")
		}
	case "set":
		if !validVarName(n.pos[0].values()[0], false) {
			return verr(n.pos[0].Pos, "%q is not a valid variable name", n.pos[0].values()[0])
		}
	case "setflag", "addflag", "removeflag", "hasflag":
		if len(n.pos) == 2 {
			if err := v.need(n.pos[0].Pos, "a variable name in "+name, "variables"); err != nil {
				return err
			}
			for _, s := range n.pos[0].values() {
				if !validVarName(s, false) {
					return verr(n.pos[0].Pos, "%q is not a valid variable name", s)
				}
			}
		}
	case "date", "currentdate":
		dp := n.pos[len(n.pos)-2]
		part := dp.values()[0]
		if !(v.req["variables"] && strings.Contains(part, "${")) {
			if _, ok := datePart(time.Time{}, part); !ok {
				return verr(dp.Pos, "date part %q is unknown; use year, month, day, date, julian, hour, minute, second, time, iso8601, std11, zone or weekday", part)
			}
		}
		if a := n.tags["zone"]; a != nil && !(v.req["variables"] && strings.Contains(a.values()[0], "${")) {
			if _, ok := parseZone(a.values()[0]); !ok {
				return verr(a.Pos, "time zone %q is not of the form +hhmm or -hhmm", a.values()[0])
			}
		}
	case "header", "address", "exists":
		// RFC 5228 §5.7: a header name that cannot occur is an error.
		for _, h := range n.pos[0].values() {
			if !(v.req["variables"] && strings.Contains(h, "${")) && !validFieldName(h) {
				return verr(n.pos[0].Pos, "%q is not a valid header field name", h)
			}
		}
	case "envelope":
		// RFC 5228 §5.4: the envelope parts are "from" and "to".
		for _, h := range n.pos[0].values() {
			if !(v.req["variables"] && strings.Contains(h, "${")) && !strings.EqualFold(h, "from") && !strings.EqualFold(h, "to") {
				return verr(n.pos[0].Pos, "envelope part %q is not supported; use \"from\" or \"to\"", h)
			}
		}
	case "redirect":
		// RFC 5228 §4.2: check a constant address when parsing.
		addr := n.pos[0].values()[0]
		if !(v.req["variables"] && strings.Contains(addr, "${")) && !validAddress(addr) {
			return verr(n.pos[0].Pos, "redirect address %q is not a valid email address", addr)
		}
	case "vacation":
		if a, ok := n.tags["from"]; ok && strings.TrimSpace(a.values()[0]) == "" {
			return verr(a.Pos, "vacation :from must not be empty")
		}
	}
	return nil
}

// validFieldName tells whether s is an RFC 5322 §3.6.8 field name.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 || s[i] == ':' {
			return false
		}
	}
	return true
}

// validVarName tells whether s is a variable name (RFC 5229 §3);
// digits are allowed only for match variables when reading.
func validVarName(s string, digits bool) bool {
	if s == "" {
		return false
	}
	if digits && s[0] >= '0' && s[0] <= '9' {
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	if !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

func (v *validator) decode(a *Arg) {
	if !v.req["encoded-character"] || a.val != nil || (a.Kind != ArgString && a.Kind != ArgList) {
		return
	}
	changed := false
	out := make([]string, len(a.Strings))
	for i, s := range a.Strings {
		out[i] = decodeEncoded(s)
		changed = changed || out[i] != s
	}
	if changed {
		a.val = out
	}
}
