package jmapserver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/jmap"
)

// Identity/set (RFC 8621 §6.3). The identities of the addresses a user
// may send from (own, aliases, send-as) always exist; Identity/set
// changes their name, reply-to, bcc and signatures, and creates more
// identities for those same addresses (another name or signature). They
// are kept in the user's store properties, "jmap/ident/<id>". An address
// the user may no longer send from drops its identities.

const (
	identPropPrefix   = "jmap/ident/"
	maxIdentities     = 100
	maxSignatureBytes = 64 << 10
	maxIdentityName   = 256
)

// storedIdentity is what Identity/set keeps.
type storedIdentity struct {
	Email         string `json:"email"`
	Name          string `json:"name"`
	ReplyTo       any    `json:"replyTo"`
	Bcc           any    `json:"bcc"`
	TextSignature string `json:"textSignature"`
	HTMLSignature string `json:"htmlSignature"`
	Created       bool   `json:"created"`
}

func (c *call) storedIdentities() (map[string]*storedIdentity, error) {
	st, err := c.ownStore()
	if err != nil {
		return nil, err
	}
	props, err := c.s.o.Store.StorePropsPrefix(c.ctx, st.ID, identPropPrefix)
	if err != nil {
		return nil, fmt.Errorf("identities of %s: %w", c.p.Login, err)
	}
	out := map[string]*storedIdentity{}
	for k, v := range props {
		var si storedIdentity
		if json.Unmarshal([]byte(v), &si) == nil {
			out[strings.TrimPrefix(k, identPropPrefix)] = &si
		}
	}
	return out, nil
}

func (c *call) withStoredIdentities(derived []identity) ([]identity, error) {
	stored, err := c.storedIdentities()
	if err != nil {
		return nil, err
	}
	allowed := func(addr string) *identity {
		for i := range derived {
			if strings.EqualFold(derived[i].Email, addr) {
				return &derived[i]
			}
		}
		return nil
	}
	out := slices.Clone(derived)
	for i := range out {
		if si := stored[out[i].ID]; si != nil {
			out[i].Name, out[i].ReplyTo, out[i].Bcc = si.Name, si.ReplyTo, si.Bcc
			out[i].TextSignature, out[i].HTMLSignature = si.TextSignature, si.HTMLSignature
		}
	}
	for _, id := range slices.Sorted(mapKeys(stored)) {
		si := stored[id]
		base := allowed(si.Email)
		if !si.Created || base == nil {
			continue
		}
		out = append(out, identity{ID: id, Name: si.Name, Email: base.Email, ReplyTo: si.ReplyTo, Bcc: si.Bcc,
			TextSignature: si.TextSignature, HTMLSignature: si.HTMLSignature, MayDelete: true, user: base.user})
	}
	return out, nil
}

// identityState is a digest of the identities (they live outside the
// change journal).
func identityState(ids []identity) string {
	sum := sha256.Sum256(rawJSON(ids))
	return "i" + hex.EncodeToString(sum[:8])
}

// checkEmailAddresses validates a replyTo/bcc value: null or a list of
// EmailAddress objects.
func checkEmailAddresses(v any) bool {
	if v == nil {
		return true
	}
	l, ok := v.([]any)
	if !ok || len(l) > 100 {
		return false
	}
	for _, x := range l {
		m, ok := x.(map[string]any)
		if !ok {
			return false
		}
		if e, ok := m["email"].(string); !ok || !strings.Contains(e, "@") || len(e) > 320 {
			return false
		}
		if n, ok := m["name"]; ok && n != nil {
			if _, ok := n.(string); !ok {
				return false
			}
		}
	}
	return true
}

// applyIdentity sets the writable properties of si from an object.
func applyIdentity(si *storedIdentity, o map[string]any, create bool) *jmap.SetError {
	for k, v := range o {
		switch k {
		case "email":
			if !create {
				return invalidProps("email is immutable", k)
			}
		case "name":
			s, ok := v.(string)
			if !ok || len(s) > maxIdentityName {
				return invalidProps("name must be a string of at most 256 bytes", k)
			}
			si.Name = s
		case "replyTo", "bcc":
			if !checkEmailAddresses(v) {
				return invalidProps(k+" must be null or a list of EmailAddress", k)
			}
			if k == "replyTo" {
				si.ReplyTo = v
			} else {
				si.Bcc = v
			}
		case "textSignature", "htmlSignature":
			s, ok := v.(string)
			if !ok || len(s) > maxSignatureBytes {
				return invalidProps(k+" must be a string of at most 64 KiB", k)
			}
			if k == "textSignature" {
				si.TextSignature = s
			} else {
				si.HTMLSignature = s
			}
		case "id", "mayDelete":
			return invalidProps(k+" is set by the server", k)
		default:
			return invalidProps("unknown property "+k, k)
		}
	}
	return nil
}

