package app

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/adminapi"
	"github.com/roost-mail/roost/internal/netserve"
)

// connRegistry keeps the open connections of every counted listener, for
// GET /v1/stats (roost stats --top: the busiest sessions).
type connRegistry struct {
	mu    sync.Mutex
	next  uint64
	conns map[uint64]*countedConn
}

func (r *connRegistry) add(c *countedConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil {
		r.conns = map[uint64]*countedConn{}
	}
	r.next++
	c.id = r.next
	r.conns[c.id] = c
}

func (r *connRegistry) remove(c *countedConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.conns, c.id)
}

// maxStatsConns bounds the connections one stats reply lists.
const maxStatsConns = 200

// snapshot returns the sessions per listener and the busiest connections.
func (r *connRegistry) snapshot() (map[string]int, []adminapi.ConnStats) {
	r.mu.Lock()
	all := make([]adminapi.ConnStats, 0, len(r.conns))
	for _, c := range r.conns {
		all = append(all, adminapi.ConnStats{ID: c.id, Listener: c.listener, Remote: netserve.KnownRemoteAddr(c.Conn).String(),
			Since: c.since.UTC(), BytesIn: c.in.Load(), BytesOut: c.out.Load()})
	}
	r.mu.Unlock()
	per := map[string]int{}
	for _, c := range all {
		per[c.Listener]++
	}
	slices.SortFunc(all, func(a, b adminapi.ConnStats) int {
		x, y := a.BytesIn+a.BytesOut, b.BytesIn+b.BytesOut
		switch {
		case x > y:
			return -1
		case x < y:
			return 1
		}
		return int(a.ID) - int(b.ID)
	})
	if len(all) > maxStatsConns {
		all = all[:maxStatsConns]
	}
	return per, all
}

// loginCounts counts successful logins per user (bounded: users beyond
// maxLoginUsers are not counted until the process restarts).
type loginCounts struct {
	mu sync.Mutex
	m  map[string]*adminapi.UserActivity
}

const maxLoginUsers = 100000

func (l *loginCounts) add(user, proto string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*adminapi.UserActivity{}
	}
	a := l.m[user]
	if a == nil {
		if len(l.m) >= maxLoginUsers {
			return
		}
		a = &adminapi.UserActivity{}
		l.m[user] = a
	}
	a.Logins++
	a.Last = time.Now().UTC().Truncate(time.Second)
	a.Proto = proto
}

func (l *loginCounts) snapshot() map[string]adminapi.UserActivity {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]adminapi.UserActivity, len(l.m))
	for k, v := range l.m {
		out[k] = *v
	}
	return out
}

// blobUsage caches the size of the blob directory: walking it costs a
// stat per file, so it is done at most once a minute.
type blobUsage struct {
	mu           sync.Mutex
	at           time.Time
	bytes, files int64
}

func (b *blobUsage) get(ctx context.Context, dir string) (int64, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if time.Since(b.at) < time.Minute {
		return b.bytes, b.files
	}
	var n, files int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a file removed meanwhile
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
				files++
			}
		}
		return nil
	})
	if err != nil {
		return -1, -1
	}
	b.at, b.bytes, b.files = time.Now(), n, files
	return n, files
}

// runtimeStats is adminapi.Options.Runtime.
func (s *server) runtimeStats(ctx context.Context) adminapi.RuntimeStats {
	var rt adminapi.RuntimeStats
	if info, err := s.db.DatabaseInfo(ctx); err == nil {
		rt.Database, rt.DatabaseBytes = info.Driver, info.Bytes
	} else {
		s.log.Warn("stats: database size", "err", err)
	}
	if s.cfg.Load().BlobStore == "s3" {
		// The bucket is shared by the cluster and listing it costs a
		// request per 1,000 objects: not counted here.
		rt.BlobBytes, rt.BlobFiles = -1, -1
	} else {
		rt.BlobBytes, rt.BlobFiles = s.blobUsage.get(ctx, filepath.Join(s.cfg.Load().DataDir, "blobs"))
	}
	if s.metrics != nil {
		rt.Sessions, rt.Connections = s.metrics.conns.snapshot()
		rt.Logins = s.metrics.logins.snapshot()
	}
	return rt
}
