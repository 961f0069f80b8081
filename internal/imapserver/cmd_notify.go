package imapserver

import (
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// NOTIFY, RFC 5465: the client names the mailboxes and events it wants
// to hear about, and the server tells it as they happen, between commands
// as well as during IDLE. Changes come from the store's change journal,
// as for IDLE; the events hub says when to look. The selected mailbox is
// synchronised as by any command (EXISTS, FETCH, EXPUNGE or VANISHED);
// other mailboxes are told as STATUS responses, mailbox creations,
// deletions and renames and subscription changes as LIST responses.
//
// A notifier goroutine writes only while it holds the session's write
// lock (session.wmu), which the session goroutine holds from the moment a
// command is read until its answer is flushed; so the two never write at
// once and the notifier never sees a command half done.

// notifyEventsSupported are the events this server reports (RFC 5465 §5);
// others are answered NO [BADEVENT (...)].
var notifyEventsSupported = []string{"MessageNew", "MessageExpunge", "FlagChange", "MailboxName", "SubscriptionChange"}

// notifyStatusItems are what a STATUS notification carries (RFC 5465
// §5.2–5.4: enough to tell new, expunged and changed messages), as
// Dovecot sends them.
var notifyStatusItems = []imap.StatusItem{imap.StatusMessages, imap.StatusUIDNext, imap.StatusUnseen}

// maxNotifyGroups and maxNotifyMailboxes bound a NOTIFY SET: every change
// in the store matches each changed mailbox against the groups and their
// mailbox names, so the client's list would otherwise set the cost of
// every delivery (the command's byte limit alone allows some 100,000).
const (
	maxNotifyGroups    = 32
	maxNotifyMailboxes = 1000
)

// notifier is the state of an active NOTIFY SET.
type notifier struct {
	s    *session
	spec *imap.NotifyCmd

	// Touched with the session's write lock held:
	lastSeq    uint64           // the personal store's journal, read up to
	names      map[int64]string // folder → IMAP name when last told
	subscribed map[int64]bool   // folder → subscribed when last told
	sel        *selection       // the selection knownMax belongs to
	knownMax   uint32           // highest UID told as MessageNew with fetch attributes

	sub *events.Subscription
	// subsDirty is set by a wake-up without a journal position (Seq 0:
	// a subscription changed, which the journal does not record), so
	// SubscriptionChange compares the folder list only then.
	subsDirty atomic.Bool

	mu      sync.Mutex // guards the fields below
	running bool
	again   bool
	closed  bool
}

// NOTIFY SET / NOTIFY NONE, RFC 5465 §3.
func (s *session) cmdNotify(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.NotifyCmd)
	s.stopNotify()
	if a.None {
		return "", nil
	}
	names := 0
	for _, g := range a.Groups {
		names += len(g.Mailboxes)
	}
	if len(a.Groups) > maxNotifyGroups || names > maxNotifyMailboxes {
		return "", no(imap.CodeLimit, fmt.Sprintf("NOTIFY takes at most %d event groups naming %d mailboxes", maxNotifyGroups, maxNotifyMailboxes))
	}
	for _, g := range a.Groups {
		for _, e := range g.Events {
			if !slices.Contains(notifyEventsSupported, e.Name) {
				return "", no(imap.Code("BADEVENT ("+strings.Join(notifyEventsSupported, " ")+")"), "Unsupported event "+e.Name)
			}
		}
		for i, m := range g.Mailboxes {
			g.Mailboxes[i] = inboxCase(m)
		}
	}
	nt := &notifier{s: s, spec: a}
	seq, err := s.journalHead()
	if err != nil {
		return "", err
	}
	nt.lastSeq = seq
	t, err := s.personal()
	if err != nil {
		return "", err
	}
	nt.snapshot(t)
	if s.sel != nil {
		nt.sel, nt.knownMax = s.sel, s.sel.maxUID()
	}
	// RFC 5465 §3.1: with STATUS, the state of every mailbox watched for
	// message events, the selected one excepted.
	if a.Status {
		for _, f := range t.folders {
			if g := nt.group(t, f); g != nil && !s.isSelected(f.ID) {
				if items := initialStatus(g); len(items) > 0 {
					s.notifyStatus(&mbox{name: t.name[f.ID], f: f, t: t}, items)
				}
			}
		}
	}
	s.nt = nt
	if hub := s.o.Events; hub != nil {
		nt.sub = hub.SubscribeFunc(s.storeID, func(c events.Change) {
			if c.Seq == 0 {
				nt.subsDirty.Store(true)
			}
			nt.kick()
		})
	}
	return "", nil
}

