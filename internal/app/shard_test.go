package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"testing"

	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// TestProxyLoginRegistryFailure: a proxied login from an address that is
// no registered frontend is refused as bad credentials, but a node
// registry that cannot be read is a temporary failure, not a wrong
// password (nor a throttled failed login).
func TestProxyLoginRegistryFailure(t *testing.T) {
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{log: slog.New(slog.DiscardHandler), db: db}
	s.cfg.Store(config.Default())
	login := s.proxyLogin("imap")
	front := &net.TCPAddr{IP: net.ParseIP("127.0.0.9"), Port: 40000}

	_, err = login(context.Background(), "alice", front, front)
	if !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("proxied login from an unregistered address: %v, want ErrBadCredentials", err)
	}

	db.Close()
	_, err = login(context.Background(), "alice", front, front)
	if err == nil || errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("proxied login with the registry unreadable: %v, want a temporary failure", err)
	}
}
