package app

// The sharded mode's online store move (docs/cluster.md, "Moving a
// store"): `roost admin store move LOGIN --to NODE` switches the user's
// home node in one transaction (store.Cluster.MoveHome), journaled in the
// user's store. No content moves: every backend reads the one database
// and bucket.
//
// What follows the switch happens on the nodes, not in the admin call:
//
//   - Frontends read the home node of each login and recipient from the
//     database (homeEndpoint, the LMTP route): the next login goes to the
//     new node. Only the registry of nodes and their endpoints is cached,
//     read again at once when it does not name the new node.
//   - Every node watches the private stores of the users it serves
//     sessions or streams of (Options.Watch of imapserver, pop3server,
//     sieveserver, jmapserver and easserver). The move's
//     journal entry is notified to every node with its commit (LISTEN/
//     NOTIFY); a node that hears of a change of such a store reads the
//     user's home node, and when that is another node it ends the user's
//     sessions here: IMAP * BYE [UNAVAILABLE] (after the command in
//     progress), POP3 -ERR [SYS/TEMP] at the next command, ManageSieve
//     BYE (TRYLATER) (after the command in progress); its EventSource
//     streams end, its WebSockets close with 1012 and its parked
//     ActiveSync Pings answer status 1. Clients reconnect through the
//     frontend to the new node.
//   - A proxied login reaching a backend that is no longer the user's home
//     (routed just before the switch) is refused as a temporary failure;
//     the frontend then routes again (imapserver).
//   - LMTP transactions relayed to the old node before the switch complete
//     there: it writes to the same store.

import (
	"context"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/easserver"
	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/pop3server"
	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/sieveserver"
	"github.com/roost-mail/roost/internal/store"
)

// movedText is what a session of a moved user is told.
const movedText = "Mailbox moved to another server; please reconnect"

// homeWatch is the set of users this node serves sessions of, each with a
// subscription to its private store.
type homeWatch struct {
	mu    sync.Mutex
	users map[string]*watchedUser
	imap  *imapserver.Server
	pop3  *pop3server.Server
	sieve *sieveserver.Server
	jmap  *jmapserver.Server // EventSource and WebSocket streams
	eas   *easserver.Server  // parked Pings and Sync waits
}

type watchedUser struct {
	refs    int
	sub     *events.Subscription
	running bool // a check runs
	again   bool // another notification came during it
	gone    bool // the last session ended: no longer in users
}

// setSessionServers names the servers whose sessions a move ends (at
// start and after an undrain, which makes new ones).
func (s *server) setSessionServers(i *imapserver.Server, p *pop3server.Server) {
	s.home.mu.Lock()
	defer s.home.mu.Unlock()
	if i != nil {
		s.home.imap = i
	}
	if p != nil {
		s.home.pop3 = p
	}
}

// setStreamServers names the other servers whose sessions or streams a
// move ends (nil: unchanged).
func (s *server) setStreamServers(sv *sieveserver.Server, j *jmapserver.Server, e *easserver.Server) {
	s.home.mu.Lock()
	defer s.home.mu.Unlock()
	if sv != nil {
		s.home.sieve = sv
	}
	if j != nil {
		s.home.jmap = j
	}
	if e != nil {
		s.home.eas = e
	}
}

// watchHome is Options.Watch of the session servers of a sharded node.
//
// Lock order: the events hub calls checkHome with its own lock held, and
// checkHome takes home.mu; so home.mu is never held while calling the
// hub (SubscribeFunc, Close).
func (s *server) watchHome(p *store.Principal, storeID int64) func() {
	login := p.Login
	h := &s.home
	h.mu.Lock()
	if h.users == nil {
		h.users = map[string]*watchedUser{}
	}
	w := h.users[login]
	first := w == nil
	if first {
		w = &watchedUser{}
		h.users[login] = w
	}
	w.refs++
	h.mu.Unlock()
	if first {
		// Subscribe before the first check: a move that commits after
		// the check is notified, one before it is seen by it.
		sub := s.events.SubscribeFunc(storeID, func(events.Change) { s.checkHome(login) })
		h.mu.Lock()
		gone := w.gone
		if !gone {
			w.sub = sub
		}
		h.mu.Unlock()
		if gone {
			sub.Close()
		}
	}
	s.checkHome(login)
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			var sub *events.Subscription
			if w.refs--; w.refs == 0 {
				sub, w.gone = w.sub, true
				delete(h.users, login)
			}
			h.mu.Unlock()
			if sub != nil {
				sub.Close()
			}
		})
	}
}

// checkHome reads the home node of login, one check at a time per user
// (notifications during a check run one more), and ends the user's
// sessions here when it is another node. It never blocks (the events hub
// calls it).
func (s *server) checkHome(login string) {
	h := &s.home
	h.mu.Lock()
	w := h.users[login]
	if w == nil {
		h.mu.Unlock()
		return
	}
	if w.running {
		w.again = true
		h.mu.Unlock()
		return
	}
	w.running = true
	h.mu.Unlock()
	go func() {
		for {
			s.checkHomeOnce(login)
			h.mu.Lock()
			if !w.again {
				w.running = false
				h.mu.Unlock()
				return
			}
			w.again = false
			h.mu.Unlock()
		}
	}()
}

func (s *server) checkHomeOnce(login string) {
	ctx, cancel := context.WithTimeout(store.SystemContext(context.Background()), 10*time.Second)
	defer cancel()
	u, err := s.db.GetUser(ctx, login)
	if err != nil {
		// A deleted user's sessions end by themselves at their next
		// store call; a database failure is retried at the next change.
		s.log.Debug("home node check", "user", login, "err", err)
		return
	}
	home, err := s.homeNode(ctx, u)
	if err != nil {
		s.log.Debug("home node check", "user", login, "err", err)
		return
	}
	if home == "" || home == s.node.name {
		return
	}
	s.home.mu.Lock()
	i, p, sv, j, e := s.home.imap, s.home.pop3, s.home.sieve, s.home.jmap, s.home.eas
	s.home.mu.Unlock()
	n := 0
	if i != nil {
		n += i.EndUser(login, imap.CodeUnavailable, movedText)
	}
	if p != nil {
		n += p.EndUser(login, movedText)
	}
	if sv != nil {
		n += sv.EndUser(login, movedText)
	}
	if j != nil {
		n += j.EndUser(login, movedText)
	}
	if e != nil {
		n += e.EndUser(login)
	}
	if n > 0 {
		s.log.Info("home node moved: ending the user's sessions here", "user", login, "home", home, "sessions", n)
	}
}
