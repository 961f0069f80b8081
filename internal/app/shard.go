package app

// The sharded multi-server mode (docs/cluster.md, Sharded mode): a
// backend registers the addresses frontends proxy to (its endpoints in
// the node registry) and accepts logins proxied by registered frontends;
// a frontend routes each authenticated session to the user's home node.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/pop3server"
	"github.com/roost-mail/roost/internal/sieveserver"
	"github.com/roost-mail/roost/internal/smtpserver"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// shardState is what the sharded mode needs at run time.
type shardState struct {
	secret []byte // shard_secret_file; nil when not sharded or mutual TLS only
	// cas is ssl_ca_file (nil when unset): a client certificate that
	// chains to it is the service identity (mtls.go).
	cas *x509.CertPool
	// client is what a frontend dials backends with: its client
	// certificate (ssl_client_certificate_file) and cas as the roots of
	// the backends' server certificates; nil when not configured.
	client *tls.Config

	// The node registry as last read, for at most one heartbeat interval:
	// routing a login or a recipient costs no query of its own.
	mu    sync.Mutex
	nodes []*store.Node
	read  time.Time
}

// registry returns the node registry, read at most one heartbeat
// interval ago unless fresh is set.
func (s *server) registry(ctx context.Context, fresh bool) ([]*store.Node, error) {
	s.shard.mu.Lock()
	defer s.shard.mu.Unlock()
	if !fresh && s.shard.nodes != nil && time.Since(s.shard.read) < time.Duration(s.cfg.Load().NodeHeartbeat)*time.Second {
		return s.shard.nodes, nil
	}
	nodes, err := s.db.Nodes(store.SystemContext(ctx))
	if err != nil {
		return nil, err
	}
	s.shard.nodes, s.shard.read = nodes, time.Now()
	return nodes, nil
}

// minShardSecret is the shortest shard secret accepted.
const minShardSecret = 32

