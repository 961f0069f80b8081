package jmapserver

import (
	"encoding/json"
	"slices"

	"github.com/roost-mail/roost/internal/proto/jmap"
)

// getArgs are the arguments of every /get (RFC 8620 §5.1).
type getArgs struct {
	AccountID  string    `json:"accountId"`
	IDs        *[]string `json:"ids"`
	Properties *[]string `json:"properties"`
}

// checkGet validates ids and properties against the limit and the known
// property names. ids of creation references ("#x") are resolved.
func (c *call) checkGet(a *getArgs, known []string) error {
	if a.IDs != nil {
		if len(*a.IDs) > c.s.o.MaxObjectsInGet {
			return jmap.Errorf(jmap.ErrRequestTooLarge, "%d ids, at most %d (maxObjectsInGet)", len(*a.IDs), c.s.o.MaxObjectsInGet)
		}
		for i, id := range *a.IDs {
			(*a.IDs)[i] = c.resolveID(id)
		}
	}
	if a.Properties != nil && known != nil {
		for _, p := range *a.Properties {
			if !slices.Contains(known, p) {
				return jmap.Errorf(jmap.ErrInvalidArguments, "unknown property %q", p)
			}
		}
	}
	return nil
}

// getResponse is the answer of a /get.
type getResponse struct {
	AccountID string   `json:"accountId"`
	State     string   `json:"state"`
	List      []any    `json:"list"`
	NotFound  []string `json:"notFound"`
}

// changesArgs are the arguments of every /changes (RFC 8620 §5.2).
type changesArgs struct {
	AccountID  string `json:"accountId"`
	SinceState string `json:"sinceState"`
	MaxChanges *int   `json:"maxChanges"`
}

type changesResponse struct {
	AccountID         string    `json:"accountId"`
	OldState          string    `json:"oldState"`
	NewState          string    `json:"newState"`
	HasMoreChanges    bool      `json:"hasMoreChanges"`
	Created           []string  `json:"created"`
	Updated           []string  `json:"updated"`
	Destroyed         []string  `json:"destroyed"`
	UpdatedProperties *[]string `json:"updatedProperties,omitempty"`
}

func (a *changesArgs) check() (since uint64, max int, err error) {
	if a.MaxChanges != nil && *a.MaxChanges <= 0 {
		return 0, 0, jmap.Errorf(jmap.ErrInvalidArguments, "maxChanges must be positive")
	}
	since, ok := jmap.ParseState(a.SinceState)
	if !ok {
		return 0, 0, jmap.Errorf(jmap.ErrCannotCalculateChanges, "unknown state %q", a.SinceState)
	}
	max = 5000
	if a.MaxChanges != nil && *a.MaxChanges < max {
		max = *a.MaxChanges
	}
	return since, max, nil
}

func rawJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
