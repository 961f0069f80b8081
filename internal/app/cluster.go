package app

// This process as a node of a cluster (docs/cluster.md): its heartbeat in
// the node registry, the leases of the jobs that run on one node at a
// time, and draining.
//
// Every node registers itself, whatever the database: on SQLite it is the
// only one. A heartbeat every node_heartbeat seconds refreshes the row and
// reads back the draining flag that `roost admin node drain` sets from any
// node. With the jobs role the heartbeat also takes or renews the leases
// of the run-once jobs (leaseJobs); a lease lives four heartbeats, so a
// node that dies (kill -9, power loss) loses its leases that long after
// its last heartbeat and a live node takes them over.
//
// A drained node closes the listeners of its session protocols at once
// (new connections go to other nodes: /readyz answers 503, so load
// balancers agree), gives up its leases, lets open sessions finish for
// drain_grace seconds and then closes them: IMAP says BYE, SMTP and LMTP
// 421. Undraining opens the listeners again.

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// Jobs that run on one node at a time. The purge lease covers the orphan
// sweep of the blob store, which the purge runs, and the archiver
// (archive.go): both walk every store, so they stay on one node, and no
// lease of their own can end up on another node than the purge's after a
// takeover.
const (
	jobPurge   = "purge"
	jobQuota   = "quota-monitor"
	jobArchive = jobPurge
)

var leaseJobs = []string{jobPurge, jobQuota}

// nodeState is this process's view of itself in the cluster.
type nodeState struct {
	name     string
	instance string // random per process: two processes with one name clash
	draining atomic.Bool

	mu      sync.Mutex
	renewed map[string]time.Time // job → when its lease was last renewed
	ttl     time.Duration
	grace   *time.Timer // ends a drain's grace period
	closed  bool        // the session servers were closed by a drain
}

// holds reports whether this node holds the lease of job: renewed
// recently enough that it cannot have expired in the database.
func (n *nodeState) holds(job string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, ok := n.renewed[job]
	return ok && time.Since(t) < n.ttl*3/4
}

// sessionListener is one listener of a session protocol, which a drain
// closes and an undrain opens again.
type sessionListener struct {
	name, addr string
	srv        io.Closer
	listen     func() (net.Listener, error)
	serve      func(net.Listener) error
	ln         net.Listener // nil while drained
}

// serveSession opens a session listener and serves it.
func (s *server) serveSession(name, addr string, srv io.Closer, listen func() (net.Listener, error), serve func(net.Listener) error) error {
	sl := &sessionListener{name: name, addr: addr, srv: srv, listen: listen, serve: serve}
	if err := s.startSession(sl); err != nil {
		return err
	}
	s.mu.Lock()
	s.sessions = append(s.sessions, sl)
	found := false
	for _, c := range s.closers {
		found = found || c == srv
	}
	if !found {
		s.closers = append(s.closers, srv)
	}
	s.mu.Unlock()
	fmt.Fprintf(s.o.Stdout, "listening: %-16s %s\n", name, addr)
	s.log.Info("listening", "service", name, "addr", addr)
	return nil
}

func (s *server) startSession(sl *sessionListener) error {
	ln, err := sl.listen()
	if err != nil {
		return err
	}
	s.mu.Lock()
	sl.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := sl.serve(ln); err != nil {
			s.mu.Lock()
			drained := sl.ln != ln
			s.mu.Unlock()
			if !drained {
				s.log.Error("listener failed", "service", sl.name, "err", err)
			}
		}
	}()
	return nil
}

// nodeLoop beats the heart of this node until ctx ends, then gives up its
// leases so that another node takes the jobs over at once.
func (s *server) nodeLoop(ctx context.Context) {
	defer s.wg.Done()
	interval := time.Duration(s.cfg.Load().NodeHeartbeat) * time.Second
	s.node.mu.Lock()
	s.node.ttl = 4 * interval
	s.node.renewed = map[string]time.Time{}
	s.node.instance = rand.Text()
	s.node.mu.Unlock()
	sys := store.SystemContext(ctx)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.beat(sys)
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(store.SystemContext(context.Background()), 5*time.Second)
			if err := s.db.ReleaseLeases(rctx, s.node.name); err != nil {
				s.log.Warn("leases not released", "err", err)
			}
			cancel()
			return
		case <-t.C:
		}
	}
}

