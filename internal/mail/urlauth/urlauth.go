// Package urlauth resolves IMAP URLs (RFC 5092) for their owner and keeps
// the URLAUTH access keys (RFC 4467): IMAP's GENURLAUTH, RESETKEY and
// URLFETCH and submission's BURL (RFC 4468) use it, so that the
// submission server fetches a message straight from the store with the
// submitting user's principal, never through an IMAP connection to
// itself.
//
// Invariants:
//   - A token is HMAC-SHA256 of the rump URL (everything up to and
//     including the access identifier) under a 256-bit key of the URL's
//     mailbox and owner, kept as a property of the owner's private store
//     (keyPrefix + folder ID). RESETKEY replaces keys, which voids every
//     URL made with them.
//   - A URL is resolved as its owner: the principal acting is the user
//     the URL names, and the store checks that principal's access as for
//     any read. Another user may use it only with a token the owner made
//     ("authuser", "anonymous", "user+them", "submit+them"), and only
//     within the owner's tenant.
//   - "submit+user" URLs are honoured only for submission, "user+user"
//     only outside it, both only for that user.
package urlauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// Mechanism is the one authorisation mechanism offered (RFC 4467 §3).
const Mechanism = "INTERNAL"

// keyPrefix names a mailbox's access key in the owner's store properties.
const keyPrefix = "urlauth:key:"

// Errors: ErrInvalid for a URL that does not authorise this access (a
// bad or stale token, another user's URL, the wrong access); store.
// ErrNotFound when the message is not there. Anything else is a failure
// to try again.
var ErrInvalid = errors.New("IMAP URL not valid for this access")

// Resolver works on the store.
type Resolver struct {
	Store store.Backend
	// MaxBytes bounds what Fetch returns; 0 means 50 MiB.
	MaxBytes int64
	// Now is the clock for EXPIRE; nil is time.Now.
	Now func() time.Time
}

// Access says who is using a URL.
type Access struct {
	Principal *store.Principal
	StoreID   int64 // the principal's private store
	Submit    bool  // the submission server, acting for Principal
}

// Folder finds a mailbox of the personal namespace by IMAP name ("INBOX"
// in any case for the inbox, "/" between levels).
func (r *Resolver) Folder(ctx context.Context, storeID int64, name string) (*store.Folder, error) {
	fs, err := r.Store.ListFolders(ctx, storeID)
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	byID := map[int64]*store.Folder{}
	for _, f := range fs {
		if !f.Deleted {
			byID[f.ID] = f
		}
	}
	path := func(f *store.Folder) string {
		var comps []string
		for n := 0; f != nil && n < 100; n++ {
			c := f.Name
			if f.Special == store.SpecialInbox && f.ParentID == 0 {
				c = "INBOX"
			}
			comps = append([]string{c}, comps...)
			if f.ParentID == 0 {
				return strings.Join(comps, "/")
			}
			f = byID[f.ParentID]
		}
		return ""
	}
	if len(name) >= 5 && strings.EqualFold(name[:5], "INBOX") && (len(name) == 5 || name[5] == '/') {
		name = "INBOX" + name[5:]
	}
	for _, f := range byID {
		if f.Type == store.FolderMail && path(f) == name {
			return f, nil
		}
	}
	return nil, store.ErrNotFound
}

// key returns a mailbox's access key, making one when create is set
// (nil, nil when there is none).
func (r *Resolver) key(ctx context.Context, storeID, folderID int64, create bool) ([]byte, error) {
	name := keyPrefix + strconv.FormatInt(folderID, 10)
	props, err := r.Store.StorePropsPrefix(ctx, storeID, name)
	if err != nil {
		return nil, fmt.Errorf("read URLAUTH key: %w", err)
	}
	if v, ok := props[name]; ok {
		if k, err := hex.DecodeString(v); err == nil && len(k) == 32 {
			return k, nil
		}
	}
	if !create {
		return nil, nil
	}
	k := make([]byte, 32)
	rand.Read(k)
	// Insert-if-absent: two GENURLAUTH commands racing for a mailbox
	// without a key agree on one, so neither voids the other's URL.
	v, err := r.Store.AddStoreProp(ctx, storeID, name, hex.EncodeToString(k))
	if err != nil {
		return nil, fmt.Errorf("store URLAUTH key: %w", err)
	}
	if got, err := hex.DecodeString(v); err == nil && len(got) == 32 {
		return got, nil
	}
	// A damaged key (read above as absent) is replaced.
	v = hex.EncodeToString(k)
	if err := r.Store.SetStoreProps(ctx, storeID, map[string]*string{name: &v}); err != nil {
		return nil, fmt.Errorf("store URLAUTH key: %w", err)
	}
	return k, nil
}

