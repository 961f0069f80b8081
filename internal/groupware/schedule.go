package groupware

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/store"
)

// Outbound sends iTIP messages to calendar users outside the installation
// (iMIP, RFC 6047).
type Outbound interface {
	SendITIP(ctx context.Context, from string, to []string, method string, ics []byte) error
}

// Scheduler implements implicit scheduling (RFC 6638 §3.2) between users
// of the installation: an organizer's change is delivered straight into
// each internal attendee's default calendar, an attendee's participation
// change is written into the organizer's copy, and rooms and equipment
// answer by themselves (Kopano §8.8). Messages to other addresses go to
// Outbound.
//
// Scheduling never fails the client's request: the resource the client
// wrote is stored first, then the Scheduler works as the system principal
// and logs what it could not do.
type Scheduler struct {
	Store    store.Backend
	Logger   *slog.Logger
	Outbound Outbound // nil: external attendees are skipped
	Zones    *ical.ZoneCache
	Now      func() time.Time
	// Horizon bounds how far into a recurring booking resource conflicts
	// are checked; default one year.
	Horizon time.Duration
	// InboxTTL is how long the schedule inbox keeps a copy of an iTIP
	// message (inbox.go); 0 means DefaultInboxTTL, negative keeps none.
	InboxTTL time.Duration
	// MaxAttendees bounds the attendees an organizer's object may name:
	// each costs a directory lookup and a delivery or an iMIP message on
	// every change; 0 means DefaultMaxAttendees.
	MaxAttendees int
}

// PutEvent describes a calendar object a user stored.
type PutEvent struct {
	Owner  *store.Store  // the store the object is in
	Folder *store.Folder // its folder
	Name   string
	Old    []byte // the previous content, nil for a new object
	New    *ical.Component
}

// DeleteEvent describes a calendar object a user deleted.
type DeleteEvent struct {
	Owner  *store.Store
	Folder *store.Folder
	Old    []byte
}

func (s *Scheduler) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ownerAddrs returns the owner of a store and its addresses (lower case);
// no user for a store without an owner.
func (s *Scheduler) ownerAddrs(ctx context.Context, st *store.Store) (*store.User, []string, error) {
	if st == nil || st.Owner == "" {
		return nil, nil, nil
	}
	u, err := s.Store.GetUser(ctx, st.Owner)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("scheduling: owner %s of store %d: %w", st.Owner, st.ID, err)
	}
	return u, userAddrs(u), nil
}

func userAddrs(u *store.User) []string {
	addrs := []string{strings.ToLower(u.Email)}
	for _, a := range u.Aliases {
		if !strings.HasPrefix(a, "@") {
			addrs = append(addrs, strings.ToLower(a))
		}
	}
	return addrs
}

// schedulingComponents returns the VEVENT/VTODO components of an object
// (master and overrides) and their organizer address.
func schedulingComponents(cal *ical.Component) ([]*ical.Component, string) {
	var cs []*ical.Component
	org := ""
	for _, c := range cal.Children {
		if c.Name != ical.VEvent && c.Name != ical.VTodo {
			continue
		}
		cs = append(cs, c)
		if p := c.Prop("ORGANIZER"); p != nil && org == "" {
			org = Addr(p.Value)
		}
	}
	return cs, org
}

