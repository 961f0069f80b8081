package jmapserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// EmailSubmission records (RFC 8621 §7) are kept in the user's store
// properties, "jmap/sub/<id>", with a counter "jmap/subseq" that is the
// type's state: every record notes the counter value that created and
// last changed it, so /changes is exact. At most maxSubmissionRecords are
// kept; the oldest finished ones go first, and a state older than what
// was pruned is cannotCalculateChanges.
//
// With Options.SendDelay, a submission waits that long with undoStatus
// "pending" (its content in the blob store) and the client may cancel
// it; then it goes to the outbound queue and becomes "final". The node
// that accepted it sends it at its time; any node (this one after a
// restart: Resume) sends one still pending a minute after its time.
//
// Whether a pending submission is sent or canceled is decided in the
// database, not under subMu (which only one process sees): the side that
// first adds the store property "jmap/subfate/<id>" wins (AddStoreProp, one
// conditional insert), a sender with its own random token, a cancel with
// "canceled". So in a cluster a node that sends and another that cancels
// (or two nodes that both resume it) cannot both win.

const (
	subPropPrefix        = "jmap/sub/"
	subSeqProp           = "jmap/subseq"
	subPrunedProp        = "jmap/subpruned"
	subFatePrefix        = "jmap/subfate/"
	maxSubmissionRecords = 1000
)

type subRecord struct {
	IdentityID     string                    `json:"identityId"`
	EmailID        string                    `json:"emailId"`
	ThreadID       string                    `json:"threadId"`
	Envelope       map[string]any            `json:"envelope"`
	SendAt         time.Time                 `json:"sendAt"`
	UndoStatus     string                    `json:"undoStatus"`
	DeliveryStatus map[string]map[string]any `json:"deliveryStatus,omitempty"`
	Blob           string                    `json:"blob,omitempty"` // pending content
	Created        uint64                    `json:"created"`
	Updated        uint64                    `json:"updated"`
	Destroyed      bool                      `json:"destroyed,omitempty"`
}

var submissionProps = []string{"id", "identityId", "emailId", "threadId", "envelope", "sendAt", "undoStatus", "deliveryStatus", "dsnBlobIds", "mdnBlobIds"}

func (r *subRecord) object(id string) map[string]any {
	return map[string]any{"id": id, "identityId": r.IdentityID, "emailId": r.EmailID, "threadId": r.ThreadID,
		"envelope": r.Envelope, "sendAt": utcDate(r.SendAt), "undoStatus": r.UndoStatus,
		"deliveryStatus": r.DeliveryStatus, "dsnBlobIds": []string{}, "mdnBlobIds": []string{}}
}

// subStore reads the records, the counter and the pruning mark.
func (s *Server) subStore(ctx context.Context, storeID int64) (map[string]*subRecord, uint64, uint64, error) {
	props, err := s.o.Store.StorePropsPrefix(ctx, storeID, "jmap/sub")
	if err != nil {
		return nil, 0, 0, fmt.Errorf("submissions of store %d: %w", storeID, err)
	}
	recs := map[string]*subRecord{}
	for k, v := range props {
		if id, ok := strings.CutPrefix(k, subPropPrefix); ok {
			var r subRecord
			if json.Unmarshal([]byte(v), &r) == nil {
				recs[id] = &r
			}
		}
	}
	seq, _ := strconv.ParseUint(props[subSeqProp], 10, 64)
	pruned, _ := strconv.ParseUint(props[subPrunedProp], 10, 64)
	return recs, seq, pruned, nil
}

// saveSub writes records and moves the counter (the caller holds subMu).
func (s *Server) saveSub(ctx context.Context, storeID int64, seq uint64, recs map[string]*subRecord, extra map[string]*string) error {
	set := map[string]*string{}
	for id, r := range recs {
		if r == nil {
			set[subPropPrefix+id] = nil
			continue
		}
		v := string(rawJSON(r))
		set[subPropPrefix+id] = &v
	}
	n := strconv.FormatUint(seq, 10)
	set[subSeqProp] = &n
	for k, v := range extra {
		set[k] = v
	}
	return s.o.Store.SetStoreProps(ctx, storeID, set)
}

// decideSubmission settles a pending submission's fate in the database:
// want is "canceled" or a sender's "sent:<token>"; it reports whether want
// won, and the fate recorded (the winner's value).
func (s *Server) decideSubmission(ctx context.Context, storeID int64, id, want string) (bool, string, error) {
	got, err := s.o.Store.AddStoreProp(ctx, storeID, subFatePrefix+id, want)
	if err != nil {
		return false, "", fmt.Errorf("decide submission %s: %w", id, err)
	}
	return got == want, got, nil
}

