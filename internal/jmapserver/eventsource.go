package jmapserver

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// pushTypes are the data types a StateChange reports; they all move
// with the store's journal.
var pushTypes = slices.Concat([]string{"Mailbox", "Email", "Thread", "EmailDelivery"}, groupwarePushTypes,
	[]string{"ShareNotification"})

// typeStates is one account's entry of a StateChange: every type of
// types at state seq, but ShareNotification, which lives in the user's
// own account only; nil when nothing is left.
func typeStates(types []string, own bool, seq uint64) map[string]string {
	var changed map[string]string
	for _, t := range types {
		if own || t != "ShareNotification" {
			if changed == nil {
				changed = map[string]string{}
			}
			changed[t] = jmap.FormatState(seq)
		}
	}
	return changed
}

// stateChanges is a StateChange's changed map for the accounts that
// moved (account id to position), own being the user's own account.
func stateChanges(types []string, own string, changes map[string]uint64) map[string]any {
	out := map[string]any{}
	for a, seq := range changes {
		if changed := typeStates(types, a == own, seq); changed != nil {
			out[a] = changed
		}
	}
	return out
}

// maxPing is the longest EventSource ping interval, in seconds.
const maxPing = 3600

// eventSource serves the push channel (RFC 8620 §7.3): a StateChange
// event whenever the account's journal moves, pings every ping seconds.
func (s *Server) eventSource(w http.ResponseWriter, r *http.Request) {
	p := store.PrincipalFrom(r.Context())
	q := r.URL.Query()
	types := pushTypes
	if t := q.Get("types"); t != "" && t != "*" {
		types = nil
		for _, x := range strings.Split(t, ",") {
			if slices.Contains(pushTypes, x) {
				types = append(types, x)
			}
		}
	}
	closeAfter := q.Get("closeafter")
	if closeAfter == "" {
		closeAfter = "no"
	}
	if closeAfter != "state" && closeAfter != "no" {
		http.Error(w, "closeafter must be state or no", http.StatusBadRequest)
		return
	}
	ping := 0
	if v := q.Get("ping"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			http.Error(w, "ping must be a non-negative integer", http.StatusBadRequest)
			return
		}
		// RFC 8620 §7.3: the server may hold the interval between a
		// minimum and a maximum (and the maximum keeps the ticker's
		// duration from overflowing).
		ping = min(n, maxPing)
		if lo := int(s.o.MinPing / time.Second); ping > 0 && ping < lo {
			ping = lo
		}
	}
	if !s.acquire(s.streams, p.Login, s.o.MaxEventSources) {
		// Held streams are not read (esloop.go): some may belong to
		// clients that went away. Look before refusing.
		s.es.probeUser(p.Login)
		if !s.acquire(s.streams, p.Login, s.o.MaxEventSources) {
			problem(w, &jmap.Problem{Type: jmap.ProblemLimit, Status: http.StatusTooManyRequests, Limit: "maxEventSources",
				Detail: fmt.Sprintf("at most %d open EventSource connections per user; close one first", s.o.MaxEventSources)})
			return
		}
	}
	hijacked := false
	defer func() {
		if !hijacked {
			s.release(s.streams, p.Login)
		}
	}()
	st, err := s.o.Store.UserStore(r.Context(), p.Login)
	if err != nil {
		s.internalError(w, r, "eventsource: user store", err)
		return
	}
	// Shared accounts (accounts.go) as they are when the stream opens: a
	// share given later moves the user's own store (a share
	// notification), and the client reconnects after fetching the new
	// session.
	shared, err := (&call{ctx: r.Context(), s: s, p: p, acct: st}).sharedAccounts()
	if err != nil {
		s.internalError(w, r, "eventsource: shared accounts", err)
		return
	}
	if s.hijackStream(w, r, p, st, shared, types, closeAfter, ping) { // esloop.go
		hijacked = true
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if s.o.Hub == nil {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer s.holdStream(p, st.ID, func(string) { cancel() })()
	var sub *events.Subscription = s.o.Hub.Subscribe(st.ID)
	defer sub.Close()
	acct := jmap.FormatID('A', st.ID)
	last := st.ModSeq
	sp := newSharedPush(s, shared)
	defer sp.close()
	send := func(changes map[string]uint64) error {
		out := stateChanges(types, acct, changes)
		if len(out) == 0 {
			return nil
		}
		b := rawJSON(map[string]any{"@type": "StateChange", "changed": out})
		if _, err := fmt.Fprintf(w, "event: state\ndata: %s\n\n", b); err != nil {
			return err
		}
		fl.Flush()
		return nil
	}
	fl.Flush()
	var tick <-chan time.Time
	if ping > 0 {
		t := time.NewTicker(time.Duration(ping) * time.Second)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ch := <-sub.C:
			if ch.Seq <= last || len(types) == 0 {
				continue
			}
			last = ch.Seq
			if err := send(map[string]uint64{acct: ch.Seq}); err != nil || closeAfter == "state" {
				return
			}
		case <-sp.wake:
			changes := sp.take()
			if len(changes) == 0 || len(types) == 0 {
				continue
			}
			if err := send(changes); err != nil || closeAfter == "state" {
				return
			}
		case <-tick:
			if _, err := fmt.Fprintf(w, "event: ping\ndata: {\"interval\":%d}\n\n", ping); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

// maxPushedShared bounds the shared accounts one push channel follows.
const maxPushedShared = 100

// sharedPush follows the journals of shared accounts for a push channel:
// the hub calls back (no goroutine per store), the channel's loop takes
// what moved.
type sharedPush struct {
	wake chan struct{}
	mu   sync.Mutex
	seq  map[int64]uint64 // latest known position per store
	sent map[int64]uint64 // position last reported per store
	subs []*events.Subscription
}

func newSharedPush(s *Server, shared []*sharedAccount) *sharedPush {
	sp := &sharedPush{wake: make(chan struct{}, 1), seq: map[int64]uint64{}, sent: map[int64]uint64{}}
	if s.o.Hub == nil {
		return sp
	}
	for _, a := range shared[:min(len(shared), maxPushedShared)] {
		id := a.st.ID
		sp.sent[id] = a.st.ModSeq
		sp.subs = append(sp.subs, s.o.Hub.SubscribeFunc(id, func(ch events.Change) {
			sp.mu.Lock()
			sp.seq[id] = max(sp.seq[id], ch.Seq)
			sp.mu.Unlock()
			select {
			case sp.wake <- struct{}{}:
			default:
			}
		}))
	}
	return sp
}

// take returns the accounts whose journal moved since last reported.
func (sp *sharedPush) take() map[string]uint64 {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	out := map[string]uint64{}
	for id, seq := range sp.seq {
		if seq > sp.sent[id] {
			out[jmap.FormatID('A', id)] = seq
			sp.sent[id] = seq
		}
	}
	return out
}

// positions returns the position last reported per shared account.
func (sp *sharedPush) positions() map[string]uint64 {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	out := make(map[string]uint64, len(sp.sent))
	for id, seq := range sp.sent {
		out[jmap.FormatID('A', id)] = seq
	}
	return out
}

func (sp *sharedPush) close() {
	for _, sub := range sp.subs {
		sub.Close()
	}
}