// ResetKeys replaces the key of one mailbox (folderID), or drops every key
// (folderID 0): RFC 4467 §7.
func (r *Resolver) ResetKeys(ctx context.Context, storeID, folderID int64) error {
	if folderID != 0 {
		if _, err := r.key(ctx, storeID, folderID, false); err != nil {
			return err
		}
		name := keyPrefix + strconv.FormatInt(folderID, 10)
		if err := r.Store.SetStoreProps(ctx, storeID, map[string]*string{name: nil}); err != nil {
			return fmt.Errorf("reset URLAUTH key: %w", err)
		}
		_, err := r.key(ctx, storeID, folderID, true)
		return err
	}
	props, err := r.Store.StorePropsPrefix(ctx, storeID, keyPrefix)
	if err != nil {
		return fmt.Errorf("read URLAUTH keys: %w", err)
	}
	set := map[string]*string{}
	for k := range props {
		set[k] = nil
	}
	if len(set) == 0 {
		return nil
	}
	if err := r.Store.SetStoreProps(ctx, storeID, set); err != nil {
		return fmt.Errorf("reset URLAUTH keys: %w", err)
	}
	return nil
}

func token(key []byte, rump string) string {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, rump)
	return hex.EncodeToString(m.Sum(nil))
}

// Generate authorises a rump URL (RFC 4467 §7 GENURLAUTH) for its owner,
// who must be the principal, and returns the full URL.
func (r *Resolver) Generate(ctx context.Context, a Access, raw, mech string) (string, error) {
	u, err := imap.ParseURL(raw)
	if err != nil || u.Access == "" || u.Token != "" || !strings.EqualFold(mech, Mechanism) {
		return "", ErrInvalid
	}
	if !strings.EqualFold(u.User, a.Principal.Login) {
		return "", ErrInvalid
	}
	f, err := r.Folder(ctx, a.StoreID, u.Mailbox)
	if err != nil {
		return "", err
	}
	k, err := r.key(ctx, a.StoreID, f.ID, true)
	if err != nil {
		return "", err
	}
	return u.Rump + ":" + strings.ToLower(Mechanism) + ":" + token(k, u.Rump), nil
}

// Fetch returns the message (or part) a URL names, when it authorises
// the access: a URLAUTH URL with a valid token, or, for submission
// (RFC 4468 §3.3: "BURL imap"), a plain URL of the user's own mailbox.
func (r *Resolver) Fetch(ctx context.Context, a Access, raw string) ([]byte, error) {
	data, u, err := r.message(ctx, a, raw)
	if err != nil {
		return nil, err
	}
	if data, err = section(data, u.Section); err != nil {
		return nil, err
	}
	return cutPartial(data, u.Partial), nil
}

// Part is what FetchPart returns.
type Part struct {
	Data    []byte     // the whole message
	Part    *mime.Part // the part the URL's section names; the root without one
	Whole   bool       // the URL has no section: it names the whole message
	Partial *[2]uint64 // the URL's partial range, nil for none
}

// FetchPart is Fetch for URLFETCH's RFC 5524 parameters: it returns the
// whole message and the part the URL names, and leaves the partial range
// to the caller, for it applies to what the caller makes of the part
// (decoded content, say). A section that is not a part number (HEADER,
// TEXT, MIME) is ErrInvalid.
func (r *Resolver) FetchPart(ctx context.Context, a Access, raw string) (*Part, error) {
	data, u, err := r.message(ctx, a, raw)
	if err != nil {
		return nil, err
	}
	root, perr := mime.Parse(data, mime.Limits{})
	if root == nil {
		return nil, fmt.Errorf("parse message: %w", perr)
	}
	out := &Part{Data: data, Part: root, Whole: u.Section == "", Partial: u.Partial}
	if u.Section != "" {
		path, err := partPath(u.Section)
		if err != nil {
			return nil, err
		}
		var ok bool
		if out.Part, ok = root.Section(path); !ok {
			return nil, store.ErrNotFound
		}
	}
	return out, nil
}

// Cut applies the partial range to b.
func (p *Part) Cut(b []byte) []byte { return cutPartial(b, p.Partial) }

// partPath parses a section that is only a part number, "1.2".
func partPath(sec string) ([]int, error) {
	path, spec, ok := mime.ParseSection(sec)
	if !ok || spec != mime.SpecBody || len(path) == 0 {
		return nil, ErrInvalid
	}
	return path, nil
}

func cutPartial(data []byte, p *[2]uint64) []byte {
	if p == nil {
		return data
	}
	off := min(p[0], uint64(len(data)))
	end := min(off+min(p[1], uint64(len(data))), uint64(len(data)))
	return data[off:end]
}