func subState(seq uint64) string { return "u" + strconv.FormatUint(seq, 10) }

// submitAndRecord sends (or, with a send delay, holds) a submission and
// records it.
func (c *call) submitAndRecord(st *store.Store, sc *submissionCreate) (map[string]any, error) {
	og, err := c.prepare(st, sc)
	if err != nil {
		return nil, err
	}
	now := c.s.o.Now().UTC().Truncate(time.Second)
	rec := &subRecord{IdentityID: sc.IdentityID, EmailID: jmap.FormatID('E', og.item.ID), ThreadID: jmap.FormatID('T', og.item.ThreadID),
		SendAt: now, UndoStatus: "final"}
	env := map[string]any{"mailFrom": map[string]any{"email": og.from, "parameters": nil}}
	var rcpt []any
	for _, r := range og.rcpts {
		rcpt = append(rcpt, map[string]any{"email": r, "parameters": nil})
	}
	env["rcptTo"] = rcpt
	rec.Envelope = env
	delay := c.s.o.SendDelay
	if delay > 0 && c.s.o.Blobs != nil {
		id, _, err := c.s.o.Blobs.Put(c.ctx, bytes.NewReader(og.content))
		if err != nil {
			return nil, fmt.Errorf("hold submission: %w", err)
		}
		rec.Blob, rec.UndoStatus, rec.SendAt = string(id), "pending", now.Add(delay)
	} else if err := c.s.send(c.ctx, og); err != nil {
		return nil, err
	}
	id := "S" + randomHex(10)
	c.s.subMu.Lock()
	recs, seq, pruned, err := c.s.subStore(c.ctx, st.ID)
	if err == nil {
		seq++
		rec.Created, rec.Updated = seq, seq
		drop, mark := pruneSubs(recs, pruned)
		drop[id] = rec
		err = c.s.saveSub(c.ctx, st.ID, seq, drop, mark)
	}
	c.s.subMu.Unlock()
	if err != nil {
		return nil, err
	}
	if rec.UndoStatus == "pending" {
		c.s.schedule(st.ID, id, rec.SendAt, og.from, og.rcpts, c.p.Login, false)
	}
	return map[string]any{"id": id, "undoStatus": rec.UndoStatus, "sendAt": utcDate(rec.SendAt), "threadId": rec.ThreadID}, nil
}

// pruneSubs picks the oldest finished records beyond the limit for
// removal and returns them (nil values) with the new pruning mark.
func pruneSubs(recs map[string]*subRecord, pruned uint64) (map[string]*subRecord, map[string]*string) {
	out := map[string]*subRecord{}
	if len(recs) < maxSubmissionRecords {
		return out, nil
	}
	ids := slices.Collect(mapKeys(recs))
	slices.SortFunc(ids, func(a, b string) int { return int(recs[a].Created) - int(recs[b].Created) })
	mark := pruned
	for _, id := range ids {
		if len(recs)-len(out) < maxSubmissionRecords {
			break
		}
		if recs[id].UndoStatus == "pending" {
			continue
		}
		out[id] = nil
		mark = max(mark, recs[id].Updated)
	}
	v := strconv.FormatUint(mark, 10)
	extra := map[string]*string{subPruned(): &v}
	for id := range out {
		extra[subFatePrefix+id] = nil
		extra[subFatePrefix+id+subTakeOver] = nil
	}
	return out, extra
}

func subPruned() string { return subPrunedProp }