// initialStatus is what NOTIFY SET STATUS reports of a watched mailbox
// (RFC 5465 §3.1, §5.1–5.3): what the client needs to follow the events
// it asked for — MESSAGES for expunges, MESSAGES, UIDNEXT and UIDVALIDITY
// for new messages, UIDVALIDITY and HIGHESTMODSEQ for flag changes.
func initialStatus(g *imap.NotifyGroup) []imap.StatusItem {
	var items []imap.StatusItem
	add := func(its ...imap.StatusItem) {
		for _, it := range its {
			if !slices.Contains(items, it) {
				items = append(items, it)
			}
		}
	}
	if hasEvent(g, "MessageExpunge") {
		add(imap.StatusMessages)
	}
	if hasEvent(g, "MessageNew") {
		add(imap.StatusMessages, imap.StatusUIDNext, imap.StatusUIDValidity)
	}
	if hasEvent(g, "FlagChange") {
		add(imap.StatusUIDValidity, imap.StatusHighestModSeq)
	}
	return items
}

// journalHead returns the personal store's current journal sequence.
func (s *session) journalHead() (uint64, error) {
	var last uint64
	for {
		chs, err := s.o.Store.Changes(s.ctx, s.storeID, last, changesPage)
		if err != nil {
			return 0, wrap(opMailbox, err)
		}
		for _, c := range chs {
			last = max(last, c.Seq)
		}
		if len(chs) < changesPage {
			return last, nil
		}
	}
}

func (s *session) isSelected(folderID int64) bool { return s.sel != nil && s.sel.folderID == folderID }

// stopNotify ends an active NOTIFY (NOTIFY NONE, a new NOTIFY SET, the
// end of the session).
func (s *session) stopNotify() {
	nt := s.nt
	if nt == nil {
		return
	}
	s.nt = nil
	nt.mu.Lock()
	nt.closed = true
	nt.mu.Unlock()
	if nt.sub != nil {
		nt.sub.Close()
	}
}

// snapshot remembers the names and subscriptions the client knows.
func (nt *notifier) snapshot(t *tree) {
	nt.names = make(map[int64]string, len(t.folders))
	nt.subscribed = make(map[int64]bool, len(t.folders))
	for _, f := range t.folders {
		nt.names[f.ID] = t.name[f.ID]
		nt.subscribed[f.ID] = f.Subscribed
	}
}

// group returns the event group that applies to a personal mailbox: the
// first whose filter matches (RFC 5465 §6), or nil.
func (nt *notifier) group(t *tree, f *store.Folder) *imap.NotifyGroup {
	return nt.groupFor(t.name[f.ID], f)
}

func (nt *notifier) groupFor(name string, f *store.Folder) *imap.NotifyGroup {
	for i := range nt.spec.Groups {
		g := &nt.spec.Groups[i]
		switch g.Filter {
		case "inboxes":
			if f.Special == store.SpecialInbox && f.ParentID == 0 {
				return g
			}
		case "personal":
			return g
		case "subscribed":
			if f.Subscribed {
				return g
			}
		case "mailboxes":
			if slices.Contains(g.Mailboxes, name) {
				return g
			}
		case "subtree":
			for _, m := range g.Mailboxes {
				if name == m || strings.HasPrefix(name, m+string(delim)) {
					return g
				}
			}
		}
	}
	return nil
}

// selectedGroup returns the group for the selected mailbox, or nil.
func (nt *notifier) selectedGroup() *imap.NotifyGroup {
	for i := range nt.spec.Groups {
		if g := &nt.spec.Groups[i]; g.Filter == "selected" || g.Filter == "selected-delayed" {
			return g
		}
	}
	return nil
}

func hasEvent(g *imap.NotifyGroup, name string) bool {
	return slices.ContainsFunc(g.Events, func(e imap.NotifyEvent) bool { return e.Name == name })
}

// kick asks for a delivery. It never blocks (the hub calls it).
func (nt *notifier) kick() {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	if nt.closed {
		return
	}
	if nt.running {
		nt.again = true
		return
	}
	nt.running = true
	go nt.run()
}