// attendees returns the attendee addresses of the components, without
// those whose SCHEDULE-AGENT is not SERVER (RFC 6638 §7.1).
func attendees(cs []*ical.Component) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range cs {
		for _, p := range c.All("ATTENDEE") {
			if ag := p.Param("SCHEDULE-AGENT"); ag != "" && !strings.EqualFold(ag, "SERVER") {
				continue
			}
			a := Addr(p.Value)
			if a != "" && !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// ErrTooManyAttendees is returned by PlanPut for an organizer's object
// naming more attendees than Scheduler.MaxAttendees (RFC 4791 §5.3.2.1
// max-attendees-per-instance).
var ErrTooManyAttendees = errors.New("too many attendees")

// DefaultMaxAttendees is Scheduler.MaxAttendees when that is zero.
const DefaultMaxAttendees = 1000

func (s *Scheduler) maxAttendees() int {
	if s.MaxAttendees <= 0 {
		return DefaultMaxAttendees
	}
	return s.MaxAttendees
}

// partstat returns the PARTSTAT of addr in the first component naming it.
func partstat(cs []*ical.Component, addr string) string {
	for _, c := range cs {
		for _, p := range c.All("ATTENDEE") {
			if Addr(p.Value) == addr {
				if v := p.Param("PARTSTAT"); v != "" {
					return strings.ToUpper(v)
				}
				return "NEEDS-ACTION"
			}
		}
	}
	return ""
}

// An attendee's comment on their answer travels as Apple's calendar
// server writes it (iCalendar has no per-attendee comment): one
// X-CALENDARSERVER-ATTENDEE-COMMENT per attendee, named by its
// X-CALENDARSERVER-ATTENDEE-REF parameter, in the attendee's copy and,
// after their REPLY, in the organizer's; JMAP shows it as the
// participant's participationComment (package jscalendar). Other
// attendees never get it: the organizer's version is delivered without
// comments but the attendee's own.
const (
	attendeeComment    = "X-CALENDARSERVER-ATTENDEE-COMMENT"
	attendeeCommentRef = "X-CALENDARSERVER-ATTENDEE-REF"
)

// commentOf is addr's comment on their answer, "" for none.
func commentOf(cs []*ical.Component, addr string) string {
	for _, c := range cs {
		for _, p := range c.All(attendeeComment) {
			if Addr(p.Param(attendeeCommentRef)) == addr {
				return p.Text()
			}
		}
	}
	return ""
}

// setComments removes the attendee comments of every scheduling
// component but those keep names, then, when text is not "", sets
// addr's to text where addr is an attendee.
func setComments(cal *ical.Component, keep func(addr string) bool, addr, text string) {
	for _, c := range cal.Children {
		if c.Name != ical.VEvent && c.Name != ical.VTodo {
			continue
		}
		out := c.Props[:0]
		attendee := false
		for _, p := range c.Props {
			if strings.EqualFold(p.Name, "ATTENDEE") && Addr(p.Value) == addr {
				attendee = true
			}
			if strings.EqualFold(p.Name, attendeeComment) {
				if a := Addr(p.Param(attendeeCommentRef)); a == addr || !keep(a) {
					continue
				}
			}
			out = append(out, p)
		}
		c.Props = out
		if text != "" && attendee {
			x := &ical.Property{Name: attendeeComment}
			x.SetParam(attendeeCommentRef, "mailto:"+addr)
			x.SetText(text)
			c.Props = append(c.Props, x)
		}
	}
}

// Change is the scheduling work for one stored or deleted object, with
// every directory lookup already done. PlanPut and PlanDelete fail when
// the store does, before the client's change is written, so that a store
// failure is the client's temporary failure (and its retry schedules
// again) rather than a local attendee taken for an external one. Run
// then delivers; what it cannot deliver it logs.
type Change struct {
	s     *Scheduler
	owner *store.User
	mine  []string
	org   string
	cs    []*ical.Component
	// users holds the users of the owner's tenant by address, nil for an
	// address outside it, for every address Run needs.
	users map[string]*store.User
	put   *PutEvent
	old   *ical.Component // the deleted object (PlanDelete)
}

// PlanPut looks up what scheduling a stored object needs; a nil Change
// means there is nothing to do.
func (s *Scheduler) PlanPut(ctx context.Context, ev PutEvent) (*Change, error) {
	if s == nil || s.Store == nil || ev.New == nil {
		return nil, nil
	}
	sys := store.SystemContext(ctx)
	owner, mine, err := s.ownerAddrs(sys, ev.Owner)
	if err != nil || owner == nil {
		return nil, err
	}
	cs, org := schedulingComponents(ev.New)
	if org == "" || len(cs) == 0 {
		return nil, nil
	}
	c := &Change{s: s, owner: owner, mine: mine, org: org, cs: cs, put: &ev}
	need := []string{org}
	if slices.Contains(mine, org) {
		need = attendees(cs)
		if len(need) > s.maxAttendees() {
			return nil, fmt.Errorf("%w: %d, at most %d", ErrTooManyAttendees, len(need), s.maxAttendees())
		}
		if ev.Old != nil {
			if oc, err := ical.Decode(ev.Old, ical.Limits{}); err == nil {
				ocs, _ := schedulingComponents(oc)
				need = append(need, attendees(ocs)...)
			}
		}
	}
	if c.users, err = s.lookupUsers(sys, owner, mine, need); err != nil {
		return nil, err
	}
	return c, nil
}

// PlanDelete looks up what scheduling a deleted object needs.
func (s *Scheduler) PlanDelete(ctx context.Context, ev DeleteEvent) (*Change, error) {
	if s == nil || s.Store == nil || ev.Old == nil {
		return nil, nil
	}
	sys := store.SystemContext(ctx)
	owner, mine, err := s.ownerAddrs(sys, ev.Owner)
	if err != nil || owner == nil {
		return nil, err
	}
	cal, err := ical.Decode(ev.Old, ical.Limits{})
	if err != nil {
		return nil, nil
	}
	cs, org := schedulingComponents(cal)
	if org == "" {
		return nil, nil
	}
	c := &Change{s: s, owner: owner, mine: mine, org: org, cs: cs, old: cal}
	need := []string{org}
	if slices.Contains(mine, org) {
		need = attendees(cs)
	}
	if c.users, err = s.lookupUsers(sys, owner, mine, need); err != nil {
		return nil, err
	}
	return c, nil
}

// lookupUsers finds the users of the addresses (but the owner's own) in
// the owner's tenant.
func (s *Scheduler) lookupUsers(ctx context.Context, owner *store.User, mine, addrs []string) (map[string]*store.User, error) {
	users := map[string]*store.User{}
	for _, a := range addrs {
		if _, done := users[a]; done || slices.Contains(mine, a) {
			continue
		}
		u, err := s.internalUser(ctx, owner, a)
		if err != nil {
			return nil, err
		}
		users[a] = u
	}
	return users, nil
}

// Run delivers the change. For a stored object it reports whether it
// changed the stored object itself (a resource's answer written into the
// organizer's copy), in which case the client's ETag is stale.
func (c *Change) Run(ctx context.Context) bool {
	if c == nil {
		return false
	}
	s, sys := c.s, store.SystemContext(ctx)
	if c.put != nil {
		ev := c.put
		if slices.Contains(c.mine, c.org) {
			return s.organizerPut(sys, c, *ev)
		}
		for _, a := range c.mine {
			if partstat(c.cs, a) == "" {
				continue
			}
			var oldPS, oldComment string
			if ev.Old != nil {
				if oc, err := ical.Decode(ev.Old, ical.Limits{}); err == nil {
					ocs, _ := schedulingComponents(oc)
					oldPS, oldComment = partstat(ocs, a), commentOf(ocs, a)
				}
			}
			// A new answer, or a new comment on it, is a REPLY.
			if ps := partstat(c.cs, a); (ps != oldPS || commentOf(c.cs, a) != oldComment) && oldPS != "" {
				s.reply(sys, c.owner, c.users[c.org], a, c.org, ev.New, ps)
				// Answered: the invitation in the inbox is processed.
				s.clearInbox(sys, c.owner, firstUID(ev.New))
			}
			break
		}
		return false
	}
	// A delete: the organizer's cancels the meeting for its attendees; an
	// attendee's declines it.
	if slices.Contains(c.mine, c.org) {
		var external []string
		for _, a := range attendees(c.cs) {
			if slices.Contains(c.mine, a) {
				continue
			}
			if u := c.users[a]; u != nil {
				s.cancelFor(sys, u, c.old)
			} else {
				external = append(external, a)
			}
		}
		s.sendCancel(sys, c.org, external, c.old, true)
		return false
	}
	s.clearInbox(sys, c.owner, firstUID(c.old))
	for _, a := range c.mine {
		if ps := partstat(c.cs, a); ps != "" && ps != "DECLINED" {
			s.reply(sys, c.owner, c.users[c.org], a, c.org, c.old, "DECLINED")
			return false
		}
	}
	return false
}

// AfterPut plans and runs scheduling for a stored object; a failed lookup
// is logged and nothing is delivered. See Change.Run for the result.
func (s *Scheduler) AfterPut(ctx context.Context, ev PutEvent) bool {
	c, err := s.PlanPut(ctx, ev)
	if err != nil {
		s.log().Error("scheduling skipped", "err", err)
		return false
	}
	return c.Run(ctx)
}

// AfterDelete plans and runs scheduling for a deleted object.
func (s *Scheduler) AfterDelete(ctx context.Context, ev DeleteEvent) {
	c, err := s.PlanDelete(ctx, ev)
	if err != nil {
		s.log().Error("scheduling skipped", "err", err)
		return
	}
	c.Run(ctx)
}

// internalUser finds the user of an address in the organizer's tenant;
// nil, nil when there is none (the address is external).
func (s *Scheduler) internalUser(ctx context.Context, organizer *store.User, addr string) (*store.User, error) {
	if addr == "" || !strings.Contains(addr, "@") {
		return nil, nil
	}
	u, err := s.Store.UserByAddress(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scheduling: look up %s: %w", addr, err)
	}
	if u.TenantID != organizer.TenantID {
		return nil, nil
	}
	return u, nil
}

// organizerPut delivers the organizer's version to every attendee.
func (s *Scheduler) organizerPut(ctx context.Context, c *Change, ev PutEvent) bool {
	organizer, cs, org := c.owner, c.cs, c.org
	now := attendees(cs)
	var before []string
	if ev.Old != nil {
		if oc, err := ical.Decode(ev.Old, ical.Limits{}); err == nil {
			ocs, _ := schedulingComponents(oc)
			before = attendees(ocs)
		}
	}
	mine := userAddrs(organizer)
	var external []string
	answers := map[string]string{}
	// RFC 6638 §7.3: SCHEDULE-STATUS of each attendee in the organizer's
	// copy says what became of the message for them.
	status := map[string]string{}
	for _, a := range now {
		if slices.Contains(mine, a) {
			continue
		}
		u := c.users[a]
		if u == nil {
			external = append(external, a)
			continue
		}
		if !u.Active && u.Resource.AutoAccept {
			answers[a] = s.book(ctx, u, a, ev.New)
			status[a] = statusDelivered
			continue
		}
		status[a] = statusDelivered
		if !s.deliver(ctx, u, a, ev.New, "") {
			status[a] = statusFailed
		}
	}
	extStatus := statusFailed
	if s.sendExternal(ctx, org, external, "REQUEST", ev.New) {
		extStatus = statusSent
	}
	for _, a := range external {
		status[a] = extStatus
	}
	// Attendees no longer invited get a cancellation.
	var gone []string
	for _, a := range before {
		if !slices.Contains(now, a) && !slices.Contains(mine, a) {
			if u := c.users[a]; u != nil {
				s.cancelFor(ctx, u, ev.New)
			} else {
				gone = append(gone, a)
			}
		}
	}
	s.sendCancel(ctx, org, gone, ev.New, false)
	if len(answers) == 0 && len(status) == 0 {
		return false
	}
	// Write the resources' answers and the delivery status into the
	// organizer's copy.
	changed := false
	for _, c := range cs {
		for _, p := range c.All("ATTENDEE") {
			a := Addr(p.Value)
			if ps, ok := answers[a]; ok && !strings.EqualFold(p.Param("PARTSTAT"), ps) {
				p.SetParam("PARTSTAT", ps)
				changed = true
			}
			if st, ok := status[a]; ok && p.Param("SCHEDULE-STATUS") != st {
				p.SetParam("SCHEDULE-STATUS", st)
				changed = true
			}
		}
	}
	if changed {
		s.rewrite(ctx, ev.Owner.ID, ev.Folder.ID, cs[0].UID(), ev.New)
	}
	return changed
}

// defaultCalendar returns the user's special calendar folder (or, failing
// that, any calendar folder).
func (s *Scheduler) defaultCalendar(ctx context.Context, u *store.User) (*store.Folder, error) {
	return s.specialFolder(ctx, u, store.SpecialCalendar, store.FolderCalendar, "calendar")
}

// defaultTasks returns the user's special tasks folder.
func (s *Scheduler) defaultTasks(ctx context.Context, u *store.User) (*store.Folder, error) {
	return s.specialFolder(ctx, u, store.SpecialTasks, "", "task list")
}

// specialFolder finds the folder with the special role in u's store, else
// the first folder of type fallback ("" for none).
func (s *Scheduler) specialFolder(ctx context.Context, u *store.User, role string, fallback store.FolderType, what string) (*store.Folder, error) {
	st, err := s.Store.UserStore(ctx, u.Login)
	if err != nil {
		return nil, err
	}
	fs, err := s.Store.ListFolders(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if f.Special == role {
			return f, nil
		}
	}
	for _, f := range fs {
		if fallback != "" && f.Type == fallback {
			return f, nil
		}
	}
	return nil, fmt.Errorf("user %s has no %s: %w", u.Login, what, store.ErrNotFound)
}

// findCopy finds a user's copy of an object by UID in any calendar folder.
func (s *Scheduler) findCopy(ctx context.Context, u *store.User, uid string) (*store.Item, error) {
	st, err := s.Store.UserStore(ctx, u.Login)
	if err != nil {
		return nil, err
	}
	fs, err := s.Store.ListFolders(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if f.Type != store.FolderCalendar && f.Type != store.FolderTasks {
			continue
		}
		its, err := s.Store.ListObjects(ctx, f.ID, store.ObjectQuery{ObjectUID: uid, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(its) > 0 {
			return its[0], nil
		}
	}
	return nil, store.ErrNotFound
}

func (s *Scheduler) read(ctx context.Context, it *store.Item) (*ical.Component, error) {
	rc, err := s.Store.OpenItem(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(rc); err != nil {
		return nil, err
	}
	return ical.Decode(b.Bytes(), ical.Limits{})
}

// write stores cal as the user's copy: replacing it (by UID) or adding
// it to the default calendar.
func (s *Scheduler) write(ctx context.Context, u *store.User, uid string, cal *ical.Component) error {
	b, err := ical.Marshal(cal)
	if err != nil {
		return err
	}
	ix, err := IndexCalendar(cal, s.Zones.Zones(cal))
	if err != nil {
		return err
	}
	ni := store.NewItem{Content: bytes.NewReader(b), ObjectUID: ix.UID, Start: ix.Start, End: ix.End}
	old, err := s.findCopy(ctx, u, uid)
	switch {
	case err == nil:
		if same, _ := s.sameContent(ctx, old, b); same {
			return nil // nothing changed: keep the ETag the user's clients know
		}
		_, err = s.Store.ReplaceItem(ctx, old.ID, ni)
		return err
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	var f *store.Folder
	if ix.Kind == ical.VTodo {
		f, err = s.defaultTasks(ctx, u)
	} else {
		f, err = s.defaultCalendar(ctx, u)
	}
	if err != nil {
		return err
	}
	ni.Name = safeName(uid) + ".ics"
	_, err = s.Store.AppendItem(ctx, f.ID, ni)
	if errors.Is(err, store.ErrConflict) {
		ni.Name = fmt.Sprintf("%s-%d.ics", safeName(uid), s.now().UnixNano())
		ni.Content = bytes.NewReader(b)
		_, err = s.Store.AppendItem(ctx, f.ID, ni)
	}
	return err
}

// sameContent reports whether an item's content is b.
func (s *Scheduler) sameContent(ctx context.Context, it *store.Item, b []byte) (bool, error) {
	if it.Size != int64(len(b)) {
		return false, nil
	}
	rc, err := s.Store.OpenItem(ctx, it.ID)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		return false, err
	}
	return bytes.Equal(buf.Bytes(), b), nil
}

// safeName turns a UID into a resource name.
func safeName(uid string) string {
	var b strings.Builder
	for _, r := range uid {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 100 {
			break
		}
	}
	if b.Len() == 0 {
		return "event"
	}
	return b.String()
}

// deliver puts the organizer's version into an attendee's calendar,
// keeping the attendee's own answer (RFC 6638 §3.2.2.1: the attendee's
// PARTSTAT survives unless forced).
func (s *Scheduler) deliver(ctx context.Context, u *store.User, addr string, cal *ical.Component, force string) bool {
	uid := firstUID(cal)
	cp := clone(cal)
	stripScheduleStatus(cp)
	keep := force
	comment := ""
	if old, err := s.findCopy(ctx, u, uid); err == nil {
		if oc, err := s.read(ctx, old); err == nil {
			ocs, _ := schedulingComponents(oc)
			if keep == "" {
				keep = partstat(ocs, addr)
			}
			comment = commentOf(ocs, addr)
		}
	}
	// The other attendees' comments are the organizer's to read.
	setComments(cp, func(string) bool { return false }, addr, comment)
	if keep != "" {
		setPartstat(cp, addr, keep)
	}
	if err := s.write(ctx, u, uid, cp); err != nil {
		s.log().Warn("iTIP delivery failed", "attendee", u.Login, "uid", uid, "err", err)
		return false
	}
	s.log().Info("iTIP REQUEST delivered", "attendee", u.Login, "uid", uid)
	if force == "" {
		s.toInbox(ctx, u, "REQUEST", cp)
	}
	return true
}

// cancelFor marks a user's copy cancelled (iTIP CANCEL, RFC 5546 §3.2.5).
func (s *Scheduler) cancelFor(ctx context.Context, u *store.User, cal *ical.Component) {
	uid := firstUID(cal)
	old, err := s.findCopy(ctx, u, uid)
	if err != nil {
		return
	}
	oc, err := s.read(ctx, old)
	if err != nil {
		return
	}
	for _, c := range oc.Children {
		if c.Name == ical.VEvent || c.Name == ical.VTodo {
			st := &ical.Property{Name: "STATUS", Value: "CANCELLED"}
			c.Set(st)
		}
	}
	if err := s.write(ctx, u, uid, oc); err != nil {
		s.log().Warn("iTIP cancel failed", "attendee", u.Login, "uid", uid, "err", err)
		return
	}
	s.log().Info("iTIP CANCEL delivered", "attendee", u.Login, "uid", uid)
	s.toInbox(ctx, u, "CANCEL", oc)
}

// reply writes an attendee's answer into the organizer's copy (iTIP
// REPLY, RFC 5546 §3.2.3), or sends it out for an external organizer.
func (s *Scheduler) reply(ctx context.Context, attendee, orgUser *store.User, addr, org string, cal *ical.Component, ps string) {
	cs, _ := schedulingComponents(cal)
	comment := commentOf(cs, addr)
	if orgUser == nil {
		r := clone(cal)
		setPartstat(r, addr, ps)
		keepOnly(r, addr) // a REPLY names the answering attendee only (RFC 5546 §3.2.3)
		// RFC 5546 §3.2.3: the attendee's comment as COMMENT.
		setComments(r, func(string) bool { return false }, addr, "")
		if comment != "" {
			for _, c := range r.Children {
				if c.Name == ical.VEvent || c.Name == ical.VTodo {
					x := &ical.Property{Name: "COMMENT"}
					x.SetText(comment)
					c.Props = append(c.Props, x)
				}
			}
		}
		s.sendExternal(ctx, addr, []string{org}, "REPLY", r)
		return
	}
	uid := firstUID(cal)
	old, err := s.findCopy(ctx, orgUser, uid)
	if err != nil {
		s.log().Info("iTIP REPLY: organizer has no copy", "organizer", orgUser.Login, "uid", uid)
		return
	}
	oc, err := s.read(ctx, old)
	if err != nil {
		return
	}
	if !setPartstat(oc, addr, ps) {
		return
	}
	setComments(oc, func(string) bool { return true }, addr, comment)
	if err := s.write(ctx, orgUser, uid, oc); err != nil {
		s.log().Warn("iTIP REPLY failed", "organizer", orgUser.Login, "uid", uid, "err", err)
		return
	}
	s.log().Info("iTIP REPLY delivered", "organizer", orgUser.Login, "attendee", addr, "partstat", ps)
	r := clone(cal)
	setPartstat(r, addr, ps)
	keepOnly(r, addr)
	setComments(r, func(string) bool { return false }, addr, comment)
	s.toInbox(ctx, orgUser, "REPLY", r)
}

// rewrite replaces the organizer's stored copy with cal.
func (s *Scheduler) rewrite(ctx context.Context, storeID, folderID int64, uid string, cal *ical.Component) {
	its, err := s.Store.ListObjects(ctx, folderID, store.ObjectQuery{ObjectUID: uid, Limit: 1})
	if err != nil || len(its) == 0 {
		return
	}
	b, err := ical.Marshal(cal)
	if err != nil {
		return
	}
	ix, err := IndexCalendar(cal, s.Zones.Zones(cal))
	if err != nil {
		return
	}
	if _, err := s.Store.ReplaceItem(ctx, its[0].ID, store.NewItem{Content: bytes.NewReader(b), ObjectUID: ix.UID, Start: ix.Start, End: ix.End}); err != nil {
		s.log().Warn("writing resource answers", "store", storeID, "uid", uid, "err", err)
	}
}

// sendCancel mails an iTIP CANCEL (RFC 5546 §3.2.5): for the whole event
// STATUS:CANCELLED with the next SEQUENCE; for attendees taken off the
// meeting, only those attendees are listed.
func (s *Scheduler) sendCancel(ctx context.Context, from string, to []string, cal *ical.Component, whole bool) {
	if len(to) == 0 || s.Outbound == nil {
		return
	}
	c := clone(cal)
	for _, comp := range c.Children {
		if comp.Name != ical.VEvent && comp.Name != ical.VTodo {
			continue
		}
		if whole {
			comp.Set(&ical.Property{Name: "STATUS", Value: "CANCELLED"})
		} else {
			// The new version no longer names them: list exactly them.
			out := comp.Props[:0]
			for _, p := range comp.Props {
				if !strings.EqualFold(p.Name, "ATTENDEE") {
					out = append(out, p)
				}
			}
			for _, a := range to {
				out = append(out, &ical.Property{Name: "ATTENDEE", Value: "mailto:" + a})
			}
			comp.Props = out
		}
		seq, _ := strconv.Atoi(comp.Text("SEQUENCE"))
		comp.Set(&ical.Property{Name: "SEQUENCE", Value: strconv.Itoa(seq + 1)})
	}
	s.sendExternal(ctx, from, to, "CANCEL", c)
}

// sendExternal mails an iTIP message to addresses outside the
// installation through Outbound, with METHOD set and DTSTAMP the time the
// message is made (RFC 5545 §3.8.7.2 for iTIP).
func (s *Scheduler) sendExternal(ctx context.Context, from string, to []string, method string, cal *ical.Component) bool {
	if len(to) == 0 || s.Outbound == nil {
		return false
	}
	msg := clone(cal)
	stripScheduleStatus(msg)
	msg.Set(&ical.Property{Name: "METHOD", Value: method})
	for _, comp := range msg.Children {
		if comp.Name == ical.VEvent || comp.Name == ical.VTodo || comp.Name == ical.VJournal {
			comp.Set(&ical.Property{Name: "DTSTAMP", Value: utc(s.now())})
		}
	}
	b, err := ical.Marshal(msg)
	if err != nil {
		return false
	}
	if err := s.Outbound.SendITIP(ctx, from, to, method, b); err != nil {
		s.log().Warn("iMIP send failed", "method", method, "to", to, "err", err)
		return false
	}
	return true
}

// SCHEDULE-STATUS values (RFC 6638 §7.3, RFC 5546 §3.6).
const (
	statusSent      = "1.1" // handed to the mail queue
	statusDelivered = "1.2" // in the attendee's calendar
	statusFailed    = "5.1" // could not be delivered
)

func firstUID(cal *ical.Component) string {
	for _, c := range cal.Children {
		if u := c.UID(); u != "" {
			return u
		}
	}
	return ""
}

// setPartstat sets addr's PARTSTAT in every component; it reports
// whether addr is an attendee.
func setPartstat(cal *ical.Component, addr, ps string) bool {
	found := false
	for _, c := range cal.Children {
		for _, p := range c.All("ATTENDEE") {
			if Addr(p.Value) == addr {
				p.SetParam("PARTSTAT", ps)
				found = true
			}
		}
	}
	return found
}

// clone deep-copies a component tree.
func clone(c *ical.Component) *ical.Component {
	out := &ical.Component{Name: c.Name}
	for _, p := range c.Props {
		cp := *p
		cp.Params = slices.Clone(p.Params)
		for i := range cp.Params {
			cp.Params[i].Values = slices.Clone(p.Params[i].Values)
		}
		out.Props = append(out.Props, &cp)
	}
	for _, ch := range c.Children {
		out.Children = append(out.Children, clone(ch))
	}
	return out
}
