package jmapserver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/proto/sieve"
	"github.com/roost-mail/roost/internal/store"
)

// CapSieve is RFC 9661.
const CapSieve = "urn:ietf:params:jmap:sieve"

// SetError types of RFC 9661 §2.2.
const (
	setInvalidSieve  = "invalidSieve"
	setSieveIsActive = "sieveIsActive"
)

var sieveProps = []string{"id", "name", "blobId", "isActive"}

// sieveAccountCapability is RFC 9661 §1.3.1, from the limits ManageSieve
// enforces (the same mail.Scripts).
func (s *Server) sieveAccountCapability() map[string]any {
	o := s.o.Scripts.Options()
	return map[string]any{
		"implementation":      "Roost",
		"maxSizeScriptName":   mail.MaxScriptName,
		"maxSizeScript":       o.MaxScriptBytes,
		"maxNumberScripts":    o.MaxScripts,
		"maxNumberRedirects":  o.MaxRedirects,
		"sieveExtensions":     sieve.Capabilities(),
		"notificationMethods": nil,
		"externalLists":       nil,
	}
}

// A script's id is its name, base64url-encoded: ManageSieve names
// scripts and renames them, so there is no other stable key. Renaming
// in JMAP is therefore refused (a rename would change the id).
func sieveScriptID(name string) string {
	return "S" + base64.RawURLEncoding.EncodeToString([]byte(name))
}

func sieveScriptName(id string) (string, bool) {
	if !strings.HasPrefix(id, "S") {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(id[1:])
	if err != nil || mail.CheckScriptName(string(b)) != nil {
		return "", false
	}
	return string(b), true
}

// sieveBlobID names a script's content: "s" and its digest. The blob is
// found again among the user's scripts (at most maxNumberScripts).
func sieveBlobID(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "s" + hex.EncodeToString(sum[:20])
}

// sieveBlob finds the content of a script blob id of the principal.
func (s *Server) sieveBlob(c *call, blobID string) (string, bool, error) {
	if s.o.Scripts == nil {
		return "", false, nil
	}
	texts, _, err := s.o.Scripts.Texts(c.ctx, c.p.Login)
	if err != nil {
		return "", false, fmt.Errorf("sieve scripts of %s: %w", c.p.Login, err)
	}
	for _, t := range texts {
		if sieveBlobID(t) == blobID {
			return t, true, nil
		}
	}
	return "", false, nil
}

type sieveScript struct {
	ID       string  `json:"id"`
	Name     *string `json:"name"`
	BlobID   string  `json:"blobId"`
	IsActive bool    `json:"isActive"`
}

func sieveState(texts map[string]string, active string) string {
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range texts {
			if !yield(k) {
				return
			}
		}
	})
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%q %s\n", n, sieveBlobID(texts[n]))
	}
	fmt.Fprintf(h, "active %q", active)
	return "s" + hex.EncodeToString(h.Sum(nil)[:8])
}

// scripts checks the account and reads the user's scripts.
func (c *call) scripts(acct string) (map[string]string, string, error) {
	if c.s.o.Scripts == nil {
		return nil, "", jmap.Errorf(jmap.ErrAccountNotSupported, "Sieve is not available")
	}
	if _, err := c.account(acct); err != nil {
		return nil, "", err
	}
	texts, active, err := c.s.o.Scripts.Texts(c.ctx, c.p.Login)
	if err != nil {
		return nil, "", fmt.Errorf("sieve scripts of %s: %w", c.p.Login, err)
	}
	return texts, active, nil
}

func scriptObject(name, text, active string) sieveScript {
	n := name
	return sieveScript{ID: sieveScriptID(name), Name: &n, BlobID: sieveBlobID(text), IsActive: name == active}
}

