package app

// The archiver (kopano-archiver, docs/operations.md "Archiver"): its rules
// from the configuration, the periodic run under the cluster's archive
// lease, archive on delivery and archive on send.

import (
	"context"
	"time"

	"github.com/roost-mail/roost/internal/mail"
)

// archiveName is how IMAP (and stubs) name a user's archive store.
const archiveName = "Online Archive"

// newArchiver builds an archiver with the rules of the current
// configuration (they apply from the next run after a reload).
func (s *server) newArchiver() *mail.Archiver {
	c := s.cfg.Load()
	day := 24 * time.Hour
	return &mail.Archiver{Store: s.db, Log: s.log.With("proto", "archiver"), ArchiveName: archiveName,
		Nodes: []string{s.node.name},
		Rules: mail.ArchiveRules{After: time.Duration(c.ArchiveAfter) * day, MinSize: int64(c.ArchiveMinSize) << 10,
			Exclude: c.ArchiveExcludeFolders, StubAfter: time.Duration(c.ArchiveStubAfter) * day,
			RemoveAfter: time.Duration(c.ArchiveRemoveAfter) * day}}
}

// archiveJob runs the archiver every archive_interval minutes (0 switches
// it off): on every node for the archive stores recorded on it (`archive
// attach --node`), and on the node holding the purge lease (jobArchive)
// also for those with no node.
func (s *server) archiveJob(ctx context.Context, interval int) {
	defer s.wg.Done()
	if interval <= 0 {
		return
	}
	// The first run waits for the first heartbeat to have taken the lease.
	first := time.NewTimer(time.Duration(s.cfg.Load().NodeHeartbeat)*time.Second + time.Second)
	defer first.Stop()
	t := time.NewTicker(time.Duration(interval) * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-first.C:
		case <-t.C:
		}
		a := s.newArchiver()
		a.OwnOnly = !s.node.holds(jobArchive)
		st, err := a.RunAll(ctx, nil)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("archive run failed", "err", err)
		}
		if st.Archived+st.Stubbed+st.Removed+st.Moved > 0 || err != nil {
			s.log.Info("archive run", "users", st.Users, "archived", st.Archived, "bytes", st.Bytes, "stubbed", st.Stubbed, "removed", st.Removed, "moved", st.Moved)
		}
	}
}

// archiveSent is the queue's archive on send.
func (s *server) archiveSent(ctx context.Context, login string, folderID int64, uid uint32) error {
	return s.newArchiver().ArchiveNew(ctx, login, folderID, []uint32{uid})
}