// loadShard reads ssl_ca_file, the client certificate and the shard
// secret.
func (s *server) loadShard(cfg *config.Config) error {
	if err := s.loadServiceTLS(cfg); err != nil { // mtls.go
		return err
	}
	if len(cfg.NodeRoles) == 0 || cfg.ShardSecretFile == "" {
		// Without a secret the validation made sure of mutual TLS.
		return nil
	}
	b, err := os.ReadFile(cfg.ShardSecretFile)
	if err != nil {
		return fmt.Errorf("shard_secret_file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSpace(line)
	if len(line) < minShardSecret {
		return fmt.Errorf("shard_secret_file %s: the secret has %d characters, want at least %d", cfg.ShardSecretFile, len(line), minShardSecret)
	}
	s.shard.secret = []byte(line)
	return nil
}

// shardProtocols are the listeners a backend registers as endpoints.
// ("https" is where frontends send HTTP under mutual TLS, shardhttp.go).
var shardProtocols = []string{"imap", "pop3", "lmtp", "http", "https", "managesieve"}

// endpoints are the proxy targets this node registers: its plain-text
// listeners, with an unspecified host replaced by node_address.
func endpoints(cfg *config.Config) map[string]string {
	if !cfg.IsBackend() {
		return nil
	}
	m := map[string]string{}
	for _, p := range shardProtocols {
		role := p
		if p == "https" {
			role = "http"
		}
		if !cfg.HasRole(role) {
			continue
		}
		addr := cfg.Listener(p)
		host, port, err := net.SplitHostPort(addr)
		if addr == "" || err != nil {
			continue
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = cfg.NodeAddr()
		}
		m[p] = net.JoinHostPort(host, port)
	}
	return m
}

// registryRoles are the roles this node registers: its services and its
// roles in the sharded mode.
func registryRoles(cfg *config.Config) []string {
	return append(slices.Clone(cfg.Roles), cfg.NodeRoles...)
}

// homeEndpoint names where a session of p for proto goes: "" to serve it
// here (no home node, or this one), else the home node's endpoint. A home
// node that is not registered, has died or has no such endpoint is an
// error: the client gets a temporary failure, not another node's view.
func (s *server) homeEndpoint(ctx context.Context, p *store.Principal, proto string) (string, error) {
	_, addr, err := s.homeNodeEndpoint(ctx, p, proto)
	return addr, err
}

// homeNodeEndpoint is homeEndpoint that also names the home node.
func (s *server) homeNodeEndpoint(ctx context.Context, p *store.Principal, proto string) (home, addr string, err error) {
	sys := store.SystemContext(ctx)
	u, err := s.db.GetUser(sys, p.Login)
	if err != nil {
		return "", "", fmt.Errorf("home node of %s: %w", p.Login, err)
	}
	if home, err = s.homeNode(ctx, u); err != nil {
		return "", "", err
	}
	addr, err = s.endpointOf(ctx, p.Login, home, proto)
	return home, addr, err
}

// homeNode is u's home node: its own, or else its tenant's
// (store.Tenant.HomeNode); "" for none.
func (s *server) homeNode(ctx context.Context, u *store.User) (string, error) {
	if u.HomeNode != "" {
		return u.HomeNode, nil
	}
	t, err := s.db.GetTenant(store.SystemContext(ctx), u.Tenant)
	if err != nil {
		return "", fmt.Errorf("home node of tenant %s: %w", u.Tenant, err)
	}
	return t.HomeNode, nil
}

// endpointOf is homeEndpoint for a user whose home node is home.
func (s *server) endpointOf(ctx context.Context, login, home, proto string) (string, error) {
	if home == "" || home == s.node.name {
		return "", nil
	}
	nodes, err := s.registry(ctx, false)
	if err != nil {
		return "", fmt.Errorf("home node of %s: %w", login, err)
	}
	if !slices.ContainsFunc(nodes, func(n *store.Node) bool { return n.Name == home }) {
		// A node the cached registry does not name yet (the target of a
		// store move that registered after the last read): read again.
		if nodes, err = s.registry(ctx, true); err != nil {
			return "", fmt.Errorf("home node of %s: %w", login, err)
		}
	}
	// A home node whose heartbeat is late is still tried: under load a
	// heartbeat can lag, and a node that is really down refuses the
	// connection at once (a temporary failure for the client either way).
	for _, n := range nodes {
		if n.Name != home {
			continue
		}
		if !slices.Contains(n.Roles, "backend") {
			return "", fmt.Errorf("home node %s of %s does not have the backend role", home, login)
		}
		addr := n.Endpoints[proto]
		if addr == "" {
			return "", fmt.Errorf("home node %s of %s registers no %s endpoint", home, login, proto)
		}
		return addr, nil
	}
	return "", fmt.Errorf("home node %q of %s is not in the node registry", home, login)
}

// fromFrontend checks that a proxied login comes from a live node
// registered with the frontend role: the shard secret alone is not
// enough, the connection must come from a frontend's node_address.
func (s *server) fromFrontend(ctx context.Context, frontend net.Addr) error {
	host, _, err := net.SplitHostPort(frontend.String())
	if err != nil {
		return fmt.Errorf("frontend address %s: %v: %w", frontend, err, errNotFrontend)
	}
	// A frontend gone for longer than a minute (and four heartbeats) no
	// longer vouches for its address; a late heartbeat under load does
	// not lock a live frontend out.
	stale := max(4*time.Duration(s.cfg.Load().NodeHeartbeat)*time.Second, time.Minute)
	for _, fresh := range []bool{false, true} { // a frontend that just started: read again
		nodes, err := s.registry(ctx, fresh)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if sameHost(n.Address, host) && slices.Contains(n.Roles, "frontend") && n.Age <= stale {
				return nil
			}
		}
	}
	return fmt.Errorf("proxied login from %s: %w", host, errNotFrontend)
}

// isFrontendIP reports whether ip is the address of a live frontend in
// the registry as last read (no fresh read per connection: a stranger's
// connections cost no database query beyond the cache's once per
// heartbeat). Such connections are not held to the per-address limit.
func (s *server) isFrontendIP(ip string) bool {
	if ip == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nodes, err := s.registry(ctx, false)
	if err != nil {
		return false
	}
	stale := max(4*time.Duration(s.cfg.Load().NodeHeartbeat)*time.Second, time.Minute)
	for _, n := range nodes {
		if sameHost(n.Address, ip) && slices.Contains(n.Roles, "frontend") && n.Age <= stale {
			return true
		}
	}
	return false
}

// sameHost compares a registered node_address with a connection's host:
// as IP addresses when both are ("2001:DB8::1" is "2001:db8::1",
// "::ffff:10.0.0.1" is "10.0.0.1"), else as strings.
func sameHost(registered, host string) bool {
	a, b := net.ParseIP(registered), net.ParseIP(host)
	if a != nil && b != nil {
		return a.Equal(b)
	}
	return registered == host
}

// errNotFrontend is fromFrontend's refusal (any other error of it is the
// registry's, a temporary failure).
var errNotFrontend = errors.New("no live node with the frontend role has this address")

// proxyDialer connects to backends from node_address, the address
// backends know this frontend by.
func proxyDialer(cfg *config.Config) *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if ip := net.ParseIP(cfg.NodeAddr()); ip != nil && !ip.IsUnspecified() {
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return d
}

// shardIMAP makes the IMAP server a frontend, a backend or both.
func (s *server) shardIMAP(cfg *config.Config, o *imapserver.Options) {
	if len(cfg.NodeRoles) == 0 {
		return
	}
	o.ProxySecret = s.shard.secret
	o.Watch = s.watchHome // move.go
	if cfg.IsFrontend() {
		d := proxyDialer(cfg)
		o.ProxyDial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
		o.Route = func(ctx context.Context, p *store.Principal) (string, error) { return s.homeEndpoint(ctx, p, "imap") }
		o.ProxyTLS = s.shard.client
	}
	if cfg.IsBackend() {
		o.ProxyLogin = s.proxyLogin("imap")
		o.ProxyPeer = s.isFrontendIP
		if s.shard.cas != nil {
			o.ProxyClientCAs, o.TLS = s.shard.cas, requestClientCerts(o.TLS)
		}
	}
}

// shardLMTP makes the LMTP server of a frontend relay each recipient to
// its home backend. A recipient whose users (a group's members) have
// different home nodes is delivered here: every node writes to every
// store, and one delivery keeps the group's one reply.
func (s *server) shardLMTP(cfg *config.Config, o *smtpserver.Options) {
	if !cfg.IsFrontend() {
		return
	}
	d := proxyDialer(cfg)
	o.Dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	o.RelayTLS = s.shard.client
	o.Route = func(ctx context.Context, users []*store.User) (string, error) {
		if len(users) == 0 {
			return "", nil
		}
		home, err := s.homeNode(ctx, users[0])
		if err != nil {
			return "", err
		}
		for _, u := range users[1:] {
			if h, err := s.homeNode(ctx, u); err != nil {
				return "", err
			} else if h != home {
				return "", nil
			}
		}
		return s.endpointOf(ctx, users[0].Login, home, "lmtp")
	}
}

// shardPOP3 is shardIMAP for POP3.
func (s *server) shardPOP3(cfg *config.Config, o *pop3server.Options) {
	if len(cfg.NodeRoles) == 0 {
		return
	}
	o.ProxySecret = s.shard.secret
	o.Watch = s.watchHome // move.go
	if cfg.IsFrontend() {
		d := proxyDialer(cfg)
		o.ProxyDial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
		o.Route = func(ctx context.Context, p *store.Principal) (string, error) { return s.homeEndpoint(ctx, p, "pop3") }
		o.ProxyTLS = s.shard.client
	}
	if cfg.IsBackend() {
		o.ProxyLogin = s.proxyLogin("pop3")
		o.ProxyPeer = s.isFrontendIP
		if s.shard.cas != nil {
			o.ProxyClientCAs, o.TLS = s.shard.cas, requestClientCerts(o.TLS)
		}
	}
}

// shardSieve is shardIMAP for ManageSieve. The feature checked for a
// proxied login is none, as for a direct ManageSieve login.
func (s *server) shardSieve(cfg *config.Config, o *sieveserver.Options) {
	if len(cfg.NodeRoles) == 0 {
		return
	}
	o.ProxySecret = s.shard.secret
	o.Watch = s.watchHome // move.go
	if cfg.IsFrontend() {
		d := proxyDialer(cfg)
		o.ProxyDial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
		o.Route = func(ctx context.Context, p *store.Principal) (string, error) {
			return s.homeEndpoint(ctx, p, "managesieve")
		}
		o.ProxyTLS = s.shard.client
	}
	if cfg.IsBackend() {
		login := s.proxyLogin("")
		o.ProxyLogin = func(ctx context.Context, user string, frontend, remote net.Addr) (*store.Principal, error) {
			return login(directory.WithAuthInfo(ctx, "managesieve", ""), user, frontend, remote)
		}
		o.ProxyPeer = s.isFrontendIP
		if s.shard.cas != nil {
			o.ProxyClientCAs, o.TLS = s.shard.cas, requestClientCerts(o.TLS)
		}
	}
}

// proxyLogin admits a login a registered frontend proxies, for feature.
func (s *server) proxyLogin(feature string) func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error) {
	return func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error) {
		if s.shard.cas != nil {
			// The server verified the frontend's client certificate
			// (ProxyClientCAs): the service identity, wherever the
			// frontend connects from.
			return s.homeFence(ctx, login, remote, feature)
		}
		if err := s.fromFrontend(ctx, frontend); err != nil {
			if !errors.Is(err, errNotFrontend) {
				// The registry could not be read: a temporary failure,
				// not a refused (and throttled) login.
				return nil, fmt.Errorf("proxied login of %s: %w", login, err)
			}
			s.log.Warn("proxied login refused", "user", login, "err", err)
			return nil, directory.ErrBadCredentials
		}
		return s.homeFence(ctx, login, remote, feature)
	}
}

// homeFence admits a proxied login only while this node is the user's
// home: a frontend that routed the login just before a store move
// switched the home node gets a temporary failure and routes again.
func (s *server) homeFence(ctx context.Context, login string, remote net.Addr, feature string) (*store.Principal, error) {
	p, err := s.authn.ProxyLogin(ctx, login, remote, feature)
	if err != nil {
		return nil, err
	}
	u, err := s.db.GetUser(store.SystemContext(ctx), p.Login)
	if err != nil {
		return nil, fmt.Errorf("proxied login of %s: %w", login, err)
	}
	home, err := s.homeNode(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("proxied login of %s: %w", login, err)
	}
	if home != "" && home != s.node.name {
		return nil, fmt.Errorf("proxied login of %s: its home node is %s now, not this node", login, home)
	}
	return p, nil
}