// schedule sends a pending submission at its time unless canceled.
// resume: scheduled by resumeStore, resumeGrace after its time, which
// may take over a submission whose sender stopped after deciding to send
// it (takeOver).
func (s *Server) schedule(storeID int64, id string, at time.Time, from string, rcpts []string, login string, resume bool) {
	s.subMu.Lock()
	if s.subTimers == nil {
		s.subTimers = map[string]bool{}
	}
	if s.subTimers[id] {
		s.subMu.Unlock()
		return
	}
	s.subTimers[id] = true
	s.subMu.Unlock()
	s.goPush(func(ctx context.Context) {
		defer func() {
			s.subMu.Lock()
			delete(s.subTimers, id)
			s.subMu.Unlock()
		}()
		if d := at.Sub(s.o.Now()); d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		sys := store.SystemContext(ctx)
		recs, _, _, err := s.subStore(sys, storeID)
		if err != nil {
			s.log.Error("JMAP delayed submission: reading it", "user", login, "submission", id, "err", err)
			return
		}
		if rec := recs[id]; rec == nil || rec.UndoStatus != "pending" || rec.Destroyed {
			return
		}
		// pending → sent is decided in the database: a cancel on any
		// node either won before or fails after (cannotUnsend).
		won, fate, err := s.decideSubmission(sys, storeID, id, "sent:"+randomHex(8))
		if err != nil {
			s.log.Error("JMAP delayed submission: deciding it", "user", login, "submission", id, "err", err)
			return
		}
		if !won {
			switch {
			case fate == "canceled":
				s.settleCanceled(sys, storeID, id, login)
				return
			case !resume:
				return // another node sends it
			}
			// The decision says sent, yet the record is still pending a
			// minute past its time: the node that won stopped before it
			// recorded the submission final, which it does right after
			// deciding, before it sends.
			if !s.takeOver(sys, storeID, id, login) {
				return
			}
		}
		s.subMu.Lock()
		recs, seq, _, err := s.subStore(sys, storeID)
		rec := recs[id]
		if err != nil || rec == nil {
			s.subMu.Unlock()
			s.log.Error("JMAP delayed submission: reading it", "user", login, "submission", id, "err", err)
			return
		}
		if rec.UndoStatus != "pending" {
			s.subMu.Unlock()
			return // taken over and recorded by another node
		}
		seq++
		rec.UndoStatus, rec.Updated = "final", seq
		blobID := blob.ID(rec.Blob)
		rec.Blob = ""
		err = s.saveSub(sys, storeID, seq, map[string]*subRecord{id: rec}, nil)
		s.subMu.Unlock()
		if err != nil {
			s.log.Error("JMAP delayed submission: recording it", "user", login, "submission", id, "err", err)
			return
		}
		err = s.sendHeld(ctx, blobID, from, rcpts, login)
		if err != nil {
			s.log.Warn("JMAP delayed submission not sent", "user", login, "submission", id, "err", err)
			s.subMu.Lock()
			if recs, seq, _, rerr := s.subStore(sys, storeID); rerr == nil && recs[id] != nil {
				seq++
				recs[id].Updated = seq
				recs[id].DeliveryStatus = map[string]map[string]any{}
				for _, r := range rcpts {
					recs[id].DeliveryStatus[r] = map[string]any{"smtpReply": "554 5.0.0 " + err.Error(), "delivered": "no", "displayed": "unknown"}
				}
				s.saveSub(sys, storeID, seq, map[string]*subRecord{id: recs[id]}, nil)
			}
			s.subMu.Unlock()
		}
	})
}

// subTakeOver is the suffix of the fate property that decides which
// node takes a stalled submission over (takeOver).
const subTakeOver = ":takeover"

// takeOver decides in the database which resuming node sends a
// submission whose winner stopped between its decision and its record,
// so that two nodes resuming it do not both send it.
func (s *Server) takeOver(ctx context.Context, storeID int64, id, login string) bool {
	won, _, err := s.decideSubmission(ctx, storeID, id+subTakeOver, "sent:"+randomHex(8))
	if err != nil {
		s.log.Error("JMAP delayed submission: taking it over", "user", login, "submission", id, "err", err)
		return false
	}
	if won {
		s.log.Warn("JMAP delayed submission: its sender stopped before sending it; sending it here", "user", login, "submission", id)
	}
	return won
}

// settleCanceled records a submission whose cancel won in the database
// as canceled, if its record still says pending (the canceling node
// stopped between the decision and the record).
func (s *Server) settleCanceled(ctx context.Context, storeID int64, id, login string) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	recs, seq, _, err := s.subStore(ctx, storeID)
	if err != nil || recs[id] == nil || recs[id].UndoStatus != "pending" {
		return
	}
	seq++
	recs[id].UndoStatus, recs[id].Updated, recs[id].Blob = "canceled", seq, ""
	if err := s.saveSub(ctx, storeID, seq, map[string]*subRecord{id: recs[id]}, nil); err != nil {
		s.log.Warn("JMAP delayed submission: recording its cancel", "user", login, "submission", id, "err", err)
	}
}

func (s *Server) sendHeld(ctx context.Context, id blob.ID, from string, rcpts []string, login string) error {
	// Sent as the user, so the queue applies the sender rules as they
	// are now.
	p, err := s.o.Store.Principal(store.SystemContext(ctx), login)
	if err != nil {
		return fmt.Errorf("principal %s: %w", login, err)
	}
	rc, err := s.o.Blobs.Open(ctx, id)
	if err != nil {
		return fmt.Errorf("held content: %w", err)
	}
	ctx = store.WithPrincipal(ctx, p)
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxParsedMessage))
	if err != nil {
		return fmt.Errorf("held content: %w", err)
	}
	return s.send(ctx, &outgoing{from: from, rcpts: rcpts, content: b})
}

