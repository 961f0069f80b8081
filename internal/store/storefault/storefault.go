// Package storefault wraps a store.Backend so that tests can make chosen
// calls fail, the way a database that is down, locked or out of disk
// fails: every method that returns an error first asks the wrapper's hook.
// Adapters' tests use it to prove that an unexpected store or directory
// error reaches the client as the protocol's temporary failure and the
// log, never as "not found", "no match" or "wrong password".
//
// It is test support: production code never imports it (internal/archtest
// checks that).
package storefault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// ErrInjected is the error Fail injects when given none.
var ErrInjected = errors.New("storefault: injected failure")

// Backend is a store.Backend whose error-returning methods fail when the
// hook says so. Methods without an error result pass through unchanged.
// The methods are generated (backend_gen.go): after store.Backend gains a
// method, run
//
//	go test ./internal/store/storefault -run TestGenerated -update
type Backend struct {
	store.Backend

	mu    sync.Mutex
	fails map[string]error
	hook  func(ctx context.Context, method string) error
	calls map[string]int
}

// New wraps b; nothing fails until Fail or SetHook says so.
func New(b store.Backend) *Backend {
	return &Backend{Backend: b, fails: map[string]error{}, calls: map[string]int{}}
}

// Fail makes every later call of the named methods (e.g. "GetUser") fail
// with err (ErrInjected when err is nil).
func (f *Backend) Fail(err error, methods ...string) {
	if err == nil {
		err = ErrInjected
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range methods {
		f.fails[m] = fmt.Errorf("%s: %w", m, err)
	}
}

// Heal makes the named methods work again; with no names, all of them.
func (f *Backend) Heal(methods ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(methods) == 0 {
		clear(f.fails)
	}
	for _, m := range methods {
		delete(f.fails, m)
	}
}

// SetHook installs a function asked before every error-returning call
// (after the failures set by Fail); a non-nil result is returned instead
// of calling the backend. nil removes it.
func (f *Backend) SetHook(h func(ctx context.Context, method string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = h
}

// Calls reports how often the named method was called (failed calls
// included).
func (f *Backend) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// fault decides whether a call of method fails.
func (f *Backend) fault(ctx context.Context, method string) error {
	f.mu.Lock()
	f.calls[method]++
	err, h := f.fails[method], f.hook
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if h != nil {
		return h(ctx, method)
	}
	return nil
}

// Authenticate returns the login function the app builds for a protocol
// (the real directory.Authenticator for feature, without throttling) over
// f, so that a test can make logins meet a failing directory with
// f.Fail(err, "GetUser").
func (f *Backend) Authenticate(feature string) func(ctx context.Context, login, password string, remote net.Addr) (*store.Principal, error) {
	a := &directory.Authenticator{Store: f}
	return func(ctx context.Context, login, password string, remote net.Addr) (*store.Principal, error) {
		return a.Authenticate(ctx, login, password, remote, feature)
	}
}
