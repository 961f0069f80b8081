package jmapserver

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// pushTypes are the data types a StateChange reports; they all move
// with the store's journal.
var pushTypes = slices.Concat([]string{"Mailbox", "Email", "Thread", "EmailDelivery"}, groupwarePushTypes)

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
	if s.hijackStream(w, r, p, st, types, closeAfter, ping) { // esloop.go
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
	var sub *events.Subscription = s.o.Hub.Subscribe(st.ID)
	defer sub.Close()
	acct := jmap.FormatID('A', st.ID)
	last := st.ModSeq
	send := func(seq uint64) error {
		changed := map[string]string{}
		for _, t := range types {
			changed[t] = jmap.FormatState(seq)
		}
		b := rawJSON(map[string]any{"@type": "StateChange", "changed": map[string]any{acct: changed}})
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
		case <-r.Context().Done():
			return
		case ch := <-sub.C:
			if ch.Seq <= last || len(types) == 0 {
				continue
			}
			last = ch.Seq
			if err := send(ch.Seq); err != nil || closeAfter == "state" {
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