func identitySet(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		AccountID string                    `json:"accountId"`
		IfInState *string                   `json:"ifInState"`
		Create    map[string]map[string]any `json:"create"`
		Update    map[string]map[string]any `json:"update"`
		Destroy   []string                  `json:"destroy"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if n := len(a.Create) + len(a.Update) + len(a.Destroy); n > c.s.o.MaxObjectsInSet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d objects, at most %d (maxObjectsInSet)", n, c.s.o.MaxObjectsInSet)
	}
	st, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	ids, err := c.identities()
	if err != nil {
		return nil, err
	}
	state := identityState(ids)
	if a.IfInState != nil && *a.IfInState != state {
		return nil, jmap.Errorf(jmap.ErrStateMismatch, "state is %s, not %s", state, *a.IfInState)
	}
	stored, err := c.storedIdentities()
	if err != nil {
		return nil, err
	}
	find := func(id string) *identity {
		for i := range ids {
			if ids[i].ID == id {
				return &ids[i]
			}
		}
		return nil
	}
	save := func(id string, si *storedIdentity) error {
		if si == nil {
			return c.s.o.Store.SetStoreProps(c.ctx, st.ID, map[string]*string{identPropPrefix + id: nil})
		}
		v := string(rawJSON(si))
		return c.s.o.Store.SetStoreProps(c.ctx, st.ID, map[string]*string{identPropPrefix + id: &v})
	}
	res := &setResponse{AccountID: a.AccountID, OldState: state, Created: map[string]any{}, Updated: map[string]any{},
		Destroyed: []string{}, NotCreated: map[string]*jmap.SetError{}, NotUpdated: map[string]*jmap.SetError{},
		NotDestroyed: map[string]*jmap.SetError{}}
	err = setEach(sortedKeys(a.Create), res.NotCreated, func(k string) error {
		o := a.Create[k]
		email, _ := o["email"].(string)
		var base *identity
		for i := range ids {
			if strings.EqualFold(ids[i].Email, email) && !ids[i].MayDelete {
				base = &ids[i]
			}
		}
		if base == nil {
			// RFC 8621 §6.3: not an address the user may send from.
			return &jmap.SetError{Type: "forbiddenFrom", Description: "you may not send from " + email}
		}
		if len(stored) >= maxIdentities {
			return &jmap.SetError{Type: jmap.SetOverQuota, Description: fmt.Sprintf("at most %d identities", maxIdentities)}
		}
		si := &storedIdentity{Email: base.Email, Name: base.Name, Created: true}
		if serr := applyIdentity(si, o, true); serr != nil {
			return serr
		}
		id := "I" + randomHex(8)
		if err := save(id, si); err != nil {
			return err
		}
		stored[id] = si
		c.created[k] = id
		res.Created[k] = map[string]any{"id": id, "mayDelete": true}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = c.updateDestroy(&setArgs{Update: a.Update, Destroy: a.Destroy}, res, func(id string, patch map[string]any) error {
		cur := find(id)
		if cur == nil {
			if si := stored[id]; si == nil || !si.Created {
				return &jmap.SetError{Type: jmap.SetNotFound}
			}
		}
		si := stored[id]
		if si == nil {
			si = &storedIdentity{Email: cur.Email, Name: cur.Name, ReplyTo: cur.ReplyTo, Bcc: cur.Bcc,
				TextSignature: cur.TextSignature, HTMLSignature: cur.HTMLSignature}
		}
		if serr := applyIdentity(si, patch, false); serr != nil {
			return serr
		}
		if err := save(id, si); err != nil {
			return err
		}
		stored[id] = si
		return nil
	}, func(id string) error {
		cur := find(id)
		if cur == nil {
			return &jmap.SetError{Type: jmap.SetNotFound}
		}
		if !cur.MayDelete {
			return &jmap.SetError{Type: jmap.SetForbidden, Description: "the identity of an address the user may send from cannot be destroyed"}
		}
		delete(stored, id)
		return save(id, nil)
	})
	if err != nil {
		return nil, err
	}
	after, err := c.identities()
	if err != nil {
		return nil, err
	}
	res.NewState = identityState(after)
	return res, nil
}