func sieveGet(c *call, raw json.RawMessage) (any, error) {
	var a getArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a, sieveProps); err != nil {
		return nil, err
	}
	texts, active, err := c.scripts(a.AccountID)
	if err != nil {
		return nil, err
	}
	res := getResponse{AccountID: a.AccountID, State: sieveState(texts, active), List: []any{}, NotFound: []string{}}
	if a.IDs == nil {
		for _, n := range slices.Sorted(mapKeys(texts)) {
			res.List = append(res.List, pick(scriptObject(n, texts[n], active), a.Properties))
		}
		return res, nil
	}
	for _, id := range *a.IDs {
		n, ok := sieveScriptName(id)
		if t, found := texts[n]; ok && found {
			res.List = append(res.List, pick(scriptObject(n, t, active), a.Properties))
		} else {
			res.NotFound = append(res.NotFound, id)
		}
	}
	return res, nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// sieveChanges: the scripts live in store settings, outside the change
// journal, so only "nothing changed" can be answered; otherwise the
// client fetches the (at most maxNumberScripts) scripts again.
func sieveChanges(c *call, raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.MaxChanges != nil && *a.MaxChanges <= 0 {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "maxChanges must be positive")
	}
	texts, active, err := c.scripts(a.AccountID)
	if err != nil {
		return nil, err
	}
	cur := sieveState(texts, active)
	if a.SinceState != cur {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "the scripts changed: get them again")
	}
	return changesResponse{AccountID: a.AccountID, OldState: cur, NewState: cur, Created: []string{}, Updated: []string{}, Destroyed: []string{}}, nil
}

type sieveFilter struct {
	Name     *string `json:"name"`
	IsActive *bool   `json:"isActive"`
}

func sieveQuery(c *call, raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	var f sieveFilter
	if len(a.Filter) > 0 && string(a.Filter) != "null" {
		if err := parseArgs(a.Filter, &f); err != nil {
			return nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "%v", err)
		}
	}
	for _, s := range a.Sort {
		if s.Property != "name" && s.Property != "isActive" {
			return nil, jmap.Errorf(jmap.ErrUnsupportedSort, "cannot sort scripts by %q", s.Property)
		}
	}
	texts, active, err := c.scripts(a.AccountID)
	if err != nil {
		return nil, err
	}
	var names []string
	for n := range texts {
		if (f.Name != nil && !containsFold(n, *f.Name)) || (f.IsActive != nil && *f.IsActive != (n == active)) {
			continue
		}
		names = append(names, n)
	}
	slices.Sort(names)
	slices.SortStableFunc(names, func(x, y string) int {
		for _, s := range a.Sort {
			d := strings.Compare(x, y)
			if s.Property == "isActive" {
				d = cmpBool(x == active, y == active)
			}
			if s.IsAscending != nil && !*s.IsAscending {
				d = -d
			}
			if d != 0 {
				return d
			}
		}
		return 0
	})
	ids := make([]string, len(names))
	for i, n := range names {
		ids[i] = sieveScriptID(n)
	}
	return page(c, a, ids, sieveState(texts, active))
}

func sieveQueryChanges(c *call, raw json.RawMessage) (any, error) {
	return simpleQueryChanges(c, raw, func(acct string) (string, error) {
		texts, active, err := c.scripts(acct)
		if err != nil {
			return "", err
		}
		return sieveState(texts, active), nil
	})
}

