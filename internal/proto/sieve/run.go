package sieve

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Env bounds and configures one run. A zero field takes its default.
type Env struct {
	// MaxSteps is the instruction budget: commands, tests, string
	// expansion and wildcard matching all draw from it. Default 1,000,000.
	MaxSteps int
	// MaxVariableBytes caps one variable's value; longer values are
	// truncated (RFC 5229 §6 asks for at least 4000). Default 4096.
	MaxVariableBytes int
	// MaxStringBytes caps a string after variable expansion. Default 64 KiB.
	MaxStringBytes int
	// MaxVariables caps how many variables a script may set. Default 256.
	MaxVariables int
	// MaxActions caps the number of actions. Default 64.
	MaxActions int
	// MaxRedirects caps redirect actions. Default 4.
	MaxRedirects int
	// SubaddressSeparator separates user and detail (RFC 5233). Default "+".
	SubaddressSeparator string
	// Now is the time currentdate sees; its location is the default zone
	// of the date tests (RFC 5260 §4.1). Default time.Now().
	Now time.Time
}

func (e Env) withDefaults() Env {
	if e.MaxSteps <= 0 {
		e.MaxSteps = 1000000
	}
	if e.MaxVariableBytes <= 0 {
		e.MaxVariableBytes = 4096
	}
	if e.MaxStringBytes <= 0 {
		e.MaxStringBytes = 64 << 10
	}
	if e.MaxVariables <= 0 {
		e.MaxVariables = 256
	}
	if e.MaxActions <= 0 {
		e.MaxActions = 64
	}
	if e.MaxRedirects <= 0 {
		e.MaxRedirects = 4
	}
	if e.Now.IsZero() {
		e.Now = time.Now()
	}
	if e.SubaddressSeparator == "" {
		e.SubaddressSeparator = "+"
	}
	return e
}

// ErrBudget is wrapped by the error Run returns when a script used up its
// instruction budget.
var ErrBudget = errors.New("sieve: instruction budget exhausted")

type runner struct {
	s     *Script
	msg   Message
	env   Env
	steps int
	vars  map[string]string
	match []string
	flags []string
	res   Result

	pos           Pos // of the command running, for errors
	keepCancelled bool
	stopped       bool
	redirects     int
	rejected      bool
	vacation      bool
	kept          bool
}

// Run runs a parsed script against a message. On error the caller must
// keep the message (RFC 5228 §2.10.6); the error is an *Error carrying the
// position of the failing command.
func Run(s *Script, msg Message, env Env) (*Result, error) {
	r := &runner{s: s, msg: msg, env: env.withDefaults(), vars: map[string]string{}}
	if s.Require["imap4flags"] {
		r.flags = []string{}
	}
	if err := r.block(s.Commands); err != nil {
		return nil, err
	}
	r.res.Flags = r.flags
	if !r.keepCancelled {
		r.res.ImplicitKeep = true
		r.res.Actions = append(r.res.Actions, Keep{Flags: r.flags, Implicit: true})
	}
	return &r.res, nil
}

func (r *runner) errf(format string, a ...any) error {
	return &Error{Pos: r.pos, Msg: fmt.Sprintf(format, a...)}
}

func (r *runner) charge(n int) error {
	r.steps += n
	if r.steps > r.env.MaxSteps {
		return &Error{Pos: r.pos, Msg: "script used up its instruction budget of " + itoa(r.env.MaxSteps) + " steps", Err: ErrBudget}
	}
	return nil
}

