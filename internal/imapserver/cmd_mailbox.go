package imapserver

import (
	"errors"
	"strings"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// newName checks a name for a mailbox to be created: a trailing delimiter
// is dropped (RFC 9051 §6.3.4), wildcards and namespace roots refused.
func newName(name string) (string, error) {
	name = strings.TrimSuffix(name, string(delim))
	if err := checkName(name); err != nil {
		return "", err
	}
	if strings.ContainsAny(name, "*%") {
		return "", no(imap.CodeCannot, "Mailbox names cannot contain wildcards")
	}
	if name == otherPrefix || name == sharedPrefix || name == archivePrefix {
		return "", no(imap.CodeCannot, "That name is a namespace")
	}
	if strings.EqualFold(name, inboxName) {
		return "", no(imap.CodeAlreadyExists, "INBOX always exists")
	}
	return name, nil
}

// ensureParent returns the folder id under which the last level of name
// goes, creating missing intermediate levels (RFC 9051 §6.3.4), and that
// last level.
func (s *session) ensureParent(t *tree, name string) (int64, string, error) {
	_, _, rel := splitNS(name)
	comps := strings.Split(rel, string(delim))
	if rel == "" {
		return 0, "", no(imap.CodeCannot, "That name is a namespace")
	}
	var parent int64
	for i, comp := range comps[:len(comps)-1] {
		if m := t.lookup(t.prefix + strings.Join(comps[:i+1], string(delim))); m != nil {
			parent = m.f.ID
			continue
		}
		f, err := s.o.Store.CreateFolder(s.ctx, t.storeID, parent, comp, store.FolderMail)
		if err != nil {
			return 0, "", wrap(opCreate, err)
		}
		s.adoptSubscription(f, t.prefix+strings.Join(comps[:i+1], string(delim)))
		parent = f.ID
	}
	return parent, comps[len(comps)-1], nil
}

// CREATE, RFC 9051 §6.3.4; CREATE-SPECIAL-USE (RFC 6154 §3).
func (s *session) cmdCreate(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.CreateCmd)
	if len(a.SpecialUse) > 0 {
		// The store assigns special roles only at store creation.
		return "", no(imap.CodeUseAttr, "Special-use attributes cannot be assigned")
	}
	name, err := newName(a.Mailbox)
	if err != nil {
		return "", err
	}
	t, err := s.treeFor(name)
	if err != nil {
		return "", err
	}
	if t.lookup(name) != nil {
		return "", no(imap.CodeAlreadyExists, "Mailbox already exists")
	}
	parent, last, err := s.ensureParent(t, name)
	if err != nil {
		return "", err
	}
	f, err := s.o.Store.CreateFolder(s.ctx, t.storeID, parent, last, store.FolderMail)
	if err != nil {
		return "", wrap(opCreate, err)
	}
	s.adoptSubscription(f, name)
	return imap.CodeMailboxID(mailboxID(f.ID)), nil // RFC 8474 §4
}

// unsubscribeNew undoes the subscription the store gives the owner of a
// private store to every new folder (so that folders made by other
// protocols reach LSUB clients): an IMAP client subscribes to the
// mailboxes it creates itself, if it wants to (RFC 9051 §6.3.4 and
// §6.3.7, RFC 3501 §6.3.6; imaptest's LSUB and LIST-EXTENDED scripts
// check it). A failure is logged only: the mailbox exists, and an extra
// subscription is harmless.
func (s *session) unsubscribeNew(f *store.Folder) {
	if !f.Subscribed {
		return
	}
	if err := s.o.Store.SetSubscribed(s.ctx, f.ID, false); err != nil {
		s.log.Warn("create: unsubscribe", "folder", f.ID, "err", err)
	}
}

// DELETE, RFC 9051 §6.3.5. A mailbox with children is not deleted (the
// store would delete the subtree, and RFC 9051 keeps inferiors), as
// Dovecot does: NO [HASCHILDREN]. A subscribed mailbox's name stays
// subscribed (RFC 9051 §6.3.7, RFC 3501 §6.3.6), as a stored name.
func (s *session) cmdDelete(c *imap.Command) (imap.Code, error) {
	m, err := s.resolve(c.Args.(*imap.MailboxCmd).Mailbox)
	if err != nil {
		return "", err
	}
	if m.name == inboxName {
		return "", no(imap.CodeCannot, "INBOX cannot be deleted")
	}
	for _, f := range m.t.all {
		if f.ParentID == m.f.ID {
			return "", no(imap.CodeHasChildren, "Mailbox has children")
		}
	}
	if err := s.o.Store.DeleteFolder(s.ctx, m.f.ID); err != nil {
		return "", wrap(opMailbox, err)
	}
	if m.f.Subscribed {
		// The mailbox is gone either way; a name that cannot be kept
		// (too long, too many) is logged, not failed.
		if err := s.addSubName(m.name); err != nil {
			s.log.Warn("delete: keep subscription", "name", m.name, "err", err)
		}
	}
	if s.sel != nil && s.sel.folderID == m.f.ID {
		s.unselect()
	}
	return "", nil
}

