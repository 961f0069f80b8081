package mail

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/store"
)

// Scripts manages users' Sieve scripts (ManageSieve, the web client). The
// acting principal travels in ctx: the user, or an admin of its tenant.
type Scripts struct {
	Store  store.Settings
	Limits SieveOptions
}

// Script management errors, besides store.ErrNotFound (no such script),
// store.ErrConflict (the new name is taken) and *ScriptError (invalid).
var (
	ErrScriptActive   = errors.New("the script is active")
	ErrScriptTooBig   = errors.New("script too large")
	ErrTooManyScripts = errors.New("too many scripts")
	ErrScriptName     = errors.New("invalid script name")
)

// ScriptInfo is one script of a user.
type ScriptInfo struct {
	Name   string
	Active bool
	Size   int
}

// MaxScriptName bounds a script name in bytes.
const MaxScriptName = 128

// CheckScriptName validates a script name (RFC 5804 §1.6: no control
// characters, no line or paragraph separators).
func CheckScriptName(name string) error {
	if name == "" || len(name) > MaxScriptName || !utf8.ValidString(name) {
		return ErrScriptName
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == 0x2028 || r == 0x2029 {
			return ErrScriptName
		}
	}
	return nil
}

func (s *Scripts) props(ctx context.Context, login string) (int64, map[string]string, error) {
	st, err := s.Store.UserStore(ctx, login)
	if err != nil {
		return 0, nil, err
	}
	p, err := s.Store.StoreProps(ctx, st.ID)
	if err != nil {
		return 0, nil, err
	}
	return st.ID, p, nil
}

// List returns the user's scripts in name order.
func (s *Scripts) List(ctx context.Context, login string) ([]ScriptInfo, error) {
	_, p, err := s.props(ctx, login)
	if err != nil {
		return nil, err
	}
	active := p[propActive]
	var out []ScriptInfo
	for k, v := range p {
		if name, ok := strings.CutPrefix(k, propScriptPrefix); ok {
			out = append(out, ScriptInfo{Name: name, Active: name == active, Size: len(v)})
		}
	}
	slices.SortFunc(out, func(a, b ScriptInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Get returns a script's text.
func (s *Scripts) Get(ctx context.Context, login, name string) (string, error) {
	_, p, err := s.props(ctx, login)
	if err != nil {
		return "", err
	}
	text, ok := p[propScriptPrefix+name]
	if !ok {
		return "", fmt.Errorf("script %q: %w", name, store.ErrNotFound)
	}
	return text, nil
}

// Check validates a script without storing it.
func (s *Scripts) Check(text []byte) error {
	opts := s.Limits.withDefaults()
	if len(text) > opts.MaxScriptBytes {
		return ErrScriptTooBig
	}
	return checkScript(text, opts)
}

// HaveSpace tells whether a script of size bytes named name could be
// stored (RFC 5804 §2.5).
func (s *Scripts) HaveSpace(ctx context.Context, login, name string, size int64) error {
	if err := CheckScriptName(name); err != nil {
		return err
	}
	opts := s.Limits.withDefaults()
	if size > int64(opts.MaxScriptBytes) {
		return ErrScriptTooBig
	}
	_, p, err := s.props(ctx, login)
	if err != nil {
		return err
	}
	if _, exists := p[propScriptPrefix+name]; !exists && countScripts(p) >= opts.MaxScripts {
		return ErrTooManyScripts
	}
	return nil
}

func countScripts(p map[string]string) int {
	n := 0
	for k := range p {
		if strings.HasPrefix(k, propScriptPrefix) {
			n++
		}
	}
	return n
}

// Put validates and stores a script, replacing one of the same name.
func (s *Scripts) Put(ctx context.Context, login, name string, text []byte) error {
	if err := CheckScriptName(name); err != nil {
		return err
	}
	if err := s.Check(text); err != nil {
		return err
	}
	id, p, err := s.props(ctx, login)
	if err != nil {
		return err
	}
	if _, exists := p[propScriptPrefix+name]; !exists && countScripts(p) >= s.Limits.withDefaults().MaxScripts {
		return ErrTooManyScripts
	}
	v := string(text)
	return s.Store.SetStoreProps(ctx, id, map[string]*string{propScriptPrefix + name: &v})
}

// SetActive makes a script the active one; "" deactivates scripts.
func (s *Scripts) SetActive(ctx context.Context, login, name string) error {
	id, p, err := s.props(ctx, login)
	if err != nil {
		return err
	}
	if name == "" {
		return s.Store.SetStoreProps(ctx, id, map[string]*string{propActive: nil})
	}
	if _, ok := p[propScriptPrefix+name]; !ok {
		return fmt.Errorf("script %q: %w", name, store.ErrNotFound)
	}
	return s.Store.SetStoreProps(ctx, id, map[string]*string{propActive: &name})
}

// Active returns the name of the active script, "" when none.
func (s *Scripts) Active(ctx context.Context, login string) (string, error) {
	_, p, err := s.props(ctx, login)
	if err != nil {
		return "", err
	}
	return p[propActive], nil
}

// Delete removes a script that is not active (RFC 5804 §2.10).
func (s *Scripts) Delete(ctx context.Context, login, name string) error {
	id, p, err := s.props(ctx, login)
	if err != nil {
		return err
	}
	if _, ok := p[propScriptPrefix+name]; !ok {
		return fmt.Errorf("script %q: %w", name, store.ErrNotFound)
	}
	if p[propActive] == name {
		return ErrScriptActive
	}
	return s.Store.SetStoreProps(ctx, id, map[string]*string{propScriptPrefix + name: nil})
}

// Rename renames a script; an active script stays active (RFC 5804 §2.11.1).
func (s *Scripts) Rename(ctx context.Context, login, oldName, newName string) error {
	if err := CheckScriptName(newName); err != nil {
		return err
	}
	id, p, err := s.props(ctx, login)
	if err != nil {
		return err
	}
	text, ok := p[propScriptPrefix+oldName]
	if !ok {
		return fmt.Errorf("script %q: %w", oldName, store.ErrNotFound)
	}
	if _, taken := p[propScriptPrefix+newName]; taken {
		return fmt.Errorf("script %q: %w", newName, store.ErrConflict)
	}
	set := map[string]*string{propScriptPrefix + newName: &text, propScriptPrefix + oldName: nil}
	if p[propActive] == oldName {
		set[propActive] = &newName
	}
	return s.Store.SetStoreProps(ctx, id, set)
}

// Options returns the limits in force, defaults filled in (what
// ManageSieve and JMAP advertise).
func (s *Scripts) Options() SieveOptions { return s.Limits.withDefaults() }

// Texts returns every script of the user by name, and the name of the
// active one ("" when none), from one read of the store's settings.
func (s *Scripts) Texts(ctx context.Context, login string) (map[string]string, string, error) {
	_, p, err := s.props(ctx, login)
	if err != nil {
		return nil, "", err
	}
	out := map[string]string{}
	for k, v := range p {
		if name, ok := strings.CutPrefix(k, propScriptPrefix); ok {
			out[name] = v
		}
	}
	active := p[propActive]
	if _, ok := out[active]; !ok {
		active = ""
	}
	return out, active, nil
}
