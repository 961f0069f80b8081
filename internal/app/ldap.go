package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/directory/ldap"
	"github.com/roost-mail/roost/internal/directory/unix"
	"github.com/roost-mail/roost/internal/store"
)

// useDirectory connects authn to the configured user plugin and returns
// the store delivery resolves recipients in. With user_plugin = ldap the
// directory checks every password, the credential cache trusts a login
// for at most ldap_auth_cache_ttl, and a recipient unknown to Roost is
// looked up in the directory (and provisioned) before it is refused.
func (s *server) useDirectory(cfg *config.Config, authn *directory.Authenticator) (store.Backend, error) {
	if cfg.UserPlugin == "unix" {
		d, err := unix.New(unix.FromConfig(cfg), s.db, s.log.With("proto", "unix"))
		if err != nil {
			return nil, fmt.Errorf("user_plugin unix: %w", err)
		}
		s.mu.Lock()
		s.syncDir = d
		s.mu.Unlock()
		authn.External = d
		return ldapRecipients{Backend: s.db, dir: d}, nil
	}
	if cfg.UserPlugin != "ldap" {
		return s.db, nil
	}
	lc, err := ldap.FromConfig(cfg)
	if err != nil {
		return nil, err
	}
	d, err := ldap.New(lc, s.db, s.log.With("proto", "ldap"))
	if err != nil {
		return nil, fmt.Errorf("user_plugin ldap: %w", err)
	}
	s.mu.Lock()
	s.closers = append(s.closers, ldapCloser{d})
	s.syncDir = d
	s.mu.Unlock()
	authn.External = d
	authn.Cache = auth.NewCredCache(cfg.AuthCacheSize, time.Duration(min(cfg.AuthCacheTTL, cfg.LDAPAuthCacheTTL))*time.Second)
	return ldapRecipients{Backend: s.db, dir: d}, nil
}

type ldapCloser struct{ d *ldap.Directory }

func (c ldapCloser) Close() error { c.d.Close(); return nil }

// ldapRecipients is the store with recipients also found in the
// directory (LDAP or the Unix files).
type ldapRecipients struct {
	store.Backend
	dir interface {
		UserByAddress(ctx context.Context, addr string) (*store.User, error)
	}
}

// Recipients implements store.Directory: an address Roost does not know
// is looked up in the directory, whose user is provisioned just in time.
// The directory being down is an error (a temporary failure), not
// "unknown recipient".
func (r ldapRecipients) Recipients(ctx context.Context, addr string) ([]*store.User, error) {
	users, err := r.Backend.Recipients(ctx, addr)
	if !errors.Is(err, store.ErrNotFound) {
		return users, err
	}
	if _, err := r.dir.UserByAddress(ctx, addr); err != nil {
		return nil, err
	}
	return r.Backend.Recipients(ctx, addr)
}

// syncer is what POST /v1/directory/sync reads: the LDAP directory or
// the Unix files, or nil (not a typed nil) with user_plugin = db.
func (s *server) syncer() directory.Syncer {
	if s.syncDir == nil {
		return nil
	}
	return s.syncDir
}

// directorySyncJob runs the directory sync every interval
// (ldap_sync_interval), the first one interval after start.
func (s *server) directorySyncJob(ctx context.Context, interval time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.syncDir.Sync(ctx, nil); err != nil && ctx.Err() == nil {
			s.log.Error("periodic directory sync failed", "err", err)
		}
	}
}
