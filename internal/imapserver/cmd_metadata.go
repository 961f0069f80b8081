package imapserver

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// METADATA (RFC 5464): annotations on mailboxes and on the server.
//
// Mailbox entries are the folder's properties (store.FolderProps), server
// entries (mailbox "") the properties of the user's own private store
// (store.StoreProps), under their entry names literally: "/private/…" and
// "/shared/…", in lower case since entry names are case-insensitive (RFC
// 5464 §3.2). The store keeps "/private/" keys per principal, so each user
// sees only its own private entries, and it enforces the rights of RFC
// 5464 §3.3 as far as it models them: reading needs the lookup right
// (which resolving the mailbox needs anyway), private entries may be set
// with lookup alone, shared entries need the write right (NO [NOPERM]
// otherwise). Other properties of the same folder or store (WebDAV dead
// properties, Sieve scripts, …) never appear here: only keys under
// /private/ and /shared/ are entries.
//
// Values are binary (RFC 5464 §4.3 allows literal8) but store properties
// are text without NUL, so a value that is not valid UTF-8, holds NUL or
// starts with binaryMark is stored as binaryMark and its base64; other
// values are stored as they are, readable by every protocol.
//
// A requested entry without a value is answered with NIL, as Dovecot
// does; RFC 5464 §4.4.1 allows NIL as a value.

const (
	// metadataMaxValue is the largest value SETMETADATA takes (RFC 5464
	// §4.3: NO [METADATA MAXSIZE n] beyond it).
	metadataMaxValue = 64 << 10
	// metadataMaxEntries bounds the entries one principal sees on one
	// mailbox or on the server, private and shared together (RFC 5464 §4.3:
	// NO [METADATA TOOMANY] beyond it). It is below the store's own bound
	// (store.MaxProps) so that other users' private entries leave room.
	metadataMaxEntries = 200
	// metadataMaxName bounds an entry name (the store's key bound).
	metadataMaxName = store.MaxPropKey
)

// isEntry reports whether a property key is a METADATA entry.
func isEntry(key string) bool {
	return strings.HasPrefix(key, "/private/") || strings.HasPrefix(key, "/shared/")
}

// metadataTarget is what GETMETADATA and SETMETADATA act on: a mailbox's
// folder or the user's store.
type metadataTarget struct {
	name   string // the mailbox name to answer with; "" for the server
	folder int64  // 0 for the server
}

func (s *session) metadataTarget(mailbox string) (metadataTarget, error) {
	if mailbox == "" {
		return metadataTarget{}, nil
	}
	m, err := s.resolve(mailbox)
	if err != nil {
		return metadataTarget{}, err
	}
	return metadataTarget{name: m.name, folder: m.f.ID}, nil
}

// metadataEntries returns the target's METADATA entries visible to the principal.
func (s *session) metadataEntries(t metadataTarget) (map[string]string, error) {
	var props map[string]string
	var err error
	if t.folder != 0 {
		props, err = s.o.Store.FolderProps(s.ctx, t.folder)
	} else {
		props, err = s.o.Store.StoreProps(s.ctx, s.storeID)
	}
	if err != nil {
		return nil, wrap(opMailbox, err)
	}
	for k := range props {
		if !isEntry(k) {
			delete(props, k)
		}
	}
	return props, nil
}