// readScriptBlob reads a script from an uploaded blob or another
// script's blob, at most the script size limit.
func (c *call) readScriptBlob(st *store.Store, blobID string) ([]byte, *jmap.SetError, error) {
	max := c.s.o.Scripts.Options().MaxScriptBytes
	if strings.HasPrefix(blobID, "s") {
		t, ok, err := c.s.sieveBlob(c, blobID)
		if err != nil || !ok {
			return nil, &jmap.SetError{Type: jmap.SetBlobNotFound, Properties: []string{"blobId"}}, err
		}
		return []byte(t), nil, nil
	}
	rc, size, _, err := c.s.openBlob(c.ctx, st.ID, blobID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &jmap.SetError{Type: jmap.SetBlobNotFound, Properties: []string{"blobId"}}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("blob %s: %w", blobID, err)
	}
	defer rc.Close()
	if size > int64(max) {
		return nil, &jmap.SetError{Type: jmap.SetTooLarge, Description: fmt.Sprintf("a script holds at most %d bytes", max)}, nil
	}
	b, err := io.ReadAll(io.LimitReader(rc, int64(max)+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read blob %s: %w", blobID, err)
	}
	if len(b) > max {
		return nil, &jmap.SetError{Type: jmap.SetTooLarge, Description: fmt.Sprintf("a script holds at most %d bytes", max)}, nil
	}
	return b, nil, nil
}

// scriptSetError maps mail.Scripts' refusals to RFC 9661 SetErrors.
func scriptSetError(err error) error {
	var se *mail.ScriptError
	switch {
	case errors.As(err, &se):
		return &jmap.SetError{Type: setInvalidSieve, Description: se.Error()}
	case errors.Is(err, mail.ErrScriptTooBig):
		return &jmap.SetError{Type: jmap.SetTooLarge, Description: err.Error()}
	case errors.Is(err, mail.ErrTooManyScripts):
		return &jmap.SetError{Type: jmap.SetOverQuota, Description: err.Error()}
	case errors.Is(err, mail.ErrScriptName):
		return invalidProps("invalid script name", "name")
	case errors.Is(err, mail.ErrScriptActive):
		return &jmap.SetError{Type: setSieveIsActive, Description: "deactivate the script first"}
	}
	return err
}

type sieveSetArgs struct {
	setArgs
	OnSuccessActivateScript   *string `json:"onSuccessActivateScript"`
	OnSuccessDeactivateScript bool    `json:"onSuccessDeactivateScript"`
}

type sieveCreate struct {
	Name   *string `json:"name"`
	BlobID string  `json:"blobId"`
}

func sieveSet(c *call, raw json.RawMessage) (any, error) {
	var a sieveSetArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.OnDestroyRemoveEmails {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "onDestroyRemoveEmails is Mailbox/set's")
	}
	texts, active, err := c.scripts(a.AccountID)
	if err != nil {
		return nil, err
	}
	if n := len(a.Create) + len(a.Update) + len(a.Destroy); n > c.s.o.MaxObjectsInSet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d objects, at most %d (maxObjectsInSet)", n, c.s.o.MaxObjectsInSet)
	}
	state := sieveState(texts, active)
	if a.IfInState != nil && *a.IfInState != state {
		return nil, jmap.Errorf(jmap.ErrStateMismatch, "state is %s, not %s", state, *a.IfInState)
	}
	st := c.acct
	res := &setResponse{AccountID: a.AccountID, OldState: state, Created: map[string]any{}, Updated: map[string]any{},
		Destroyed: []string{}, NotCreated: map[string]*jmap.SetError{}, NotUpdated: map[string]*jmap.SetError{},
		NotDestroyed: map[string]*jmap.SetError{}}
	sc := c.s.o.Scripts
	err = setEach(sortedKeys(a.Create), res.NotCreated, func(k string) error {
		var cr sieveCreate
		if err := parseArgs(a.Create[k], &cr); err != nil {
			return invalidProps(err.Error())
		}
		name := ""
		if cr.Name != nil {
			name = *cr.Name
		} else {
			// RFC 9661 §2: the server picks a name when the client
			// gives none.
			for i := 1; ; i++ {
				name = fmt.Sprintf("script-%d", i)
				if _, taken := texts[name]; !taken {
					break
				}
			}
		}
		if err := mail.CheckScriptName(name); err != nil {
			return invalidProps("invalid script name", "name")
		}
		if _, taken := texts[name]; taken {
			return &jmap.SetError{Type: jmap.SetAlreadyExists, Description: fmt.Sprintf("a script named %q exists", name)}
		}
		text, serr, err := c.readScriptBlob(st, c.resolveBlobRef(cr.BlobID))
		if err != nil {
			return err
		}
		if serr != nil {
			return serr
		}
		if err := sc.Put(c.ctx, c.p.Login, name, text); err != nil {
			return scriptSetError(err)
		}
		texts[name] = string(text)
		id := sieveScriptID(name)
		c.created[k] = id
		out := map[string]any{"id": id, "blobId": sieveBlobID(string(text)), "isActive": false}
		if cr.Name == nil {
			out["name"] = name
		}
		res.Created[k] = out
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = c.updateDestroy(&a.setArgs, res, func(id string, patch map[string]any) error {
		name, ok := sieveScriptName(id)
		if _, found := texts[name]; !ok || !found {
			return &jmap.SetError{Type: jmap.SetNotFound}
		}
		var newText []byte
		for k, v := range patch {
			switch k {
			case "name":
				if s, ok := v.(string); !ok || s != name {
					return invalidProps("a script's id is its name: create a copy under the new name and destroy this one", "name")
				}
			case "blobId":
				b, ok := v.(string)
				if !ok {
					return invalidProps("blobId must be an id", "blobId")
				}
				text, serr, err := c.readScriptBlob(st, c.resolveBlobRef(b))
				if err != nil {
					return err
				}
				if serr != nil {
					return serr
				}
				newText = text
			case "id", "isActive":
				return invalidProps(k+" is set by the server", k)
			default:
				return invalidProps("unknown property "+k, k)
			}
		}
		if newText != nil {
			if err := sc.Put(c.ctx, c.p.Login, name, newText); err != nil {
				return scriptSetError(err)
			}
			texts[name] = string(newText)
		}
		return nil
	}, func(id string) error {
		name, ok := sieveScriptName(id)
		if _, found := texts[name]; !ok || !found {
			return &jmap.SetError{Type: jmap.SetNotFound}
		}
		if err := sc.Delete(c.ctx, c.p.Login, name); err != nil {
			return scriptSetError(err)
		}
		delete(texts, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	allOK := len(res.NotCreated)+len(res.NotUpdated)+len(res.NotDestroyed) == 0
	report := func(id string, on bool) {
		for _, v := range res.Created {
			if m, ok := v.(map[string]any); ok && m["id"] == id {
				m["isActive"] = on
				return
			}
		}
		res.Updated[id] = map[string]any{"isActive": on}
	}
	switch {
	case !allOK:
	case a.OnSuccessActivateScript != nil:
		// RFC 9661 §2.2: an unknown id is ignored.
		id := c.resolveID(*a.OnSuccessActivateScript)
		name, ok := sieveScriptName(id)
		if _, found := texts[name]; ok && found && name != active {
			if err := sc.SetActive(c.ctx, c.p.Login, name); err != nil {
				return nil, fmt.Errorf("activate script: %w", err)
			}
			if _, still := texts[active]; active != "" && still {
				report(sieveScriptID(active), false)
			}
			report(id, true)
			active = name
		}
	case a.OnSuccessDeactivateScript && active != "":
		if err := sc.SetActive(c.ctx, c.p.Login, ""); err != nil {
			return nil, fmt.Errorf("deactivate script: %w", err)
		}
		report(sieveScriptID(active), false)
		active = ""
	}
	if _, ok := texts[active]; !ok {
		active = ""
	}
	res.NewState = sieveState(texts, active)
	return res, nil
}

// resolveBlobRef resolves a "#creation" reference to a blob id (a blob
// created earlier in the request, e.g. by Blob/upload).
func (c *call) resolveBlobRef(id string) string { return c.resolveID(id) }

func sieveValidate(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		AccountID string `json:"accountId"`
		BlobID    string `json:"blobId"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if _, _, err := c.scripts(a.AccountID); err != nil {
		return nil, err
	}
	text, serr, err := c.readScriptBlob(c.acct, c.resolveBlobRef(a.BlobID))
	if err != nil {
		return nil, err
	}
	if serr == nil {
		if err := c.s.o.Scripts.Check(text); err != nil {
			e := scriptSetError(err)
			var se *jmap.SetError
			if !errors.As(e, &se) {
				return nil, err
			}
			serr = se
		}
	}
	return map[string]any{"accountId": a.AccountID, "error": serr}, nil
}