// resumeSubmissions schedules pending submissions that no timer of this
// process holds, for resumeGrace after their time: after a restart, or
// when the node that accepted them is gone. The node that accepted a
// submission marks it final before it sends it, so a node taking over a
// minute later finds it final and leaves it.
func (s *Server) resumeSubmissions(c *call, st *store.Store) {
	if s.o.Submitter == nil {
		return
	}
	s.resumeStore(c.ctx, st.ID, c.p.Login)
}

// resumeGrace is how long past its time a pending submission is left to
// the node that accepted it.
const resumeGrace = time.Minute

func (s *Server) resumeStore(ctx context.Context, storeID int64, login string) {
	if s.o.Submitter == nil {
		return
	}
	recs, _, _, err := s.subStore(ctx, storeID)
	if err != nil {
		return
	}
	for id, r := range recs {
		if r.UndoStatus != "pending" || r.Destroyed {
			continue
		}
		var from string
		var rcpts []string
		if mf, ok := r.Envelope["mailFrom"].(map[string]any); ok {
			from, _ = mf["email"].(string)
		}
		if rt, ok := r.Envelope["rcptTo"].([]any); ok {
			for _, x := range rt {
				if m, ok := x.(map[string]any); ok {
					if e, ok := m["email"].(string); ok {
						rcpts = append(rcpts, e)
					}
				}
			}
		}
		s.schedule(storeID, id, r.SendAt.Add(resumeGrace), from, rcpts, login, true)
	}
}

// updateDestroySubmissions: a pending submission may be canceled
// (undoStatus "canceled"); anything else is cannotUnsend or refused.
// Destroying a record forgets it (a pending one is canceled first).
func (c *call) updateDestroySubmissions(st *store.Store, a *setArgs, res *setResponse) error {
	if len(a.Update) == 0 && len(a.Destroy) == 0 {
		return nil
	}
	c.s.subMu.Lock()
	defer c.s.subMu.Unlock()
	recs, seq, _, err := c.s.subStore(c.ctx, st.ID)
	if err != nil {
		return err
	}
	changed := map[string]*subRecord{}
	live := func(id string) *subRecord {
		if r := recs[id]; r != nil && !r.Destroyed {
			return r
		}
		return nil
	}
	err = c.updateDestroy(a, res, func(id string, patch map[string]any) error {
		r := live(id)
		if r == nil {
			return &jmap.SetError{Type: jmap.SetNotFound}
		}
		for k, v := range patch {
			if k != "undoStatus" {
				return invalidProps("only undoStatus can change", k)
			}
			if v != "canceled" {
				return invalidProps("undoStatus can only become canceled", k)
			}
			if r.UndoStatus != "pending" {
				return &jmap.SetError{Type: "cannotUnsend", Description: "the email has been sent"}
			}
			if won, _, err := c.s.decideSubmission(c.ctx, st.ID, id, "canceled"); err != nil {
				return err
			} else if !won {
				// A node is sending it (its record says final soon).
				return &jmap.SetError{Type: "cannotUnsend", Description: "the email is being sent"}
			}
			seq++
			r.UndoStatus, r.Updated = "canceled", seq
			changed[id] = r
		}
		return nil
	}, func(id string) error {
		r := live(id)
		if r == nil {
			return &jmap.SetError{Type: jmap.SetNotFound}
		}
		if r.UndoStatus == "pending" {
			won, _, err := c.s.decideSubmission(c.ctx, st.ID, id, "canceled")
			if err != nil {
				return err
			}
			if won {
				r.UndoStatus = "canceled"
			} else {
				r.UndoStatus = "final" // it is being sent
			}
		}
		seq++
		r.Destroyed, r.Updated = true, seq
		changed[id] = r
		return nil
	})
	if err != nil {
		return err
	}
	if len(changed) == 0 {
		return nil
	}
	for _, r := range changed {
		if r.UndoStatus == "canceled" && r.Blob != "" {
			r.Blob = "" // the held content is left to the blob store's sweep
		}
	}
	return c.s.saveSub(c.ctx, st.ID, seq, changed, nil)
}

func (c *call) submissionAccount(acct string) (*store.Store, map[string]*subRecord, uint64, uint64, error) {
	if c.s.o.Submitter == nil {
		return nil, nil, 0, 0, jmap.Errorf(jmap.ErrAccountNotSupported, "this server does not send mail")
	}
	st, err := c.account(acct)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	c.s.resumeSubmissions(c, st)
	recs, seq, pruned, err := c.s.subStore(c.ctx, st.ID)
	return st, recs, seq, pruned, err
}

