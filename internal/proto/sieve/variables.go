package sieve

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// truncate cuts s to at most n bytes on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// expand replaces ${name} and ${N} references (RFC 5229 §3) when the
// script requires variables. A reference that is not valid syntax is left
// as written; an unknown variable is empty. The result is capped at
// Env.MaxStringBytes so repeated doubling cannot grow without bound.
func (r *runner) expand(s string) (string, error) {
	if !r.s.Require["variables"] || !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	max := r.env.MaxStringBytes
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		end := strings.IndexByte(rest, '}')
		name := ""
		if end >= 0 {
			name = rest[:end]
		}
		if end < 0 || !validVarName(name, true) {
			b.WriteString("${")
			s = rest
		} else {
			b.WriteString(r.lookup(name))
			s = rest[end+1:]
		}
		if b.Len() > max {
			break
		}
	}
	out := truncate(b.String(), max)
	return out, r.charge(1 + len(out)/64)
}

func (r *runner) lookup(name string) string {
	if name[0] >= '0' && name[0] <= '9' {
		i, err := strconv.Atoi(name)
		if err != nil || i >= len(r.match) {
			return ""
		}
		return r.match[i]
	}
	return r.vars[strings.ToLower(name)]
}

func (r *runner) setVar(name, value string) error {
	name = strings.ToLower(name)
	if _, ok := r.vars[name]; !ok && len(r.vars) >= r.env.MaxVariables {
		return r.errf("script sets more than %d variables", r.env.MaxVariables)
	}
	r.vars[name] = truncate(value, r.env.MaxVariableBytes)
	return nil
}

// set runs the set command (RFC 5229 §4), applying modifiers from the
// highest precedence down (§4.1).
func (r *runner) set(n *node) error {
	v, err := r.str(n.pos[1])
	if err != nil {
		return err
	}
	switch {
	case n.tags["lower"] != nil:
		v = strings.ToLower(v)
	case n.tags["upper"] != nil:
		v = strings.ToUpper(v)
	}
	if len(v) > 0 {
		first, size := utf8.DecodeRuneInString(v)
		switch {
		case n.tags["lowerfirst"] != nil:
			v = string(unicode.ToLower(first)) + v[size:]
		case n.tags["upperfirst"] != nil:
			v = string(unicode.ToUpper(first)) + v[size:]
		}
	}
	if n.tags["quotewildcard"] != nil {
		v = quoteWildcard(v)
	}
	if n.tags["length"] != nil {
		v = strconv.Itoa(utf8.RuneCountInString(v))
	}
	return r.setVar(n.pos[0].values()[0], v)
}

// parseFlags splits flag strings on spaces and drops duplicates, compared
// case-insensitively (RFC 5232 §3).
func parseFlags(in []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, s := range in {
		for _, f := range strings.Fields(s) {
			k := strings.ToLower(f)
			if !seen[k] {
				seen[k] = true
				out = append(out, f)
			}
		}
	}
	return out
}

func (r *runner) getFlags(name string) []string {
	if name == "" {
		return r.flags
	}
	return parseFlags([]string{r.vars[strings.ToLower(name)]})
}

func (r *runner) putFlags(name string, flags []string) error {
	if name == "" {
		r.flags = flags
		return nil
	}
	return r.setVar(name, strings.Join(flags, " "))
}

// flagCmd runs setflag, addflag and removeflag (RFC 5232 §3).
func (r *runner) flagCmd(cmd string, n *node) error {
	name := ""
	if len(n.pos) == 2 {
		name = n.pos[0].values()[0]
	}
	arg, err := r.list(n.pos[len(n.pos)-1])
	if err != nil {
		return err
	}
	given := parseFlags(arg)
	var out []string
	switch cmd {
	case "setflag":
		out = given
	case "addflag":
		out = parseFlags(append(append([]string{}, r.getFlags(name)...), given...))
	case "removeflag":
		drop := map[string]bool{}
		for _, f := range given {
			drop[strings.ToLower(f)] = true
		}
		out = []string{}
		for _, f := range r.getFlags(name) {
			if !drop[strings.ToLower(f)] {
				out = append(out, f)
			}
		}
	}
	if err := r.charge(1 + len(out)); err != nil {
		return err
	}
	return r.putFlags(name, out)
}

// actionFlags gives the flags for keep or fileinto: the :flags argument,
// else the internal variable (RFC 5232 §5); nil without imap4flags.
func (r *runner) actionFlags(n *node) ([]string, error) {
	if a := n.tags["flags"]; a != nil {
		l, err := r.list(a)
		if err != nil {
			return nil, err
		}
		return parseFlags(l), nil
	}
	if r.flags == nil {
		return nil, nil
	}
	return append([]string{}, r.flags...), nil
}
