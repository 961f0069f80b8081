package jmapserver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/proto/jmap"
)

// CapVacation is RFC 8621 §1.3.3.
const CapVacation = "urn:ietf:params:jmap:vacationresponse"

// vacationID is the one VacationResponse of an account (RFC 8621 §8).
const vacationID = "singleton"

var vacationProps = []string{"id", "isEnabled", "fromDate", "toDate", "subject", "textBody", "htmlBody"}

// vacationResponse is RFC 8621 §8 over the user's out-of-office setting
// (mail.GetOOF/SetOOF): the very state `roost admin user oof` shows and
// the delivery path answers from. Roost's out-of-office text is plain, so
// htmlBody is always null.
type vacationResponse struct {
	ID        string  `json:"id"`
	IsEnabled bool    `json:"isEnabled"`
	FromDate  *string `json:"fromDate"`
	ToDate    *string `json:"toDate"`
	Subject   *string `json:"subject"`
	TextBody  *string `json:"textBody"`
	HTMLBody  *string `json:"htmlBody"`
}

func vacationOf(o mail.OOF) vacationResponse {
	v := vacationResponse{ID: vacationID, IsEnabled: o.Enabled}
	date := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		s := t.UTC().Format(time.RFC3339)
		return &s
	}
	v.FromDate, v.ToDate = date(o.From), date(o.Until)
	if o.Subject != "" {
		v.Subject = &o.Subject
	}
	if o.Message != "" {
		v.TextBody = &o.Message
	}
	return v
}

// vacationState is a digest of the setting: out-of-office lives in store
// properties, which the change journal does not record, so the state is
// the value itself (VacationResponse has no /changes).
func vacationState(o mail.OOF) string {
	b, _ := json.Marshal(vacationOf(o))
	sum := sha256.Sum256(b)
	return "v" + hex.EncodeToString(sum[:8])
}

func (c *call) oof(acct string) (mail.OOF, error) {
	if _, err := c.account(acct); err != nil {
		return mail.OOF{}, err
	}
	o, err := mail.GetOOF(c.ctx, c.s.o.Store, c.p.Login)
	if err != nil {
		return mail.OOF{}, fmt.Errorf("out-of-office of %s: %w", c.p.Login, err)
	}
	return o, nil
}

func vacationGet(c *call, raw json.RawMessage) (any, error) {
	var a getArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a, vacationProps); err != nil {
		return nil, err
	}
	o, err := c.oof(a.AccountID)
	if err != nil {
		return nil, err
	}
	res := getResponse{AccountID: a.AccountID, State: vacationState(o), List: []any{}, NotFound: []string{}}
	v := vacationOf(o)
	if a.IDs == nil || slices.Contains(*a.IDs, vacationID) {
		res.List = append(res.List, pick(v, a.Properties))
	}
	if a.IDs != nil {
		for _, id := range *a.IDs {
			if id != vacationID && !slices.Contains(res.NotFound, id) {
				res.NotFound = append(res.NotFound, id)
			}
		}
	}
	return res, nil
}

// pick keeps the requested properties of an object (id always).
func pick(v any, props *[]string) any {
	if props == nil {
		return v
	}
	var m map[string]any
	b, _ := json.Marshal(v)
	json.Unmarshal(b, &m)
	out := map[string]any{"id": m["id"]}
	for _, p := range *props {
		if x, ok := m[p]; ok {
			out[p] = x
		}
	}
	return out
}

func vacationSet(c *call, raw json.RawMessage) (any, error) {
	var a setArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if n := len(a.Create) + len(a.Update) + len(a.Destroy); n > c.s.o.MaxObjectsInSet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d objects, at most %d (maxObjectsInSet)", n, c.s.o.MaxObjectsInSet)
	}
	o, err := c.oof(a.AccountID)
	if err != nil {
		return nil, err
	}
	state := vacationState(o)
	if a.IfInState != nil && *a.IfInState != state {
		return nil, jmap.Errorf(jmap.ErrStateMismatch, "state is %s, not %s", state, *a.IfInState)
	}
	res := &setResponse{AccountID: a.AccountID, OldState: state, Created: map[string]any{}, Updated: map[string]any{},
		Destroyed: []string{}, NotCreated: map[string]*jmap.SetError{}, NotUpdated: map[string]*jmap.SetError{},
		NotDestroyed: map[string]*jmap.SetError{}}
	// RFC 8621 §8.2: the singleton cannot be created or destroyed.
	for k := range a.Create {
		res.NotCreated[k] = &jmap.SetError{Type: jmap.SetSingleton, Description: "the VacationResponse exists already"}
	}
	for _, id := range a.Destroy {
		res.NotDestroyed[id] = &jmap.SetError{Type: jmap.SetSingleton, Description: "the VacationResponse cannot be destroyed"}
	}
	for _, id := range sortedKeys(a.Update) {
		if id != vacationID {
			res.NotUpdated[id] = &jmap.SetError{Type: jmap.SetNotFound}
			continue
		}
		next, serr := patchVacation(o, a.Update[id])
		if serr != nil {
			res.NotUpdated[id] = serr
			continue
		}
		if err := mail.SetOOF(c.ctx, c.s.o.Store, c.p.Login, next); err != nil {
			if err := notDone(res.NotUpdated, id, err); err != nil {
				return nil, fmt.Errorf("set out-of-office of %s: %w", c.p.Login, err)
			}
			continue
		}
		o = next
		res.Updated[id] = nil
	}
	res.NewState = vacationState(o)
	return res, nil
}

// patchVacation applies an update to the setting; a bad value is
// invalidProperties naming it.
func patchVacation(o mail.OOF, patch map[string]any) (mail.OOF, *jmap.SetError) {
	optString := func(k string, v any) (string, *jmap.SetError) {
		switch s := v.(type) {
		case nil:
			return "", nil
		case string:
			return s, nil
		}
		return "", invalidProps(k+" must be a string or null", k)
	}
	optDate := func(k string, v any) (time.Time, *jmap.SetError) {
		s, err := optString(k, v)
		if err != nil || s == "" {
			return time.Time{}, err
		}
		t, perr := time.Parse(time.RFC3339, s)
		if perr != nil {
			return time.Time{}, invalidProps(k+" must be a UTCDate", k)
		}
		return t.UTC(), nil
	}
	var serr *jmap.SetError
	for k, v := range patch {
		switch k {
		case "id":
			if v != vacationID {
				return o, invalidProps("id is immutable", k)
			}
		case "isEnabled":
			b, ok := v.(bool)
			if !ok {
				return o, invalidProps("isEnabled must be a boolean", k)
			}
			o.Enabled = b
		case "fromDate":
			o.From, serr = optDate(k, v)
		case "toDate":
			o.Until, serr = optDate(k, v)
		case "subject":
			o.Subject, serr = optString(k, v)
		case "textBody":
			o.Message, serr = optString(k, v)
		case "htmlBody":
			if v != nil {
				return o, invalidProps("Roost's out-of-office message is plain text: set textBody", k)
			}
		default:
			return o, invalidProps("unknown property "+k, k)
		}
		if serr != nil {
			return o, serr
		}
	}
	if o.Enabled && o.Message == "" {
		// The same rule as `roost admin user oof`: nothing to answer with.
		return o, invalidProps("an enabled VacationResponse needs a textBody", "textBody")
	}
	return o, nil
}