// RENAME, RFC 9051 §6.3.6: within one store; renaming INBOX moves its
// messages to a new mailbox and leaves INBOX empty. The subscription list
// is of names and RENAME changes none of them, as with Dovecot: the old
// names (of the mailbox and its children) stay subscribed, as names
// without a mailbox (RFC 3501 §6.3.6: the server MUST NOT remove a name
// whose mailbox no longer exists), and the renamed folders are subscribed
// only where their new names were (RFC 9051 §6.3.6 says nothing more).
func (s *session) cmdRename(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.RenameCmd)
	from, err := s.resolve(a.From)
	if err != nil {
		return "", err
	}
	to, err := newName(a.To)
	if err != nil {
		return "", err
	}
	t, err := s.treeFor(to)
	if err != nil {
		return "", err
	}
	if t.storeID != from.t.storeID {
		return "", no(imap.CodeCannot, "Cannot move a mailbox to another namespace")
	}
	if ex := t.lookup(to); ex != nil && ex.f.ID != from.f.ID {
		return "", no(imap.CodeAlreadyExists, "Mailbox already exists")
	}
	if from.f.Special == store.SpecialInbox && from.f.ParentID == 0 {
		return "", s.renameInbox(from, t, to)
	}
	if strings.HasPrefix(strings.ToLower(to), strings.ToLower(from.name)+string(delim)) {
		return "", no(imap.CodeCannot, "Cannot move a mailbox into itself")
	}
	parent, last, err := s.ensureParent(t, to)
	if err != nil {
		return "", err
	}
	// The folder and its visible descendants, by their old names.
	subtree := []*store.Folder{from.f}
	pfx := from.name + string(delim)
	for _, f := range from.t.folders {
		if strings.HasPrefix(from.t.name[f.ID], pfx) {
			subtree = append(subtree, f)
		}
	}
	if _, err := s.o.Store.RenameFolder(s.ctx, from.f.ID, parent, last); err != nil {
		return "", wrap(opCreate, err)
	}
	for _, f := range subtree {
		old := from.t.name[f.ID]
		s.renameSubscription(f, old, to+old[len(from.name):])
	}
	if s.sel != nil && s.sel.folderID == from.f.ID {
		s.sel.name = to
	}
	return "", nil
}

// renameSubscription keeps old subscribed as a name and makes the folder,
// now called name, subscribed exactly when name was. Failures are logged:
// the rename is done.
func (s *session) renameSubscription(f *store.Folder, old, name string) {
	if f.Subscribed {
		if err := s.addSubName(old); err != nil {
			s.log.Warn("rename: keep subscription", "name", old, "err", err)
		}
	}
	had, err := s.dropSubNames(name)
	if err != nil {
		s.log.Warn("rename: stored subscription", "name", name, "err", err)
		return
	}
	if had != f.Subscribed {
		if err := s.o.Store.SetSubscribed(s.ctx, f.ID, had); err != nil {
			s.log.Warn("rename: subscription", "folder", f.ID, "err", err)
		}
	}
}

// renameInbox creates the new mailbox and moves INBOX's messages into it
// (RFC 9051 §6.3.6).
func (s *session) renameInbox(from *mbox, t *tree, to string) error {
	parent, last, err := s.ensureParent(t, to)
	if err != nil {
		return err
	}
	dst, err := s.o.Store.CreateFolder(s.ctx, t.storeID, parent, last, store.FolderMail)
	if err != nil {
		return wrap(opCreate, err)
	}
	s.adoptSubscription(dst, to)
	for {
		items, err := s.o.Store.ListItems(s.ctx, from.f.ID, 0, 10000)
		if err != nil {
			return wrap(opMailbox, err)
		}
		if len(items) == 0 {
			return nil
		}
		uids := make([]uint32, len(items))
		for i, it := range items {
			uids[i] = it.UID
		}
		if _, err := s.o.Store.MoveItems(s.ctx, from.f.ID, uids, dst.ID); err != nil {
			return wrap(opMailbox, err)
		}
	}
}

// SUBSCRIBE and UNSUBSCRIBE, RFC 9051 §6.3.7 and §6.3.8. Subscriptions
// are to names and last across sessions: the store keeps them per user and
// per folder for existing mailboxes, and subs.go keeps names without a
// mailbox (SUBSCRIBE of a name that does not exist, DELETE of a subscribed
// mailbox), which LIST (SUBSCRIBED) reports \NonExistent and LSUB
// \Noselect. A name no mailbox could have (empty levels, wildcards) is
// refused. UNSUBSCRIBE removes both forms and succeeds when there is
// nothing to remove.
func (s *session) cmdSubscribe(c *imap.Command) (imap.Code, error) {
	on := c.Name == "SUBSCRIBE"
	name := inboxCase(c.Args.(*imap.MailboxCmd).Mailbox)
	m, err := s.resolve(name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	if m != nil {
		if err := s.o.Store.SetSubscribed(s.ctx, m.f.ID, on); err != nil {
			return "", wrap(opMailbox, err)
		}
		s.subscriptionsChanged() // for NOTIFY SubscriptionChange
		if on {
			return "", nil
		}
	}
	if !on {
		_, err := s.dropSubNames(name)
		return "", err
	}
	name = strings.TrimSuffix(name, string(delim))
	if err := checkName(name); err != nil {
		return "", err
	}
	if strings.ContainsAny(name, "*%") {
		return "", no(imap.CodeCannot, "Mailbox names cannot contain wildcards")
	}
	return "", s.addSubName(name)
}