// run delivers notifications between commands: it waits until the
// session is between commands (or idling, when the idler delivers
// instead and this only waits).
func (nt *notifier) run() {
	s := nt.s
	locked := false
	defer func() {
		// This goroutine belongs to the connection: a panic here ends the
		// connection, as one in its commands does, not the server.
		if v := recover(); v != nil {
			s.log.Error("panic in IMAP NOTIFY", "panic", v, "stack", string(debug.Stack()))
			if s.srv.onPanic != nil {
				s.srv.onPanic(v)
			}
			nt.mu.Lock()
			nt.running, nt.closed = false, true
			nt.mu.Unlock()
			if locked {
				s.wmu.Unlock()
			}
			s.conn().Close()
		}
	}()
	for {
		s.wmu.Lock()
		locked = true
		nt.mu.Lock()
		closed := nt.closed || s.nt != nt
		nt.again = false
		nt.mu.Unlock()
		if !closed && !s.closing.Load() && s.w.Err() == nil {
			s.notifyDeliver(true)
			s.w.Flush()
		}
		locked = false
		s.wmu.Unlock()
		nt.mu.Lock()
		if closed || !nt.again {
			nt.running = false
			nt.mu.Unlock()
			return
		}
		nt.mu.Unlock()
	}
}

// notifyDeliver sends what changed since the last delivery. async says
// that no command is running: the selected mailbox is then synchronised
// here when the client asked for its events (RFC 5465 §5.1: EXPUNGE only
// with "selected", not "selected-delayed"). Called with the write lock
// held.
func (s *session) notifyDeliver(async bool) {
	nt := s.nt
	if nt == nil || s.state == stateLogout {
		return
	}
	if g := nt.selectedGroup(); g != nil && s.sel != nil && g.Events != nil {
		if async {
			if err := s.sync(g.Filter == "selected"); err != nil {
				return
			}
		}
		s.notifyNewFetch(g)
	}
	if err := s.notifyOthers(); err != nil {
		s.log.Warn("NOTIFY", "err", err)
	}
}

