package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/directory"
)

// syncEvent is a line of the reply of POST /v1/directory/sync (the admin
// API's SyncEvent).
type syncEvent struct {
	Progress *directory.SyncProgress `json:"progress"`
	Summary  *directory.SyncSummary  `json:"summary"`
	Error    string                  `json:"error"`
}

// directorySync runs `roost admin directory sync [--json]`: the server
// reads the whole LDAP directory; a terminal shows a progress bar, then a
// summary (with --json: the summary object).
func directorySync(a *admin, _ *adminCmd, _ *input) error {
	bar := &syncBar{w: a.stdout, on: !a.json && isTerminal(a.stdout), start: time.Now()}
	var sum *directory.SyncSummary
	err := a.c.streamLines(a.ctx, "/v1/directory/sync", struct{}{}, func(line []byte) (bool, error) {
		var ev syncEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return false, fmt.Errorf("directory sync: a reply line that is not JSON: %w", err)
		}
		if ev.Progress != nil {
			bar.show(*ev.Progress)
		}
		if ev.Error != "" {
			return false, errors.New(ev.Error)
		}
		if ev.Summary != nil {
			sum = ev.Summary
		}
		return sum != nil, nil
	})
	bar.done()
	if err != nil {
		return err
	}
	if a.json {
		printJSON(a.stdout, sum)
		return nil
	}
	printSyncSummary(a.stdout, sum)
	return nil
}

func printSyncSummary(w io.Writer, s *directory.SyncSummary) {
	fmt.Fprintf(w, "Directory synced in %.1fs: %d users read: %d created, %d updated, %d renamed, %d unchanged, %d orphaned\n",
		s.Seconds, s.Users, s.Created, s.Updated, s.Renamed, s.Unchanged, s.Orphaned)
	fmt.Fprintf(w, "%d groups read: %d created, %d renamed, %d deleted, %d with changed members\n",
		s.Groups, s.GroupsCreated, s.GroupsRenamed, s.GroupsDeleted, s.GroupsUpdated)
	if s.Contacts > 0 || s.ContactsCreated+s.ContactsUpdated+s.ContactsDeleted > 0 {
		fmt.Fprintf(w, "%d contacts read: %d created, %d updated, %d deleted\n", s.Contacts, s.ContactsCreated, s.ContactsUpdated, s.ContactsDeleted)
	}
	if s.Orphaned > 0 {
		fmt.Fprintln(w, "The stores of users who left the directory are orphans now: see roost admin store list-orphans")
	}
	if s.Failed > 0 {
		fmt.Fprintf(w, "%d entries could not be applied (all are in the server's log):\n", s.Failed)
		for _, e := range s.Errors {
			fmt.Fprintf(w, "  %s\n", oneLine(e))
		}
	}
}

// syncBar draws the sync's progress on one terminal line, at most ten
// times a second; elsewhere it draws nothing.
type syncBar struct {
	w     io.Writer
	on    bool
	last  time.Time
	drawn bool
	start time.Time
}

func (b *syncBar) show(p directory.SyncProgress) {
	if !b.on {
		return
	}
	if t := time.Now(); t.Sub(b.last) < 100*time.Millisecond && p.Done != p.Total {
		return
	} else {
		b.last = t
	}
	const width = 30
	frac := 0.0
	if p.Total > 0 {
		frac = min(1, float64(p.Done)/float64(p.Total))
	}
	n := int(frac * width)
	fmt.Fprintf(b.w, "\r\x1b[K%-8s [%s] %3.0f%%  %d/%d  %.0fs", p.Phase, strings.Repeat("#", n)+strings.Repeat("-", width-n),
		frac*100, p.Done, p.Total, time.Since(b.start).Seconds())
	b.drawn = true
}

func (b *syncBar) done() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
	}
}
