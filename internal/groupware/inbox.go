package groupware

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/store"
)

// The schedule inbox (RFC 6638 §2.2). Invitations are delivered straight
// into the attendee's calendar; a copy of each iTIP message a user
// receives is also kept in the user's schedule inbox, because Apple's
// calendar clients show new invitations (and replies and cancellations)
// from there. The inbox is a hidden folder of the user's store, named
// ScheduleInboxName ("~" names are reserved: no client can create one),
// of type notes so that nothing that reads calendars (free/busy,
// scheduling's search for a user's copy) sees it.
//
// It is kept in step: it holds at most one message per UID (a newer one
// replaces it); an attendee's answer or delete of the event removes the
// messages for it; and messages older than Scheduler.InboxTTL are removed
// whenever the inbox is written. Clients delete messages they processed.

// ScheduleInboxName is the name of the schedule inbox folder.
const ScheduleInboxName = "~schedule-inbox"

// IsScheduleInbox reports whether f is a schedule inbox folder.
func IsScheduleInbox(f *store.Folder) bool {
	return f != nil && f.ParentID == 0 && f.Type == store.FolderNotes && f.Name == ScheduleInboxName
}

// DefaultInboxTTL is how long the schedule inbox keeps a message when
// Scheduler.InboxTTL is zero.
const DefaultInboxTTL = 30 * 24 * time.Hour

func (s *Scheduler) inboxTTL() time.Duration {
	if s.InboxTTL == 0 {
		return DefaultInboxTTL
	}
	return s.InboxTTL
}

// ScheduleInbox returns the schedule inbox folder of a store; nil when
// it has none yet.
func ScheduleInbox(ctx context.Context, b store.Backend, storeID int64) (*store.Folder, error) {
	fs, err := b.ListFolders(ctx, storeID)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if IsScheduleInbox(f) && !f.Deleted {
			return f, nil
		}
	}
	return nil, nil
}

// toInbox keeps a copy of an iTIP message for u. Failures are logged:
// the message itself was delivered into the calendar.
func (s *Scheduler) toInbox(ctx context.Context, u *store.User, method string, cal *ical.Component) {
	if s.InboxTTL < 0 || u == nil || !u.Active {
		return
	}
	if err := s.writeInbox(ctx, u, method, cal); err != nil {
		s.log().Warn("schedule inbox write failed", "user", u.Login, "method", method, "err", err)
	}
}

func (s *Scheduler) writeInbox(ctx context.Context, u *store.User, method string, cal *ical.Component) error {
	uid := firstUID(cal)
	msg := clone(cal)
	stripScheduleStatus(msg)
	msg.Set(&ical.Property{Name: "METHOD", Value: method})
	b, err := ical.Marshal(msg)
	if err != nil {
		return err
	}
	st, err := s.Store.UserStore(ctx, u.Login)
	if err != nil {
		return err
	}
	f, err := ScheduleInbox(ctx, s.Store, st.ID)
	if err != nil {
		return err
	}
	if f == nil {
		f, err = s.Store.CreateFolder(ctx, st.ID, 0, ScheduleInboxName, store.FolderNotes)
		if errors.Is(err, store.ErrConflict) {
			f, err = ScheduleInbox(ctx, s.Store, st.ID)
			if err == nil && f == nil {
				err = fmt.Errorf("schedule inbox of %s vanished", u.Login)
			}
		}
		if err != nil {
			return fmt.Errorf("create schedule inbox: %w", err)
		}
	}
	// One message per UID, and none older than the TTL.
	its, err := s.Store.ListObjects(ctx, f.ID, store.ObjectQuery{})
	if err != nil {
		return err
	}
	cut := s.now().Add(-s.inboxTTL())
	var drop []uint32
	for _, it := range its {
		if it.ObjectUID == uid || it.InternalDate.Before(cut) {
			drop = append(drop, it.UID)
		}
	}
	if len(drop) > 0 {
		if _, err := s.Store.DeleteItems(ctx, f.ID, drop); err != nil {
			return err
		}
	}
	name := fmt.Sprintf("%s-%s-%d.ics", safeName(uid), strings.ToLower(method), s.now().UnixNano())
	_, err = s.Store.AppendItem(ctx, f.ID, store.NewItem{Content: bytes.NewReader(b), Name: name, ObjectUID: uid, InternalDate: s.now()})
	return err
}

// clearInbox removes u's schedule inbox messages about uid: the user
// answered or deleted the event.
func (s *Scheduler) clearInbox(ctx context.Context, u *store.User, uid string) {
	if u == nil || uid == "" {
		return
	}
	st, err := s.Store.UserStore(ctx, u.Login)
	if err != nil {
		s.log().Warn("schedule inbox cleanup failed", "user", u.Login, "err", err)
		return
	}
	f, err := ScheduleInbox(ctx, s.Store, st.ID)
	if err != nil || f == nil {
		if err != nil {
			s.log().Warn("schedule inbox cleanup failed", "user", u.Login, "err", err)
		}
		return
	}
	its, err := s.Store.ListObjects(ctx, f.ID, store.ObjectQuery{ObjectUID: uid})
	if err != nil {
		s.log().Warn("schedule inbox cleanup failed", "user", u.Login, "err", err)
		return
	}
	var drop []uint32
	for _, it := range its {
		drop = append(drop, it.UID)
	}
	if len(drop) > 0 {
		if _, err := s.Store.DeleteItems(ctx, f.ID, drop); err != nil {
			s.log().Warn("schedule inbox cleanup failed", "user", u.Login, "err", err)
		}
	}
}