// notifyNewFetch sends the fetch attributes of MessageNew for messages
// that arrived in the selected mailbox (RFC 5465 §5.2).
func (s *session) notifyNewFetch(g *imap.NotifyGroup) {
	nt := s.nt
	sel := s.sel
	if nt.sel != sel {
		nt.sel, nt.knownMax = sel, sel.maxUID()
		return
	}
	var items []imap.FetchItem
	for _, e := range g.Events {
		if e.Name == "MessageNew" {
			items = e.Fetch
		}
	}
	from := nt.knownMax
	nt.knownMax = sel.maxUID()
	if len(items) == 0 {
		return
	}
	var idx []int
	for i := range sel.msgs {
		if m := &sel.msgs[i]; m.uid > from && !m.expunged {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return
	}
	// As FETCH: the items loaded for all messages first (SAVEDATE,
	// PREVIEW), one opener for the lot.
	op := s.newOpener()
	fx, err := s.prepareFetchExt(op, items, idx)
	if err != nil {
		s.log.Warn("NOTIFY fetch", "err", err)
		return
	}
	s.fx = fx
	defer func() { s.fx = nil }()
	a := &imap.FetchCmd{Items: items}
	for _, i := range idx {
		if err := s.fetchOne(op, i, a, true, false, nil); err != nil {
			s.log.Warn("NOTIFY fetch", "uid", sel.msgs[i].uid, "err", err)
		}
	}
}

// notifyOthers reads the personal store's journal and tells the client
// about the other mailboxes it watches.
func (s *session) notifyOthers() error {
	nt := s.nt
	var msgFolders, flagFolders []int64
	folderChanged := false
	last := nt.lastSeq
	for {
		chs, err := s.o.Store.Changes(s.ctx, s.storeID, last, changesPage)
		if err != nil {
			return err
		}
		for _, c := range chs {
			last = max(last, c.Seq)
			switch c.Kind {
			case store.ChangeItemCreated, store.ChangeItemDeleted:
				msgFolders = append(msgFolders, c.FolderID)
			case store.ChangeItemUpdated:
				flagFolders = append(flagFolders, c.FolderID)
			case store.ChangeFolderCreated, store.ChangeFolderUpdated, store.ChangeFolderDeleted:
				folderChanged = true
			}
		}
		if len(chs) < changesPage {
			break
		}
	}
	nt.lastSeq = last
	// Subscriptions are the user's, not the store's: they are not in the
	// journal; whoever changes one publishes a wake-up without a journal
	// position (subscriptionsChanged), and only then are they compared.
	subs := nt.subsDirty.Swap(false) &&
		slices.ContainsFunc(nt.spec.Groups, func(g imap.NotifyGroup) bool { return hasEvent(&g, "SubscriptionChange") })
	if len(msgFolders) == 0 && len(flagFolders) == 0 && !folderChanged && !subs {
		return nil
	}
	t, err := s.personal()
	if err != nil {
		return err
	}
	if folderChanged || subs {
		s.notifyNames(t)
	}
	told := map[int64]bool{}
	tell := func(ids []int64, event string) {
		for _, id := range ids {
			f := t.all[id]
			if told[id] || s.isSelected(id) || f == nil || t.name[id] == "" {
				continue
			}
			if g := nt.group(t, f); g != nil && hasEvent(g, event) {
				told[id] = true
				items := notifyStatusItems
				if s.condstore {
					items = append(slices.Clone(items), imap.StatusHighestModSeq)
				}
				s.notifyStatus(&mbox{name: t.name[id], f: f, t: t}, items)
			}
		}
	}
	tell(msgFolders, "MessageNew")
	tell(flagFolders, "FlagChange")
	return nil
}

// subscriptionsChanged wakes the sessions watching the personal store:
// a subscription is not a journal entry, so nothing else would (RFC 5465
// §5.5). A wake-up with nothing new in the journal costs them a look.
func (s *session) subscriptionsChanged() {
	if hub := s.o.Events; hub != nil {
		hub.Publish(s.storeID, 0)
	}
}

// notifyStatus sends the STATUS of a mailbox (RFC 5465 §5.2–5.4); a
// change notification carries HIGHESTMODSEQ for a CONDSTORE client.
func (s *session) notifyStatus(m *mbox, items []imap.StatusItem) {
	// HIGHESTMODSEQ here does not turn CONDSTORE on, as STATUS would.
	hms := slices.Contains(items, imap.StatusHighestModSeq)
	items = slices.DeleteFunc(slices.Clone(items), func(it imap.StatusItem) bool { return it == imap.StatusHighestModSeq })
	vals, err := s.statusValues(m, items)
	if err != nil {
		s.log.Warn("NOTIFY status", "mailbox", m.name, "err", err)
		return
	}
	if hms {
		vals = append(vals, imap.StatusValue{Item: imap.StatusHighestModSeq, Value: m.f.HighestModSeq})
	}
	s.w.Status(m.name, vals)
}

// notifyNames tells MailboxName (creations, deletions, renames) and
// SubscriptionChange events as LIST responses (RFC 5465 §5.4, §5.5).
func (s *session) notifyNames(t *tree) {
	nt := s.nt
	event := func(name string, f *store.Folder, ev string) bool {
		g := nt.groupFor(name, f)
		return g != nil && hasEvent(g, ev)
	}
	list := func(f *store.Folder, name, old string, gone bool) {
		attrs := []string{}
		switch {
		case gone:
			attrs = append(attrs, `\NonExistent`)
		case t.hasChildren(f.ID):
			attrs = append(attrs, `\HasChildren`)
		default:
			attrs = append(attrs, `\HasNoChildren`)
		}
		if !gone && f.Subscribed {
			attrs = append(attrs, `\Subscribed`)
		}
		s.w.List(&imap.ListData{Attrs: attrs, Delim: delim, Mailbox: name, OldName: old})
	}
	for id, old := range nt.names {
		if _, ok := t.name[id]; !ok {
			gone := &store.Folder{ID: id}
			if event(old, gone, "MailboxName") {
				list(gone, old, "", true)
			}
		}
	}
	for _, f := range t.folders {
		name := t.name[f.ID]
		old, known := nt.names[f.ID]
		switch {
		case !known || old != name:
			if event(name, f, "MailboxName") {
				if known {
					list(f, name, old, false)
				} else {
					list(f, name, "", false)
				}
			}
		case nt.subscribed[f.ID] != f.Subscribed:
			if event(name, f, "SubscriptionChange") {
				list(f, name, "", false)
			}
		}
	}
	nt.snapshot(t)
}
