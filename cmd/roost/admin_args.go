package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// flagKind says how a subcommand flag takes its value.
type flagKind int

const (
	flagString flagKind = iota // --name VALUE, last one wins
	flagBool                   // --inactive, or --inactive=false
	flagList                   // --alias-add A --alias-add B
)

type flagDef struct {
	name string
	kind flagKind
}

func fString(name string) flagDef { return flagDef{name, flagString} }
func fBool(name string) flagDef   { return flagDef{name, flagBool} }
func fList(name string) flagDef   { return flagDef{name, flagList} }

// input is a parsed subcommand line.
type input struct {
	pos   []string
	str   map[string]string
	bools map[string]bool
	lists map[string][]string
}

func (in *input) has(name string) bool {
	_, s := in.str[name]
	_, b := in.bools[name]
	_, l := in.lists[name]
	return s || b || l
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// errHelp asks for the usage of a command.
var errHelp = errors.New("help requested")

// parseArgs parses the flags and positional arguments of cmd. Flags may
// come before, between or after the positional arguments (the flag package
// stops at the first positional one), with one or two dashes, and with
// their value as the next argument or after "=". "--" ends the flags.
func parseArgs(cmd *adminCmd, args []string) (*input, error) {
	in := &input{str: map[string]string{}, bools: map[string]bool{}, lists: map[string][]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			in.pos = append(in.pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			in.pos = append(in.pos, a)
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		val, hasVal := "", false
		if k := strings.IndexByte(name, '='); k >= 0 {
			name, val, hasVal = name[:k], name[k+1:], true
		}
		if name == "h" || name == "help" {
			return nil, errHelp
		}
		var def *flagDef
		for j := range cmd.flags {
			if cmd.flags[j].name == name {
				def = &cmd.flags[j]
			}
		}
		if def == nil {
			return nil, usagef("%s: unknown flag --%s (usage: roost admin %s)", cmd.name(), name, cmd.syntax)
		}
		if def.kind == flagBool {
			b := true
			if hasVal {
				var err error
				if b, err = strconv.ParseBool(val); err != nil {
					return nil, usagef("--%s: %q is not true or false", name, val)
				}
			}
			in.bools[name] = b
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, usagef("%s: flag --%s needs a value (usage: roost admin %s)", cmd.name(), name, cmd.syntax)
			}
			i++
			val = args[i]
		}
		if def.kind == flagList {
			in.lists[name] = append(in.lists[name], val)
		} else {
			in.str[name] = val
		}
	}
	// Arguments named "[X]" are optional (and last).
	required := 0
	for _, a := range cmd.args {
		if !strings.HasPrefix(a, "[") {
			required++
		}
	}
	if len(in.pos) < required {
		return nil, usagef("%s: missing %s (usage: roost admin %s)", cmd.name(), cmd.args[len(in.pos)], cmd.syntax)
	}
	if len(in.pos) > len(cmd.args)+len(cmd.optional) {
		return nil, usagef("%s: unexpected argument %q (usage: roost admin %s)", cmd.name(), in.pos[len(cmd.args)+len(cmd.optional)], cmd.syntax)
	}
	return in, nil
}

// megabytes checks a quota flag: a whole, non-negative number of MB. It
// returns the value to send, or "" when the flag is absent.
func (in *input) megabytes(name string) (string, error) {
	v, ok := in.str[name]
	if !ok {
		return "", nil
	}
	if _, err := strconv.ParseUint(v, 10, 40); err != nil {
		return "", usagef("--%s: %q is not a number of megabytes", name, v)
	}
	return v, nil
}

// yesNo reads a yes|no flag.
// onOff reads a pair of opposite switches (--active|--inactive,
// --hidden|--visible): true for on, false for off, nil when neither is
// given; both given is a usage error.
func (in *input) onOff(cmd *adminCmd, on, off string) (*bool, error) {
	switch {
	case in.has(on) && in.has(off) && in.bools[on] == in.bools[off]:
		return nil, usagef("%s: --%s and --%s contradict each other", cmd.name(), on, off)
	case in.has(on):
		v := in.bools[on]
		return &v, nil
	case in.has(off):
		v := !in.bools[off]
		return &v, nil
	}
	return nil, nil
}

// nothingToChange is the usage error of an update given no change.
func nothingToChange(cmd *adminCmd) error {
	return usagef("%s: nothing to change (usage: roost admin %s)", cmd.name(), cmd.syntax)
}

func (in *input) yesNo(name string) (*bool, error) {
	v, ok := in.str[name]
	if !ok {
		return nil, nil
	}
	switch strings.ToLower(v) {
	case "yes", "y", "true", "on", "1":
		b := true
		return &b, nil
	case "no", "n", "false", "off", "0":
		b := false
		return &b, nil
	}
	return nil, usagef("--%s: %q is not yes or no", name, v)
}

// count reads a flag holding a whole, non-negative number.
func (in *input) count(name, what string) (*int, error) {
	v, ok := in.str[name]
	if !ok {
		return nil, nil
	}
	n, err := strconv.ParseUint(v, 10, 31)
	if err != nil {
		return nil, usagef("--%s: %q is not a whole number of %s", name, v, what)
	}
	i := int(n)
	return &i, nil
}

// adminLevel reads --admin 0|1|2.
func (in *input) adminLevel() (*int, error) {
	v, ok := in.str["admin"]
	if !ok {
		return nil, nil
	}
	switch v {
	case "0", "1", "2":
		n := int(v[0] - '0')
		return &n, nil
	}
	return nil, usagef("--admin: %q is not 0 (none), 1 (tenant) or 2 (system)", v)
}

// storeIDArg reads a STORE-ID argument.
func storeIDArg(cmd *adminCmd, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, usagef("%s: store id %q is not a number (see roost admin store list-orphans)", cmd.name(), v)
	}
	return n, nil
}

// readPassword reads one line from r (--password-stdin), without its line
// ending.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("--password-stdin: no standard input")
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("--password-stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("--password-stdin: standard input holds no password")
	}
	return line, nil
}
