package jmapserver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// wsWriteTimeout bounds one message written to a WebSocket: a client
// that stops reading is disconnected.
const wsWriteTimeout = 30 * time.Second

// wsURL is the WebSocket URL of the session (RFC 8887 §3).
func wsURL(base string) string {
	switch {
	case strings.HasPrefix(base, "https://"):
		return "wss://" + strings.TrimPrefix(base, "https://") + "/jmap/ws"
	case strings.HasPrefix(base, "http://"):
		return "ws://" + strings.TrimPrefix(base, "http://") + "/jmap/ws"
	}
	return base + "/jmap/ws"
}

// webSocket serves JMAP over WebSocket (RFC 8887): requests and their
// responses as text messages, and push (WebSocketPushEnable) as
// StateChange messages driven by the same events hub as EventSource.
// Authentication is the upgrade request's, as for every /jmap/ URL. A
// socket counts against the same per-user limit as EventSource streams.
func (s *Server) webSocket(w http.ResponseWriter, r *http.Request) {
	p := store.PrincipalFrom(r.Context())
	if !s.acquire(s.streams, p.Login, s.o.MaxEventSources) {
		problem(w, &jmap.Problem{Type: jmap.ProblemLimit, Status: http.StatusTooManyRequests, Limit: "maxEventSources",
			Detail: fmt.Sprintf("at most %d open push connections (EventSource and WebSocket) per user", s.o.MaxEventSources)})
		return
	}
	defer s.release(s.streams, p.Login)
	st, err := s.o.Store.UserStore(r.Context(), p.Login)
	if err != nil {
		s.internalError(w, r, "websocket: user store", err)
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"jmap"}})
	if err != nil {
		// Accept has answered the request (not an upgrade, bad origin).
		return
	}
	defer conn.CloseNow()
	if conn.Subprotocol() != "jmap" {
		conn.Close(websocket.StatusPolicyViolation, "the jmap subprotocol is required (RFC 8887)")
		return
	}
	conn.SetReadLimit(s.o.MaxSizeRequest)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// EndUser's request, apart from ctx: a Read whose context ends
	// closes the connection at once, before the close frame could go.
	ended := make(chan string, 1)
	defer s.holdStream(p, st.ID, func(text string) {
		select {
		case ended <- text:
		default:
		}
	})()
	ws := &wsSession{s: s, conn: conn, ctx: ctx, r: r.WithContext(ctx), p: p, st: st}
	msgs := make(chan []byte)
	go func() {
		defer close(msgs)
		for {
			typ, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if typ != websocket.MessageText {
				conn.Close(websocket.StatusUnsupportedData, "JMAP messages are text")
				return
			}
			select {
			case msgs <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer ws.disablePush()
	for {
		select {
		case <-ctx.Done():
			return
		case text := <-ended:
			// EndUser: closed cleanly (the close handshake, while the
			// reader still reads), and the client reconnects.
			conn.Close(websocket.StatusServiceRestart, text)
			return
		case b, ok := <-msgs:
			if !ok {
				return
			}
			if err := ws.handle(b); err != nil {
				return
			}
		case ch := <-ws.pushC():
			if err := ws.pushed(ch.Seq); err != nil {
				return
			}
		case <-ws.sharedC():
			if err := ws.stateChange(ws.sp.take()); err != nil {
				return
			}
		}
	}
}

// wsSession is one WebSocket connection; only its loop goroutine uses it.
type wsSession struct {
	s    *Server
	conn *websocket.Conn
	ctx  context.Context
	r    *http.Request
	p    *store.Principal
	st   *store.Store
	// push, when enabled
	sub   *events.Subscription
	sp    *sharedPush // the shared accounts, as they were when push was enabled
	types []string
	last  uint64
}

func (ws *wsSession) sharedC() <-chan struct{} {
	if ws.sp == nil {
		return nil
	}
	return ws.sp.wake
}

func (ws *wsSession) pushC() <-chan events.Change {
	if ws.sub == nil {
		return nil
	}
	return ws.sub.C
}

func (ws *wsSession) write(v any) error {
	ctx, cancel := context.WithTimeout(ws.ctx, wsWriteTimeout)
	defer cancel()
	return ws.conn.Write(ctx, websocket.MessageText, rawJSON(v))
}

func (ws *wsSession) requestError(id string, p *jmap.Problem) error {
	m := map[string]any{"@type": jmap.WSRequestError, "type": p.Type, "status": p.Status, "detail": p.Detail}
	if p.Limit != "" {
		m["limit"] = p.Limit
	}
	if id != "" {
		m["requestId"] = id
	}
	return ws.write(m)
}

// handle answers one client message; an error ends the connection.
func (ws *wsSession) handle(b []byte) error {
	s := ws.s
	m, err := jmap.ParseWSMessage(b, jmap.Limits{MaxSize: s.o.MaxSizeRequest, MaxCalls: s.o.MaxCallsInRequest})
	if err != nil {
		var pr *jmap.Problem
		if !errors.As(err, &pr) {
			return err
		}
		return ws.requestError("", pr)
	}
	switch m.Type {
	case jmap.WSRequest:
		if !s.acquire(s.requests, ws.p.Login, s.o.MaxConcurrentRequests) {
			return ws.requestError(m.ID, &jmap.Problem{Type: jmap.ProblemLimit, Status: http.StatusTooManyRequests, Limit: "maxConcurrentRequests",
				Detail: fmt.Sprintf("at most %d concurrent requests", s.o.MaxConcurrentRequests)})
		}
		res, pr := s.execute(ws.r, ws.p, m.Request)
		s.release(s.requests, ws.p.Login)
		if pr != nil {
			return ws.requestError(m.ID, pr)
		}
		out := map[string]any{"@type": jmap.WSResponse, "methodResponses": res.MethodResponses, "sessionState": res.SessionState}
		if m.ID != "" {
			out["requestId"] = m.ID
		}
		if res.CreatedIDs != nil {
			out["createdIds"] = res.CreatedIDs
		}
		return ws.write(out)
	case jmap.WSPushEnable:
		ws.types = pushTypes
		if m.DataTypes != nil {
			ws.types = nil
			for _, t := range m.DataTypes {
				if slices.Contains(pushTypes, t) {
					ws.types = append(ws.types, t)
				}
			}
		}
		cur, err := s.o.Store.GetStore(ws.ctx, ws.st.ID)
		if err != nil {
			return fmt.Errorf("store %d: %w", ws.st.ID, err)
		}
		if ws.sub == nil && s.o.Hub != nil {
			ws.sub = s.o.Hub.Subscribe(ws.st.ID)
		}
		ws.last = cur.ModSeq
		// The shared accounts as they are now, as for EventSource: a
		// share given later moves the user's own ShareNotification
		// state, and enabling push again follows the new account.
		if ws.sp != nil {
			ws.sp.close()
		}
		shared, err := (&call{ctx: ws.ctx, s: s, p: ws.p, acct: ws.st}).sharedAccounts()
		if err != nil {
			return err
		}
		ws.sp = newSharedPush(s, shared)
		// RFC 8887 §4.3.5.2: a client's pushState older than the
		// current state gets the changes at once, for the accounts
		// whose state differs from the one the pushState recorded.
		if m.PushState != "" && m.PushState != ws.pushState() {
			return ws.stateChange(ws.staleSince(m.PushState))
		}
	case jmap.WSPushDisable:
		ws.disablePush()
	}
	return nil
}

func (ws *wsSession) disablePush() {
	if ws.sub != nil {
		ws.sub.Close()
		ws.sub = nil
	}
	if ws.sp != nil {
		ws.sp.close()
		ws.sp = nil
	}
}

// pushState records the state of every account push follows: the
// user's own store's position alone when no shared account is
// followed, otherwise followed by ",A<id>=<position>" per shared
// account (RFC 8887 leaves it opaque).
func (ws *wsSession) pushState() string {
	var b strings.Builder
	b.WriteString(jmap.FormatState(ws.last))
	if ws.sp == nil {
		return b.String()
	}
	pos := ws.sp.positions()
	ids := slices.Sorted(maps.Keys(pos))
	for _, id := range ids {
		b.WriteString("," + id + "=" + jmap.FormatState(pos[id]))
	}
	return b.String()
}

// staleSince returns the accounts whose state differs from what a
// client's pushState recorded (all of them for one it cannot read).
func (ws *wsSession) staleSince(old string) map[string]uint64 {
	was := map[string]string{}
	// SplitN: a client's pushState of many commas costs no more than
	// one too long to read.
	parts := strings.SplitN(old, ",", maxPushedShared+2)
	if len(parts) <= maxPushedShared+1 {
		was[jmap.FormatID('A', ws.st.ID)] = parts[0]
		for _, p := range parts[1:] {
			if k, v, ok := strings.Cut(p, "="); ok {
				was[k] = v
			}
		}
	}
	out := map[string]uint64{}
	if own := jmap.FormatID('A', ws.st.ID); was[own] != jmap.FormatState(ws.last) {
		out[own] = ws.last
	}
	if ws.sp != nil {
		for id, seq := range ws.sp.positions() {
			if was[id] != jmap.FormatState(seq) {
				out[id] = seq
			}
		}
	}
	return out
}

func (ws *wsSession) pushed(seq uint64) error {
	if seq <= ws.last {
		return nil
	}
	ws.last = seq
	return ws.stateChange(map[string]uint64{jmap.FormatID('A', ws.st.ID): seq})
}

// stateChange sends a StateChange for the accounts that moved: every
// type asked for, ShareNotification only for the user's own account
// (shares are notified to their grantee).
func (ws *wsSession) stateChange(changes map[string]uint64) error {
	out := stateChanges(ws.types, jmap.FormatID('A', ws.st.ID), changes)
	if len(out) == 0 {
		return nil
	}
	return ws.write(map[string]any{"@type": jmap.WSStateChange, "changed": out, "pushState": ws.pushState()})
}
