package adminapi

import (
	"net/http"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// Node is a node of the cluster (GET /v1/nodes).
type Node struct {
	Name      string    `json:"name"`
	Address   string    `json:"address"`
	Roles     []string  `json:"roles"`
	Version   string    `json:"version"`
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"last_heartbeat"`
	// HeartbeatAge is the heartbeat's age in the database's clock, which
	// every node shares (a reader's own clock may be off).
	HeartbeatAge float64  `json:"heartbeat_age_seconds"`
	Draining     bool     `json:"draining"`
	Leases       []string `json:"leases"`
	// PublicURL and ProxyURL are the node's URLs for HTTP clients, direct
	// and through the reverse proxy (public_url, proxy_url); "" for none.
	PublicURL string `json:"public_url"`
	ProxyURL  string `json:"proxy_url"`
}

func (s *Server) cluster() (store.Cluster, error) {
	if s.o.Cluster == nil {
		return nil, errorf(http.StatusNotImplemented, "this server keeps no node registry")
	}
	return s.o.Cluster, nil
}

func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) error {
	c, err := s.cluster()
	if err != nil {
		return err
	}
	ns, err := c.Nodes(r.Context())
	if err != nil {
		return err
	}
	out := make([]Node, 0, len(ns))
	for _, n := range ns {
		v := Node{Name: n.Name, Address: n.Address, Roles: n.Roles, Version: n.Version, Started: n.Started,
			Heartbeat: n.Heartbeat, HeartbeatAge: n.Age.Seconds(), Draining: n.Draining, Leases: n.Leases,
			PublicURL: n.PublicURL, ProxyURL: n.ProxyURL}
		if v.Roles == nil {
			v.Roles = []string{}
		}
		if v.Leases == nil {
			v.Leases = []string{}
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) drainNode(w http.ResponseWriter, r *http.Request) error {
	return s.setDraining(w, r, true)
}

func (s *Server) undrainNode(w http.ResponseWriter, r *http.Request) error {
	return s.setDraining(w, r, false)
}

func (s *Server) setDraining(w http.ResponseWriter, r *http.Request, on bool) error {
	c, err := s.cluster()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := c.SetDraining(r.Context(), name, on); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "draining": on})
	return nil
}

// StoreMove is the body of POST /v1/users/{login}/move.
type StoreMove struct {
	To string `json:"to"`
}

// MoveResult is its reply: what store.Cluster.MoveHome did and how long
// the switch took.
type MoveResult struct {
	store.Move
	Seconds float64 `json:"seconds"`
}

// moveStore moves a user's home node (the sharded mode's online store
// move, docs/cluster.md): system administrators only (the store checks).
// A target that is unknown (404), not a backend, draining or dead (400)
// is refused before anything changes.
func (s *Server) moveStore(w http.ResponseWriter, r *http.Request) error {
	c, err := s.cluster()
	if err != nil {
		return err
	}
	var req StoreMove
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.To == "" {
		return badRequest("name the node to move to (to)")
	}
	stale := time.Minute
	if s.o.NodeStale != nil {
		stale = s.o.NodeStale()
	}
	start := time.Now()
	m, err := c.MoveHome(r.Context(), r.PathValue("login"), req.To, stale)
	if err != nil {
		return err
	}
	s.log.Info("store moved", "user", m.Login, "from", m.From, "to", m.To, "messages", m.Messages, "seq", m.Seq,
		"actor", store.PrincipalFrom(r.Context()).Login)
	writeJSON(w, http.StatusOK, MoveResult{Move: *m, Seconds: time.Since(start).Seconds()})
	return nil
}
