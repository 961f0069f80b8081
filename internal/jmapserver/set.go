package jmapserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// setArgs are the arguments of every /set (RFC 8620 §5.3).
type setArgs struct {
	AccountID string                     `json:"accountId"`
	IfInState *string                    `json:"ifInState"`
	Create    map[string]json.RawMessage `json:"create"`
	Update    map[string]map[string]any  `json:"update"`
	Destroy   []string                   `json:"destroy"`
	// Mailbox/set (RFC 8621 §2.5)
	OnDestroyRemoveEmails bool `json:"onDestroyRemoveEmails"`
}

type setResponse struct {
	AccountID    string                    `json:"accountId"`
	OldState     string                    `json:"oldState"`
	NewState     string                    `json:"newState"`
	Created      map[string]any            `json:"created"`
	Updated      map[string]any            `json:"updated"`
	Destroyed    []string                  `json:"destroyed"`
	NotCreated   map[string]*jmap.SetError `json:"notCreated"`
	NotUpdated   map[string]*jmap.SetError `json:"notUpdated"`
	NotDestroyed map[string]*jmap.SetError `json:"notDestroyed"`
}

// beginSet checks the account, ifInState and maxObjectsInSet.
func (c *call) beginSet(a *setArgs) (*store.Store, *setResponse, error) {
	if n := len(a.Create) + len(a.Update) + len(a.Destroy); n > c.s.o.MaxObjectsInSet {
		return nil, nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d objects, at most %d (maxObjectsInSet)", n, c.s.o.MaxObjectsInSet)
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, nil, err
	}
	state := jmap.FormatState(st.ModSeq)
	// RFC 8620 §5.3: a stale ifInState refuses the whole call. The check
	// is not atomic with the writes that follow: a change another
	// protocol commits in between is not detected.
	if a.IfInState != nil && *a.IfInState != state {
		return nil, nil, jmap.Errorf(jmap.ErrStateMismatch, "state is %s, not %s", state, *a.IfInState)
	}
	return st, &setResponse{AccountID: a.AccountID, OldState: state, Created: map[string]any{}, Updated: map[string]any{},
		Destroyed: []string{}, NotCreated: map[string]*jmap.SetError{}, NotUpdated: map[string]*jmap.SetError{},
		NotDestroyed: map[string]*jmap.SetError{}}, nil
}

// finishSet sets the new state and drops empty maps as RFC 8620 §5.3
// allows (null).
func (c *call) finishSet(st *store.Store, res *setResponse) (any, error) {
	cur, err := c.s.o.Store.GetStore(c.ctx, st.ID)
	if err != nil {
		return nil, fmt.Errorf("store %d: %w", st.ID, err)
	}
	res.NewState = jmap.FormatState(cur.ModSeq)
	return res, nil
}

// setError maps a store error of one object to a SetError; ok is false
// for an unexpected error, which fails the whole call (serverFail).
func setError(err error) (*jmap.SetError, bool) {
	var se *jmap.SetError
	switch {
	case errors.As(err, &se):
		return se, true
	case errors.Is(err, store.ErrNotFound):
		return &jmap.SetError{Type: jmap.SetNotFound}, true
	case errors.Is(err, store.ErrPermission):
		return &jmap.SetError{Type: jmap.SetForbidden}, true
	case errors.Is(err, store.ErrOverQuota):
		return &jmap.SetError{Type: jmap.SetOverQuota}, true
	case errors.Is(err, store.ErrConflict):
		return &jmap.SetError{Type: jmap.SetAlreadyExists}, true
	case errors.Is(err, store.ErrInvalid):
		return &jmap.SetError{Type: jmap.SetInvalidProperties, Description: err.Error()}, true
	}
	return nil, false
}

// setEach runs do for each key in turn: a failure of one object is
// recorded in failed under its key, an unexpected error (see setError)
// stops the call and is returned.
func setEach(keys []string, failed map[string]*jmap.SetError, do func(k string) error) error {
	for _, k := range keys {
		if err := do(k); err != nil {
			if err := notDone(failed, k, err); err != nil {
				return err
			}
		}
	}
	return nil
}

// notDone records err, the failure of object k, in failed; an
// unexpected error (see setError) is returned instead, to fail the call.
func notDone(failed map[string]*jmap.SetError, k string, err error) error {
	se, ok := setError(err)
	if !ok {
		return err
	}
	failed[k] = se
	return nil
}

// sortedKeys orders creation ids, so that creates run (and "#key"
// references resolve) the same way every time.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// updateDestroy applies the update and destroy parts of a /set (RFC 8620
// §5.3) with the type's functions, after resolving creation references.
func (c *call) updateDestroy(a *setArgs, res *setResponse, update func(id string, patch map[string]any) error, destroy func(id string) error) error {
	err := setEach(sortedKeys(a.Update), res.NotUpdated, func(id string) error {
		if err := update(c.resolveID(id), a.Update[id]); err != nil {
			return err
		}
		res.Updated[id] = nil
		return nil
	})
	if err != nil {
		return err
	}
	ids := make([]string, len(a.Destroy))
	for i, id := range a.Destroy {
		ids[i] = c.resolveID(id)
	}
	return setEach(ids, res.NotDestroyed, func(id string) error {
		if err := destroy(id); err != nil {
			return err
		}
		res.Destroyed = append(res.Destroyed, id)
		return nil
	})
}

func invalidProps(desc string, props ...string) *jmap.SetError {
	return &jmap.SetError{Type: jmap.SetInvalidProperties, Description: desc, Properties: props}
}

// resolveID replaces a creation reference "#k" by the id created for k.
func (c *call) resolveID(id string) string {
	if len(id) > 1 && id[0] == '#' {
		if real, ok := c.created[id[1:]]; ok {
			return real
		}
	}
	return id
}

// validKeyword is RFC 8621 §4.1.1: ASCII %x21-%x7E without ( ) { ] % *
// " \, at most 255 bytes.
func validKeyword(k string) bool {
	if k == "" || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c < 0x21 || c > 0x7e || strings.IndexByte(`(){]%*"\`, c) >= 0 {
			return false
		}
	}
	return true
}
