package app

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// The queue's log lines carry proto=queue once: the queue names itself,
// the app does not name it again (issue 9.20).
func TestQueueLogsProtoOnce(t *testing.T) {
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuf{}
	s := &server{log: slog.New(slog.NewTextHandler(logs, nil)), db: db}
	q := s.newQueue(config.Default(), nil)
	t.Cleanup(func() { db.Close() })
	// Claiming due messages fails, and the queue logs it.
	raw, err := sql.Open("sqlite", filepath.Join(dir, "roost.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`ALTER TABLE queue RENAME TO queue_gone`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	waitFor(t, "a queue log line", func() bool { return strings.Contains(logs.String(), "claim due messages") })
	cancel()
	<-done
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "claim due messages") && strings.Count(l, "proto=queue") != 1 {
			t.Errorf("proto=queue %d times: %s", strings.Count(l, "proto=queue"), l)
		}
	}
}