// beat is one heartbeat: register, follow the draining flag, renew leases.
func (s *server) beat(ctx context.Context) {
	c := s.cfg.Load()
	draining, err := s.db.Heartbeat(ctx, store.Node{Name: s.node.name, Address: c.NodeAddr(), Roles: registryRoles(c), Endpoints: endpoints(c),
		PublicURL: c.NodePublicURL(), ProxyURL: strings.TrimSuffix(c.ProxyURL, "/"),
		Version: s.o.Version, Started: s.started, Instance: s.node.instance}, s.node.ttl)
	if err != nil {
		if ctx.Err() == nil {
			// A name clash (ErrConflict) is an error of the configuration;
			// this process takes no leases until the other one is gone.
			s.log.Error("node heartbeat failed", "node", s.node.name, "err", err)
		}
		return
	}
	if draining && !s.node.draining.Load() {
		s.drain(ctx)
	} else if !draining && s.node.draining.Load() {
		s.undrain()
	}
	if draining || !(c.HasRole("jobs") || c.HasRole("all")) {
		return
	}
	for _, job := range leaseJobs {
		ok, err := s.db.AcquireLease(ctx, job, s.node.name, s.node.ttl)
		s.node.mu.Lock()
		switch {
		case err != nil:
			s.log.Warn("lease not renewed", "job", job, "err", err)
		case ok:
			if _, had := s.node.renewed[job]; !had {
				s.log.Info("took the lease of a job", "job", job, "node", s.node.name)
			}
			s.node.renewed[job] = time.Now()
		default:
			delete(s.node.renewed, job)
		}
		s.node.mu.Unlock()
	}
}

// drain stops accepting sessions, gives up the leases and, after
// drain_grace, ends the open sessions.
func (s *server) drain(ctx context.Context) {
	s.node.draining.Store(true)
	grace := time.Duration(s.cfg.Load().DrainGrace) * time.Second
	s.log.Info("draining: no new sessions; open ones end after the grace period", "node", s.node.name, "grace", grace)
	s.mu.Lock()
	for _, sl := range s.sessions {
		if sl.ln != nil {
			sl.ln.Close()
			sl.ln = nil
		}
	}
	s.mu.Unlock()
	s.node.mu.Lock()
	clear(s.node.renewed)
	s.node.grace = time.AfterFunc(grace, s.endSessions)
	s.node.mu.Unlock()
	if err := s.db.ReleaseLeases(ctx, s.node.name); err != nil {
		s.log.Warn("leases not released", "err", err)
	}
}

// endSessions closes the session servers at the end of a drain's grace
// period: IMAP sessions get BYE, SMTP and LMTP sessions 421.
func (s *server) endSessions() {
	s.node.mu.Lock()
	if !s.node.draining.Load() || s.node.closed {
		s.node.mu.Unlock()
		return
	}
	s.node.closed = true
	s.node.mu.Unlock()
	s.mu.Lock()
	var srvs []io.Closer
	for _, sl := range s.sessions {
		found := false
		for _, c := range srvs {
			found = found || c == sl.srv
		}
		if !found {
			srvs = append(srvs, sl.srv)
		}
	}
	s.mu.Unlock()
	s.log.Info("drain grace period over: ending open sessions", "node", s.node.name)
	for _, c := range srvs {
		c.Close()
	}
}

// undrain accepts sessions again: with the servers of before when the
// grace period was not over, with new ones otherwise.
func (s *server) undrain() {
	s.node.mu.Lock()
	if s.node.grace != nil {
		s.node.grace.Stop()
	}
	closed := s.node.closed
	s.node.closed = false
	s.node.draining.Store(false)
	s.node.mu.Unlock()
	s.log.Info("undrained: accepting sessions again", "node", s.node.name)
	if closed {
		s.mu.Lock()
		s.sessions = nil
		s.mu.Unlock()
		if err := s.openSessions(s.cfg.Load()); err != nil {
			s.log.Error("undrain: listeners not opened", "err", err)
		}
		return
	}
	s.mu.Lock()
	sessions := append([]*sessionListener(nil), s.sessions...)
	s.mu.Unlock()
	for _, sl := range sessions {
		if err := s.startSession(sl); err != nil {
			s.log.Error("undrain: listener not opened", "service", sl.name, "err", err)
		}
	}
}

// readyz answers load balancers: 200 when the node takes new sessions,
// 503 while it drains or cannot reach its database.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	status, code := "ready", http.StatusOK
	if s.node.draining.Load() {
		status, code = "draining", http.StatusServiceUnavailable
	} else {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.db.Ping(ctx); err != nil {
			s.log.Warn("readyz: database unreachable", "err", err)
			status, code = "database unreachable", http.StatusServiceUnavailable
		}
	}
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"status":%q,"node":%q}`+"\n", status, s.node.name)
}