// message checks the URL's authorisation and reads the message it names.
func (r *Resolver) message(ctx context.Context, a Access, raw string) ([]byte, *imap.URL, error) {
	u, err := imap.ParseURL(raw)
	if err != nil {
		return nil, nil, ErrInvalid
	}
	login := a.Principal.Login
	if u.User != "" && !strings.EqualFold(u.User, login) {
		// Another user's mailbox: only through a token its owner made
		// (RFC 4467 §3), resolved as that owner.
		if u.Token == "" {
			return nil, nil, ErrInvalid
		}
		owner, err := r.owner(ctx, a.Principal, u.User)
		if err != nil {
			return nil, nil, err
		}
		st, err := r.Store.UserStore(store.WithPrincipal(ctx, owner), owner.Login)
		if err != nil {
			return nil, nil, fmt.Errorf("owner's store: %w", err)
		}
		ctx, a = store.WithPrincipal(ctx, owner), Access{Principal: a.Principal, StoreID: st.ID, Submit: a.Submit}
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	if !u.Expire.IsZero() && now().After(u.Expire) {
		return nil, nil, ErrInvalid
	}
	switch {
	case u.Access == "":
		if !a.Submit || u.User == "" {
			return nil, nil, ErrInvalid
		}
	case u.Token == "" || u.Mechanism != Mechanism:
		return nil, nil, ErrInvalid
	default:
		acc := strings.ToLower(u.Access)
		switch {
		case acc == "anonymous", acc == "authuser":
		case strings.HasPrefix(acc, "submit+"):
			if !a.Submit || !strings.EqualFold(u.Access[7:], login) {
				return nil, nil, ErrInvalid
			}
		case strings.HasPrefix(acc, "user+"):
			if a.Submit || !strings.EqualFold(u.Access[5:], login) {
				return nil, nil, ErrInvalid
			}
		default:
			return nil, nil, ErrInvalid
		}
	}
	f, err := r.Folder(ctx, a.StoreID, u.Mailbox)
	if err != nil {
		return nil, nil, err
	}
	if u.Token != "" {
		k, err := r.key(ctx, a.StoreID, f.ID, false)
		if err != nil {
			return nil, nil, err
		}
		if k == nil || !hmac.Equal([]byte(token(k, u.Rump)), []byte(u.Token)) {
			return nil, nil, ErrInvalid
		}
	}
	if u.UIDValidity != 0 && u.UIDValidity != f.UIDValidity {
		return nil, nil, store.ErrNotFound
	}
	it, err := r.Store.ItemByUID(ctx, f.ID, u.UID)
	if err != nil {
		return nil, nil, err
	}
	limit := r.MaxBytes
	if limit <= 0 {
		limit = 50 << 20
	}
	if it.Size > limit {
		return nil, nil, fmt.Errorf("message of %d bytes: %w", it.Size, ErrInvalid)
	}
	rc, err := r.Store.OpenItem(ctx, it.ID)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read message: %w", err)
	}
	return data, u, nil
}

// owner returns the principal of the user a URL names, when that user is
// in the fetching principal's tenant: "authuser" means an authenticated
// user of this server, and a tenant is a server of its own to its users
// (SPEC §3), so a URL never reaches across tenants. A user that does not
// exist there is an invalid URL, not an error.
func (r *Resolver) owner(ctx context.Context, p *store.Principal, login string) (*store.Principal, error) {
	sys := store.SystemContext(ctx)
	u, err := r.Store.GetUser(sys, login)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("URL owner %q: %w", login, err)
	}
	if u.TenantID != p.TenantID {
		return nil, ErrInvalid
	}
	owner, err := r.Store.Principal(sys, u.Login)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("URL owner %q: %w", login, err)
	}
	return owner, nil
}

// section cuts a section out of a message: "" (all), HEADER, TEXT or a
// part number such as 1.2 (RFC 9051 §6.4.5), as FETCH BODY[section].
func section(data []byte, sec string) ([]byte, error) {
	if sec == "" {
		return data, nil
	}
	path, spec, ok := mime.ParseSection(sec)
	if !ok {
		return nil, ErrInvalid
	}
	root, err := mime.Parse(data, mime.Limits{})
	if root == nil {
		return nil, fmt.Errorf("parse message: %w", err)
	}
	start, end, ok := root.SectionRange(path, spec)
	if !ok {
		return nil, store.ErrNotFound
	}
	return data[start:end], nil
}

// FetchFor is Fetch for a principal, whose private store it looks up.
func (r *Resolver) FetchFor(ctx context.Context, p *store.Principal, raw string, submit bool) ([]byte, error) {
	st, err := r.Store.UserStore(ctx, p.Login)
	if err != nil {
		return nil, fmt.Errorf("user store: %w", err)
	}
	return r.Fetch(ctx, Access{Principal: p, StoreID: st.ID, Submit: submit}, raw)
}
