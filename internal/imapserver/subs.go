package imapserver

import (
	"strings"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// Subscriptions to names without a mailbox (RFC 9051 §6.3.7, RFC 3501
// §6.3.6: subscriptions are to names, and the server must not drop a name
// when its mailbox goes). A subscription to an existing folder is the
// store's per-user folder flag (store.SetSubscribed); a name with no folder
// is kept in the user's own private store's properties under
// subNamePrefix + the name as the client sees it (UTF-8). METADATA maps
// only "/private/…" and "/shared/…" keys, so it never shows these.
const subNamePrefix = "imap:subscribed:"

// subNames returns the names the principal subscribed to that had no
// mailbox when stored (they may have one now, made by another protocol).
func (s *session) subNames() ([]string, error) {
	props, err := s.o.Store.StorePropsPrefix(s.ctx, s.storeID, subNamePrefix)
	if err != nil {
		return nil, wrap(opMailbox, err)
	}
	var out []string
	for k := range props {
		if name, ok := strings.CutPrefix(k, subNamePrefix); ok && name != "" {
			out = append(out, name)
		}
	}
	return out, nil
}

// storedSubKeys returns the stored keys whose name is name, in any case
// (mailbox names resolve case-insensitively).
func (s *session) storedSubKeys(name string) ([]string, error) {
	names, err := s.subNames()
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, n := range names {
		if strings.EqualFold(n, name) {
			keys = append(keys, subNamePrefix+n)
		}
	}
	return keys, nil
}

// dropSubNames removes stored names equal to name (any case).
func (s *session) dropSubNames(name string) (bool, error) {
	keys, err := s.storedSubKeys(name)
	if err != nil || len(keys) == 0 {
		return false, err
	}
	set := make(map[string]*string, len(keys))
	for _, k := range keys {
		set[k] = nil
	}
	return true, wrap(opMailbox, s.o.Store.SetStoreProps(s.ctx, s.storeID, set))
}

// addSubName stores a subscription to a name without a mailbox, bounded
// by the store's key length and property count.
func (s *session) addSubName(name string) error {
	key := subNamePrefix + name
	if len(key) > store.MaxPropKey {
		return no(imap.CodeTooBig, "Mailbox name too long to subscribe to")
	}
	props, err := s.o.Store.StorePropsPrefix(s.ctx, s.storeID, subNamePrefix)
	if err != nil {
		return wrap(opMailbox, err)
	}
	if _, ok := props[key]; ok {
		return nil
	}
	if len(props) >= store.MaxProps {
		return no(imap.CodeLimit, "Too many subscriptions")
	}
	v := "1"
	return wrap(opMailbox, s.o.Store.SetStoreProps(s.ctx, s.storeID, map[string]*string{key: &v}))
}

// adoptSubscription settles the subscription of a folder just created (by
// CREATE, RENAME or as an intermediate level) under name: subscribed when
// the name was stored as subscribed (the stored name is then dropped),
// unsubscribed otherwise (see unsubscribeNew). Failures are logged only:
// the mailbox exists either way.
func (s *session) adoptSubscription(f *store.Folder, name string) {
	had, err := s.dropSubNames(name)
	if err != nil {
		s.log.Warn("subscription: stored name", "name", name, "err", err)
	}
	if !had {
		s.unsubscribeNew(f)
		return
	}
	if f.Subscribed {
		return
	}
	if err := s.o.Store.SetSubscribed(s.ctx, f.ID, true); err != nil {
		s.log.Warn("subscription: subscribe", "folder", f.ID, "err", err)
	}
}

// addSubEntries merges the stored names into a LIST's entries: a name with
// a listed mailbox (or namespace level) marks that entry subscribed, any
// other becomes an entry of its own that does not exist.
func addSubEntries(entries []listEntry, names []string) []listEntry {
	if len(names) == 0 {
		return entries
	}
	idx := make(map[string]int, len(entries))
	for i := range entries {
		idx[strings.ToLower(entries[i].name)] = i
	}
	for _, n := range names {
		if i, ok := idx[strings.ToLower(n)]; ok {
			entries[i].storedSub = true
			continue
		}
		idx[strings.ToLower(n)] = len(entries)
		entries = append(entries, listEntry{name: n, storedSub: true, nonExistent: true})
	}
	return entries
}