// GETMETADATA, RFC 5464 §4.2. DEPTH 0 returns the entries named, DEPTH 1
// their children too, DEPTH infinity every descendant (§4.2.2); values
// longer than MAXSIZE are left out and the longest of them reported as
// [METADATA LONGENTRIES n] (§4.2.1).
func (s *session) cmdGetMetadata(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.GetMetadataCmd)
	t, err := s.metadataTarget(a.Mailbox)
	if err != nil {
		return "", err
	}
	props, err := s.metadataEntries(t)
	if err != nil {
		return "", err
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range props {
			if !yield(k) {
				return
			}
		}
	})
	var out []imap.MetadataEntry
	done := map[string]bool{}
	var longest uint32
	add := func(k string) {
		if done[k] {
			return
		}
		done[k] = true
		v := props[k]
		if a.MaxSize != nil && uint64(len(decodeValue(v))) > uint64(*a.MaxSize) {
			longest = max(longest, uint32(min(len(v), 1<<31)))
			return
		}
		out = append(out, imap.MetadataEntry{Name: k, Value: decodeValue(v)})
	}
	asked := make(map[string]bool, len(a.Entries))
	for _, e := range a.Entries {
		if asked[e] {
			continue // bounds the work of a command repeating an entry
		}
		asked[e] = true
		found := false
		if _, ok := props[e]; ok {
			add(e)
			found = true
		}
		if a.Depth == "1" || a.Depth == "infinity" {
			// The descendants of e sort between e+"/" and e+"0" ('/'+1),
			// so each entry costs a binary search, not a scan.
			lo, _ := slices.BinarySearch(keys, e+"/")
			hi, _ := slices.BinarySearch(keys, e+"0")
			for _, k := range keys[lo:hi] {
				if a.Depth == "1" && strings.Contains(k[len(e)+1:], "/") {
					continue
				}
				add(k)
				found = true
			}
		}
		if !found && !done[e] {
			done[e] = true
			out = append(out, imap.MetadataEntry{Name: e})
		}
	}
	if len(out) > 0 {
		s.w.Metadata(t.name, out)
	}
	if longest > 0 {
		return imap.CodeMetadataLongEntries(longest), nil
	}
	return "", nil
}

// SETMETADATA, RFC 5464 §4.3: all entries are set or none. NIL removes an
// entry.
func (s *session) cmdSetMetadata(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.SetMetadataCmd)
	t, err := s.metadataTarget(a.Mailbox)
	if err != nil {
		return "", err
	}
	set := make(map[string]*string, len(a.Entries))
	for _, e := range a.Entries {
		if len(e.Name) > metadataMaxName {
			return "", no(imap.CodeLimit, "Entry name too long")
		}
		if len(e.Value) > metadataMaxValue {
			return "", no(imap.CodeMetadataMaxSize(metadataMaxValue), "Value too long")
		}
		if e.Value == nil {
			set[e.Name] = nil
			continue
		}
		v := encodeValue(e.Value)
		set[e.Name] = &v
	}
	cur, err := s.metadataEntries(t)
	if err != nil {
		return "", err
	}
	n := len(cur)
	for k, v := range set {
		_, exists := cur[k]
		switch {
		case v != nil && !exists:
			n++
		case v == nil && exists:
			n--
		}
	}
	if n > metadataMaxEntries && n > len(cur) {
		return "", no(imap.CodeMetadataTooMany, "Too many entries")
	}
	if t.folder != 0 {
		err = s.o.Store.SetFolderProps(s.ctx, t.folder, set)
	} else {
		err = s.o.Store.SetStoreProps(s.ctx, s.storeID, set)
	}
	if errors.Is(err, store.ErrOverQuota) {
		// The store's own bound on properties (store.MaxProps), counting
		// entries of other users and other protocols.
		return "", no(imap.CodeMetadataTooMany, "Too many entries")
	}
	return "", wrap(opMailbox, err)
}

// binaryMark starts a stored value that is base64 of binary data.
const binaryMark = "\x7fbase64:"

func encodeValue(v []byte) string {
	if utf8.Valid(v) && !slices.Contains(v, 0) && !strings.HasPrefix(string(v), binaryMark) {
		return string(v)
	}
	return binaryMark + base64.StdEncoding.EncodeToString(v)
}

func decodeValue(v string) []byte {
	if rest, ok := strings.CutPrefix(v, binaryMark); ok {
		if b, err := base64.StdEncoding.DecodeString(rest); err == nil {
			return b
		}
	}
	return []byte(v)
}