func emailSubmissionGet(c *call, raw json.RawMessage) (any, error) {
	var a getArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a, submissionProps); err != nil {
		return nil, err
	}
	_, recs, seq, _, err := c.submissionAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	res := getResponse{AccountID: a.AccountID, State: subState(seq), List: []any{}, NotFound: []string{}}
	ids := slices.Sorted(mapKeys(recs))
	if a.IDs != nil {
		ids = *a.IDs
	}
	for _, id := range ids {
		r := recs[id]
		if r == nil || r.Destroyed {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		res.List = append(res.List, pick(r.object(id), a.Properties))
	}
	return res, nil
}

func emailSubmissionChanges(c *call, raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.MaxChanges != nil && *a.MaxChanges <= 0 {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "maxChanges must be positive")
	}
	_, recs, seq, pruned, err := c.submissionAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	since, err := strconv.ParseUint(strings.TrimPrefix(a.SinceState, "u"), 10, 64)
	if err != nil || !strings.HasPrefix(a.SinceState, "u") || since > seq || since < pruned {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "unknown or expired state %q", a.SinceState)
	}
	res := changesResponse{AccountID: a.AccountID, OldState: a.SinceState, NewState: subState(seq),
		Created: []string{}, Updated: []string{}, Destroyed: []string{}}
	for _, id := range slices.Sorted(mapKeys(recs)) {
		r := recs[id]
		switch {
		case r.Updated <= since:
		case r.Destroyed && r.Created > since:
		case r.Destroyed:
			res.Destroyed = append(res.Destroyed, id)
		case r.Created > since:
			res.Created = append(res.Created, id)
		default:
			res.Updated = append(res.Updated, id)
		}
	}
	if a.MaxChanges != nil && len(res.Created)+len(res.Updated)+len(res.Destroyed) > *a.MaxChanges {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "more than maxChanges changes: get them again")
	}
	return res, nil
}

type submissionFilter struct {
	IdentityIDs []string   `json:"identityIds"`
	EmailIDs    []string   `json:"emailIds"`
	ThreadIDs   []string   `json:"threadIds"`
	UndoStatus  *string    `json:"undoStatus"`
	Before      *time.Time `json:"before"`
	After       *time.Time `json:"after"`
}

func emailSubmissionQuery(c *call, raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	var f submissionFilter
	if len(a.Filter) > 0 && string(a.Filter) != "null" {
		if err := parseArgs(a.Filter, &f); err != nil {
			return nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "%v", err)
		}
		if len(f.IdentityIDs)+len(f.EmailIDs)+len(f.ThreadIDs) > maxSubmissionRecords {
			return nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "at most %d ids in a filter", maxSubmissionRecords)
		}
	}
	for _, s := range a.Sort {
		if s.Property != "emailId" && s.Property != "threadId" && s.Property != "sentAt" {
			return nil, jmap.Errorf(jmap.ErrUnsupportedSort, "cannot sort submissions by %q", s.Property)
		}
	}
	_, recs, seq, _, err := c.submissionAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for id, r := range recs {
		if r.Destroyed ||
			(f.IdentityIDs != nil && !slices.Contains(f.IdentityIDs, r.IdentityID)) ||
			(f.EmailIDs != nil && !slices.Contains(f.EmailIDs, r.EmailID)) ||
			(f.ThreadIDs != nil && !slices.Contains(f.ThreadIDs, r.ThreadID)) ||
			(f.UndoStatus != nil && *f.UndoStatus != r.UndoStatus) ||
			(f.Before != nil && !r.SendAt.Before(*f.Before)) || (f.After != nil && r.SendAt.Before(*f.After)) {
			continue
		}
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(x, y string) int {
		for _, s := range a.Sort {
			var d int
			switch s.Property {
			case "emailId":
				d = strings.Compare(recs[x].EmailID, recs[y].EmailID)
			case "threadId":
				d = strings.Compare(recs[x].ThreadID, recs[y].ThreadID)
			default:
				d = recs[x].SendAt.Compare(recs[y].SendAt)
			}
			if s.IsAscending != nil && !*s.IsAscending {
				d = -d
			}
			if d != 0 {
				return d
			}
		}
		return int(recs[x].Created) - int(recs[y].Created)
	})
	return page(c, a, ids, subState(seq))
}

func emailSubmissionQueryChanges(c *call, raw json.RawMessage) (any, error) {
	return simpleQueryChanges(c, raw, func(acct string) (string, error) {
		_, _, seq, _, err := c.submissionAccount(acct)
		return subState(seq), err
	})
}

var _ = errors.New