func (r *runner) block(cmds []*Command) error {
	taken := false // an if or elsif of the current chain ran its block
	for _, c := range cmds {
		if r.stopped {
			return nil
		}
		r.pos = c.Pos
		if c.n == nil {
			return r.errf("command %s was not validated: run only scripts that Parse returned", c.Name)
		}
		if err := r.charge(1); err != nil {
			return err
		}
		switch c.Name {
		case "if", "elsif":
			if c.Name == "if" {
				taken = false
			}
			if taken {
				continue
			}
			ok, err := r.test(c.Tests[0])
			if err != nil {
				return err
			}
			if ok {
				taken = true
				if err := r.block(c.Block); err != nil {
					return err
				}
			}
		case "else":
			if !taken {
				if err := r.block(c.Block); err != nil {
					return err
				}
			}
			taken = false
		default:
			if err := r.command(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// str returns a string argument with variables expanded.
func (r *runner) str(a *Arg) (string, error) {
	return r.expand(a.values()[0])
}

func (r *runner) list(a *Arg) ([]string, error) {
	vs := a.values()
	out := make([]string, len(vs))
	for i, v := range vs {
		s, err := r.expand(v)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func (r *runner) addAction(a Action) error {
	if len(r.res.Actions) >= r.env.MaxActions {
		return r.errf("script asks for more than %d actions", r.env.MaxActions)
	}
	if _, ok := a.(Discard); !ok && r.rejected {
		return r.errf("reject cannot be combined with keep, fileinto, redirect or vacation")
	}
	r.res.Actions = append(r.res.Actions, a)
	return nil
}

func (r *runner) command(c *Command) error {
	n := c.n
	switch c.Name {
	case "require":
		return nil
	case "stop":
		r.stopped = true
		return nil
	case "keep":
		flags, err := r.actionFlags(n)
		if err != nil {
			return err
		}
		r.keepCancelled = true
		if r.kept {
			return nil // RFC 5228 §2.10.3: done once
		}
		r.kept = true
		return r.addAction(Keep{Flags: flags})
	case "discard":
		r.keepCancelled = true
		for _, a := range r.res.Actions {
			if _, ok := a.(Discard); ok {
				return nil
			}
		}
		return r.addAction(Discard{})
	case "fileinto":
		box, err := r.str(n.pos[0])
		if err != nil {
			return err
		}
		flags, err := r.actionFlags(n)
		if err != nil {
			return err
		}
		cp := n.tags["copy"] != nil
		if !cp {
			r.keepCancelled = true
		}
		for _, a := range r.res.Actions {
			if f, ok := a.(FileInto); ok && f.Mailbox == box {
				return nil
			}
		}
		return r.addAction(FileInto{Mailbox: box, Copy: cp, Flags: flags, Create: n.tags["create"] != nil})
	case "redirect":
		addr, err := r.str(n.pos[0])
		if err != nil {
			return err
		}
		if !validAddress(addr) {
			return r.errf("redirect address %q is not a valid email address", addr)
		}
		cp := n.tags["copy"] != nil
		if !cp {
			r.keepCancelled = true
		}
		for _, a := range r.res.Actions {
			if f, ok := a.(Redirect); ok && strings.EqualFold(f.Address, addr) {
				return nil
			}
		}
		r.redirects++
		if r.redirects > r.env.MaxRedirects {
			return r.errf("script redirects to more than %d addresses", r.env.MaxRedirects)
		}
		return r.addAction(Redirect{Address: addr, Copy: cp})
	case "reject", "ereject":
		reason, err := r.str(n.pos[0])
		if err != nil {
			return err
		}
		// RFC 5429 §2.1: one reject only, and not together with actions
		// that deliver or answer the message.
		for _, a := range r.res.Actions {
			switch a.(type) {
			case Keep, FileInto, Redirect, Vacation, Reject:
				return r.errf("%s cannot be combined with keep, fileinto, redirect, vacation or another reject", c.Name)
			}
		}
		if err := r.addAction(Reject{Reason: reason, Extended: c.Name == "ereject"}); err != nil {
			return err
		}
		r.rejected = true
		r.keepCancelled = true
		return nil
	case "vacation":
		return r.vacationCmd(n)
	case "set":
		return r.set(n)
	case "setflag", "addflag", "removeflag":
		return r.flagCmd(c.Name, n)
	}
	return r.errf("command %s cannot run", c.Name)
}

func (r *runner) vacationCmd(n *node) error {
	if r.vacation {
		return r.errf("only one vacation action is allowed per run")
	}
	r.vacation = true
	v := Vacation{Mime: n.tags["mime"] != nil}
	if a := n.tags["days"]; a != nil {
		d := a.Num
		if d < 1 {
			d = 1 // RFC 5230 §4.1: at least one day
		}
		if d > 365*100 {
			d = 365 * 100
		}
		v.Period, v.PeriodSet = time.Duration(d)*24*time.Hour, true
	}
	if a := n.tags["seconds"]; a != nil {
		s := a.Num
		if s > 100*365*86400 {
			s = 100 * 365 * 86400
		}
		v.Period, v.PeriodSet = time.Duration(s)*time.Second, true
	}
	var err error
	get := func(tag string) string {
		if a := n.tags[tag]; a != nil && err == nil {
			var s string
			s, err = r.str(a)
			return s
		}
		return ""
	}
	v.Subject, v.From, v.Handle = get("subject"), get("from"), get("handle")
	if a := n.tags["addresses"]; a != nil && err == nil {
		v.Addresses, err = r.list(a)
	}
	if err == nil {
		v.Reason, err = r.str(n.pos[0])
	}
	if err != nil {
		return err
	}
	if n.tags["handle"] == nil {
		// RFC 5230 §4.2: without :handle, responses differing in these
		// arguments count as different.
		h := sha256.Sum256([]byte(v.Subject + "\x00" + v.From + "\x00" + v.Reason + "\x00" + fmt.Sprint(v.Mime)))
		v.Handle = hex.EncodeToString(h[:12])
	}
	for _, a := range r.res.Actions {
		if _, ok := a.(Reject); ok {
			return r.errf("vacation cannot be combined with reject")
		}
	}
	return r.addAction(v)
}
