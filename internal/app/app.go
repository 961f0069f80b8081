// Package app is Roost's composition root: configuration → stores →
// services → listeners. It is the only package that names concrete
// backends (sqlstore, blob/fs); everything else sees interfaces.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/roost-mail/roost/internal/adminapi"
	"github.com/roost-mail/roost/internal/audit"
	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/backup"
	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/netserve"
	"github.com/roost-mail/roost/internal/oidc"
	"github.com/roost-mail/roost/internal/pop3server"
	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/search"
	"github.com/roost-mail/roost/internal/smtpserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// Options are what `roost serve` passes in.
type Options struct {
	ConfigPath string          // "" = built-in defaults
	DataDir    string          // overrides data_dir when set (--data)
	Stdout     io.Writer       // first-start banner and the list of listeners
	Stderr     io.Writer       // the log, when log_file is "-"
	Version    string          // shown by the admin API
	Reload     <-chan struct{} // a receive reloads the configuration (SIGHUP)
}

// server is one running Roost process.
type server struct {
	o       Options
	cfgPath string
	cfg     atomic.Pointer[config.Config]
	level   *slog.LevelVar
	log     *slog.Logger
	db      *sqlstore.DB
	events  *events.Hub
	queue   *queue.Queue // the outbound queue; its spooler runs with the jobs role
	admin   http.Handler // the admin API (role admin), also the web admin's (web.go)
	// syncDir is the directory of user_plugin = ldap or unix (nil with
	// db): the admin API's and the periodic directory sync.
	syncDir directory.Syncer
	metrics *opsMetrics // metrics.go
	audit   *audit.Log  // audit.go; nil: off
	logs    *logState   // log.go: log_file, log_levels
	started time.Time
	// blobUsage caches the blob directory's size for roost stats.
	blobUsage blobUsage
	// cert is the TLS certificate; it also signs Apple profiles.
	cert tls.Certificate

	// The pieces the session protocols are built from (openSessions).
	authn     *directory.Authenticator
	lmtpStore store.Backend
	del       *mail.Deliverer
	tlsConf   *tls.Config
	// node is this process in the cluster: registry, leases, drain
	// (cluster.go).
	node nodeState
	// shard is the sharded multi-server mode (shard.go).
	shard shardState
	// home ends the sessions of users moved to another node (move.go).
	home homeWatch

	mu       sync.Mutex
	sessions []*sessionListener // cluster.go
	servers  []*http.Server
	closers  []io.Closer
	wg       sync.WaitGroup

	// davOpens limits audit records of DAV access to shared folders.
	davOpens sharedOpens

	// indexer is the full-text indexer (search.go); nil when this
	// process does not run it.
	indexer atomic.Pointer[search.Indexer]
	// oidcLogin is the OIDC relying party's browser sign-in (oidc.go).
	oidcLogin *oidc.Login
	// oidcProvider is Roost's own OpenID provider (oidc.go).
	oidcProvider *oidc.Provider
}

// Run starts Roost and serves until ctx is cancelled, then shuts down
// gracefully: listeners stop accepting, requests in flight finish (up to
// a deadline), queued writes are committed, the database is closed.
func Run(ctx context.Context, o Options) error {
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	s := &server{o: o, level: new(slog.LevelVar), started: time.Now(), events: events.NewHub()}
	s.cfg.Store(cfg)
	s.level.Set(cfg.SlogLevel())
	if s.logs, s.log, err = openLogs(cfg, o.Stderr, s.level); err != nil { // log.go
		return err
	}
	if s.audit, err = audit.Open(cfg.AuditLogFile, s.log); err != nil {
		return err
	}
	defer s.audit.Close()

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := checkDataDir(cfg.DataDir, s.log); err != nil {
		return err
	}
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()

	blobs, err := s.openBlobs(ctx, cfg) // blobs.go
	if err != nil {
		return err
	}
	driver, dsn := cfg.DatabaseURL()
	onChange := s.onChange // search.go: change notifications and the indexer
	var learner *mail.Learner
	if lo := learnOptions(cfg); lo.Enabled() {
		// Spam learning follows every journal entry this node commits,
		// whichever protocol made it.
		learner = &mail.Learner{Opts: lo, Log: s.log.With("proto", "spam-learn")}
		onChange = func(storeID int64, seq uint64) {
			s.onChange(storeID, seq)
			learner.Notify(storeID, seq)
		}
	}
	s.db, err = sqlstore.Open(ctx, sqlstore.Options{Driver: driver, DSN: dsn, Blobs: blobs, Logger: s.log, Defaults: defaultsOf(cfg),
		OnChange: onChange})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer s.db.Close()
	s.node.name = cfg.NodeID()
	if err := s.loadShard(cfg); err != nil { // shard.go
		return err
	}
	// Commits of other nodes (PostgreSQL: LISTEN/NOTIFY) reach this hub
	// too; on SQLite this returns at once.
	listenCtx, stopListen := context.WithCancel(ctx)
	listenDone := make(chan struct{})
	go func() {
		defer close(listenDone)
		s.db.ListenChanges(listenCtx, sqlstore.ChangeListener{Publish: s.events.Publish, Stores: s.events.Stores,
			Synced: s.events.SetSynced})
	}()
	defer func() { stopListen(); <-listenDone }()
	s.metrics = newOpsMetrics(s)

	if err := s.bootstrap(ctx); err != nil {
		return err
	}
	cert, created, err := loadOrCreateCert(cfg.SSLCertificateFile, cfg.SSLPrivateKeyFile, filepath.Join(cfg.DataDir, "tls"), cfg.Hostname())
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(o.Stdout, "Created a self-signed TLS certificate in %s (set ssl_certificate_file for a real one)\n", filepath.Join(cfg.DataDir, "tls"))
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.cert = cert

	if err := s.listen(ctx, cfg, tlsConf); err != nil {
		s.shutdown()
		return err
	}
	fmt.Fprintf(o.Stdout, "Roost %s is running; data in %s (%s). Stop with Ctrl-C or SIGTERM.\n", o.Version, cfg.DataDir, driver)
	s.log.Info("roost started", "version", o.Version, "data", cfg.DataDir, "database", driver)

	s.wg.Add(1)
	go s.nodeLoop(ctx) // cluster.go
	if learner != nil {
		learner.Store = s.db
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			learner.Run(ctx)
		}()
	}
	if cfg.HasRole("jobs") || cfg.HasRole("all") {
		s.wg.Add(4)
		go s.purgeJob(ctx)
		go s.quotaJob(ctx, cfg)
		go s.archiveJob(ctx, cfg.ArchiveInterval) // archive.go
		go s.spoolJob(ctx, s.queue)
		if cfg.SearchIndex {
			s.startIndexer(ctx, cfg) // search.go
		}
		if s.syncDir != nil && cfg.LDAPSyncInterval > 0 {
			s.wg.Add(1)
			go s.directorySyncJob(ctx, time.Duration(cfg.LDAPSyncInterval)*time.Minute)
		}
	}
	for {
		select {
		case <-ctx.Done():
			s.log.Info("shutting down")
			s.shutdown()
			s.wg.Wait()
			return nil
		case <-o.Reload:
			s.reload()
		}
	}
}

func loadConfig(o Options) (*config.Config, error) {
	cfg, err := config.Load(o.ConfigPath)
	if err != nil {
		return nil, err
	}
	if o.DataDir != "" {
		cfg.DataDir = o.DataDir
	}
	return cfg, nil
}

func defaultsOf(c *config.Config) store.Defaults {
	return store.Defaults{
		Quota:      store.Quota{Warn: int64(c.QuotaWarn) * config.MB, Soft: int64(c.QuotaSoft) * config.MB, Hard: int64(c.QuotaHard) * config.MB},
		TenantWarn: int64(c.CompanyQuotaWarn) * config.MB,
		Locale:     c.DefaultStoreLocale,

		MaxMessages: int64(c.QuotaMessages),
	}
}

// reload re-reads the configuration file (SIGHUP). A file with problems is
// logged and ignored; keys that need a restart are named.
func (s *server) reload() {
	cur := s.cfg.Load()
	next, err := loadConfig(s.o)
	if err != nil {
		s.log.Error("configuration not reloaded", "err", err)
		return
	}
	applied, restart := config.Reload(cur, next)
	s.cfg.Store(applied)
	s.level.Set(applied.SlogLevel())
	if err := s.logs.reload(applied); err != nil {
		s.log.Error("log file not reopened", "err", err)
	}
	if err := s.audit.Reopen(); err != nil {
		s.log.Error("audit log not reopened", "err", err)
	}
	s.db.SetDefaults(defaultsOf(applied))
	if len(restart) > 0 {
		s.log.Warn("configuration reloaded; these keys need a restart to take effect", "keys", restart)
	} else {
		s.log.Info("configuration reloaded")
	}
}

// bootstrap creates, on first start, the default tenant and a system
// administrator whose password it writes to a file only the server's user
// can read, <data>/initial-admin-password, and names the file (standard
// output may end up in a service manager's journal).
func (s *server) bootstrap(ctx context.Context) error {
	sys := store.SystemContext(ctx)
	ts, err := s.db.ListTenants(sys)
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	if len(ts) > 0 {
		return nil
	}
	pw := auth.RandomPassword(20)
	hash, err := auth.HashPasswordWith(pw, argonParams(s.cfg.Load()))
	if err != nil {
		return err
	}
	// The file first: a start that cannot write it creates nothing.
	pwFile := filepath.Join(s.cfg.Load().DataDir, initialPasswordFile)
	if err := writePrivateFile(pwFile, []byte(pw+"\n")); err != nil {
		return fmt.Errorf("first start: write the administrator's password: %w", err)
	}
	if _, err := s.db.CreateTenant(sys, "default"); err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	if _, err := s.db.CreateUser(sys, "default", store.User{Login: "admin", FullName: "Administrator", Active: true,
		Admin: store.AdminSystem, PasswordHash: hash}); err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	fmt.Fprintf(s.o.Stdout, "First start: created the system administrator %q; its password is in %s (readable only by this user)\n", "admin", pwFile)
	fmt.Fprintf(s.o.Stdout, "  (change it with: roost admin user update admin --password-stdin, then delete the file)\n")
	s.log.Info("first start: created default tenant and administrator", "password_file", pwFile)
	return nil
}

// argonParams are the password_argon2_* keys (validated to fit).
func argonParams(c *config.Config) auth.Params {
	return auth.Params{Memory: uint32(c.PasswordArgon2Memory), Time: uint32(c.PasswordArgon2Time),
		Threads: uint8(c.PasswordArgon2Threads)}
}

// lockDataDir makes sure one process at a time uses a data directory.
func lockDataDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "roost.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory %s is in use by another roost process", dir)
	}
	return func() { f.Close() }, nil
}

// listen opens every listener of the running roles and prints it.
func (s *server) listen(ctx context.Context, cfg *config.Config, tlsConf *tls.Config) error {
	// One authenticator for every protocol: one throttle, one bound on
	// password checks running at once.
	// The credential cache is shared by every protocol too (auth_cache_*).
	authn := &directory.Authenticator{Store: s.db, Throttle: &auth.Throttle{}, Log: s.log.With("proto", "auth"),
		DisabledFeatures: func() []string { return s.cfg.Load().DisabledFeatures },
		Cache:            auth.NewCredCache(cfg.AuthCacheSize, time.Duration(cfg.AuthCacheTTL)*time.Second),
		Params:           func() auth.Params { return argonParams(s.cfg.Load()) },
		Observe:          s.observeAuth}
	if err := useKerberos(cfg, authn); err != nil {
		return err
	}
	lmtpStore, err := s.useDirectory(cfg, authn)
	if err != nil {
		return err
	}
	s.oidcProvider = s.newOIDCProvider(cfg, authn)
	if s.oidcLogin, err = s.useOIDC(cfg, authn); err != nil {
		return err
	}
	// One delivery pipeline for LMTP, `roost deliver`, the admin API and
	// local recipients of the outbound queue; the queue sends what the
	// pipeline answers (Sieve, out-of-office) and iMIP for CalDAV.
	del, err := newDeliverer(cfg, lmtpStore, s.log, nil)
	if err != nil {
		return err
	}
	del.Archiver = s.newArchiver() // archive on delivery: only its store is used
	del.ArchiveOnDelivery = func() bool { return s.cfg.Load().ArchiveOnDelivery }
	q := s.newQueue(cfg, del)
	del.Outbound = q
	del.Observe = s.metrics.delivered(s.cfg.Load)
	imip := imipSender{q: q, host: cfg.Hostname()}
	del.Resource = imipHook{sched: newScheduler(s, imip)}
	s.queue = q
	openAdminSocket := func() error { return nil }
	if cfg.HasRole("admin") {
		api := adminapi.New(s.db, adminapi.Options{Logger: s.log.With("proto", "admin"), Version: s.o.Version, Authenticator: authn,
			LoginFormat:      func() string { return s.cfg.Load().LoginnameFormat },
			DisabledFeatures: func() []string { return s.cfg.Load().DisabledFeatures },
			MaxMessageBytes:  func() int64 { return s.cfg.Load().MaxMessageBytes() },
			PasswordParams:   func() auth.Params { return argonParams(s.cfg.Load()) },
			Deliverer:        del,
			Onboard:          s.onboarding(), Certificate: func() tls.Certificate { return s.cert },
			Runtime: s.runtimeStats, Cluster: s.db,
			NodeStale: func() time.Duration { return 4 * time.Duration(s.cfg.Load().NodeHeartbeat) * time.Second }, Directory: s.syncer(), Archiver: s.newArchiver,
			BackupS3:      func() backup.S3Config { return backupS3(s.cfg.Load(), s.log) },
			SearchEnabled: func() bool { return s.cfg.Load().SearchIndex },
			OnReindex: func() {
				if ix := s.indexer.Load(); ix != nil {
					ix.Notify(0, 0)
				}
			}})
		s.admin = api
		path := cfg.AdminSocket()
		// The socket also serves Go's profiler (/debug/pprof/) to whoever
		// may use the socket, the system administrator: `curl --unix-socket
		// DATA/admin.sock http://roost/debug/pprof/profile?seconds=30`.
		sock := http.NewServeMux()
		sock.Handle("/", s.auditAdmin(api, "admin socket"))
		sock.Handle("GET /metrics", s.metrics.reg.Handler())
		sock.HandleFunc("/debug/pprof/", pprof.Index)
		sock.HandleFunc("/debug/pprof/profile", pprof.Profile)
		sock.HandleFunc("/debug/pprof/trace", pprof.Trace)
		sock.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		// The socket opens last (below): once it answers, every listener
		// of this node is open, so scripts and tests that wait for it can
		// go on to the protocols at once.
		openAdminSocket = func() error {
			ln, err := listenUnix(path)
			if err != nil {
				return fmt.Errorf("admin_socket: %w", err)
			}
			s.serve(ln, nil, systemOnly(sock), "admin api", "unix:"+path)
			return nil
		}
		if addr := cfg.Listener("admin"); addr != "" {
			ac := tlsConf.Clone()
			if s.shard.cas != nil {
				ac.ClientCAs, ac.ClientAuth = s.shard.cas, tls.VerifyClientCertIfGiven
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("admin_listen: %w", err)
			}
			s.serve(ln, ac, adminAuth(s.auditAdmin(api, "password"), authn, s.log), "admin api (TLS)", addr)
		}
	}
	if err := s.listenMetrics(cfg); err != nil {
		return err
	}
	s.authn, s.lmtpStore, s.del, s.tlsConf = authn, lmtpStore, del, tlsConf
	if err := s.openSessions(cfg); err != nil {
		return err
	}
	if cfg.HasRole("http") {
		h := s.httpHandler(cfg, authn, imip)
		if addr := cfg.Listener("http"); addr != "" {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("http_listen: %w", err)
			}
			s.serve(s.proxyProtocol(ln), nil, h, "http", addr)
		}
		if addr := cfg.Listener("https"); addr != "" {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("https_listen: %w", err)
			}
			conf := tlsConf
			if cfg.IsBackend() && s.shard.cas != nil {
				// A frontend's client certificate is its proxy identity
				// (shardhttp.go); browsers are not required to have one.
				conf = requestClientCerts(conf)
			}
			s.serve(s.proxyProtocol(ln), conf, h, "https", addr)
		}
	}
	return openAdminSocket()
}

// openSessions opens the listeners of the session protocols (IMAP, POP3,
// LMTP, submission, ManageSieve) with new servers: at start, and when a
// node that was drained is undrained (cluster.go).
func (s *server) openSessions(cfg *config.Config) error {
	if cfg.HasRole("imap") {
		o := imapserver.Options{Store: s.db, Events: s.events, Logger: s.log, TLS: s.tlsConf,
			Hostname: cfg.Hostname(), AllowPlaintextAuth: cfg.AllowPlaintextAuth,
			Limits: imap.Limits{MaxLine: cfg.MaxLineLength}, MaxMessageBytes: cfg.MaxMessageBytes(),
			SearchIndex:         cfg.SearchIndex,
			MaxConnectionsPerIP: cfg.MaxConnectionsPerIP, MaxConnectionsPerUser: cfg.MaxConnectionsPerUser,
			Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
				return s.authn.Authenticate(ctx, login, pw, remote, "imap")
			}, VerifyToken: saslBearer(cfg, s.authn, "imap"), GSSAPI: saslGSSAPI(s.authn, "imap"), OnCommand: s.metrics.imapCommand,
			OnSharedOpen: func(ctx context.Context, f *store.Folder, rights, how string) {
				s.auditOpen(ctx, "imap", f, rights, how)
			}}
		s.shardIMAP(cfg, &o)
		srv := imapserver.New(o)
		s.setSessionServers(srv, nil) // move.go
		if err := s.serveTCP(cfg.Listener("imap"), "imap", srv, false, srv.Serve); err != nil {
			return err
		}
		if err := s.serveTCP(cfg.Listener("imaps"), "imaps", srv, true, srv.Serve); err != nil {
			return err
		}
	}
	if cfg.HasRole("pop3") {
		po := pop3server.Options{Store: s.db, Logger: s.log, TLS: s.tlsConf, Hostname: cfg.Hostname(),
			AllowPlaintextAuth: cfg.AllowPlaintextAuth, MaxConnectionsPerIP: cfg.MaxConnectionsPerIP,
			Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
				return s.authn.Authenticate(ctx, login, pw, remote, "pop3")
			}, VerifyToken: saslBearer(cfg, s.authn, "pop3"), GSSAPI: saslGSSAPI(s.authn, "pop3"), OnCommand: s.metrics.verbCommand("pop3", pop3Verbs)}
		s.shardPOP3(cfg, &po) // shard.go
		srv := pop3server.New(po)
		s.setSessionServers(nil, srv)
		if err := s.serveTCP(cfg.Listener("pop3"), "pop3", srv, false, srv.Serve); err != nil {
			return err
		}
		if err := s.serveTCP(cfg.Listener("pop3s"), "pop3s", srv, true, srv.Serve); err != nil {
			return err
		}
	}
	if cfg.HasRole("lmtp") {
		lo := smtpserver.Options{Store: s.lmtpStore, Logger: s.log, Hostname: cfg.Hostname(),
			MaxMessageBytes: cfg.MaxMessageBytes(), SpoolDir: filepath.Join(cfg.DataDir, "spool"), Deliverer: s.del,
			QuotaTempFail: cfg.QuotaHardTempfail, OnCommand: s.metrics.verbCommand("lmtp", smtpVerbs)}
		s.shardLMTP(cfg, &lo) // shard.go
		s.lmtpTLS(cfg, &lo)   // mtls.go
		srv := smtpserver.NewLMTP(lo)
		if err := os.MkdirAll(filepath.Join(cfg.DataDir, "spool"), 0o700); err != nil {
			return err
		}
		if err := s.serveTCP(cfg.Listener("lmtp"), "lmtp", srv, false, srv.Serve); err != nil {
			return err
		}
		// The socket itself is open to all; who may reach it is decided by
		// the directory it is in (data_dir is private: point lmtp_socket
		// at a directory your MTA can enter).
		if err := s.serveSession("lmtp", "unix:"+cfg.LMTPSocket(), srv, func() (net.Listener, error) {
			ln, err := listenUnixMode(cfg.LMTPSocket(), 0o111)
			if err != nil {
				return nil, fmt.Errorf("lmtp_socket: %w", err)
			}
			return ln, nil
		}, func(ln net.Listener) error { return srv.Serve(ln, false) }); err != nil {
			return err
		}
	}
	if cfg.HasRole("submission") {
		if err := s.listenSubmission(cfg, s.queue, s.tlsConf, s.authn); err != nil {
			return err
		}
	}
	if cfg.HasRole("managesieve") {
		if err := s.listenManageSieve(cfg, s.tlsConf, s.authn); err != nil {
			return err
		}
	}
	return nil
}

// listenUnix listens on a unix socket, replacing a stale socket file left
// by a process that died, but never one a live server answers on.
func listenUnix(path string) (net.Listener, error) {
	// Whoever can connect is the system administrator: owner only.
	return listenUnixMode(path, 0o177)
}

// listenUnixMode is listenUnix with the umask the socket is created with.
func listenUnixMode(path string, umask int) (net.Listener, error) {
	if _, err := os.Stat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another server is listening there", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	old := syscall.Umask(umask)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	return ln, nil
}

// serveTCP opens addr ("" = off) and runs a protocol server on it; the
// server is closed on shutdown, and its listener closed and opened again
// by a drain and undrain (cluster.go).
func (s *server) serveTCP(addr, name string, srv io.Closer, implicitTLS bool, serve func(net.Listener, bool) error) error {
	if addr == "" {
		return nil
	}
	return s.serveSession(name, addr, srv, func() (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s_listen: %w", name, err)
		}
		return s.metrics.countConns(s.proxyProtocol(ln), name), nil
	}, func(ln net.Listener) error { return serve(ln, implicitTLS) })
}

// proxyProtocol makes ln read the PROXY header of connections from the
// load balancers of proxy_protocol_trusted (netserve.ProxyProtocol).
func (s *server) proxyProtocol(ln net.Listener) net.Listener {
	var trusted []netip.Prefix
	for _, n := range s.cfg.Load().ProxyProtocolTrusted {
		if p, err := config.ParseNetwork(n); err == nil { // validated by config
			trusted = append(trusted, p)
		}
	}
	return netserve.ProxyProtocol(ln, trusted, s.log.With("proto", "proxy-protocol"))
}

// serve runs an HTTP server on ln, with TLS when tlsConf is set, behind
// the request smuggling guard (httpframe.go).
func (s *server) serve(ln net.Listener, tlsConf *tls.Config, h http.Handler, name, addr string) {
	ln = &frameListener{Listener: s.metrics.countConns(ln, name), tlsConf: tlsConf}
	srv := &http.Server{Handler: guardFraming(s.metrics.httpRequests(h, name)), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 5 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn), ConnContext: frameContext,
		// "OPTIONS *" must pass guardFraming too, to keep its count.
		DisableGeneralOptionsHandler: true}
	s.mu.Lock()
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	fmt.Fprintf(s.o.Stdout, "listening: %-16s %s\n", name, addr)
	s.log.Info("listening", "service", name, "addr", addr)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("listener failed", "service", name, "err", err)
		}
	}()
}

func (s *server) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.mu.Lock()
	servers, closers := s.servers, s.closers
	s.mu.Unlock()
	for _, c := range closers {
		c.Close()
	}
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			s.log.Warn("shutdown", "err", err)
			srv.Close()
		}
	}
}

// systemOnly marks every request as the system principal: for the admin
// socket, which only the owner of the data directory can open.
func systemOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(store.SystemContext(r.Context())))
	})
}

// adminAuth authenticates admin API requests over TLS: a verified client
// certificate is the system identity (Zarafa §6.1); otherwise HTTP Basic
// credentials of an active user with admin level 1 or 2, checked by the
// shared authenticator (throttling included).
func adminAuth(h http.Handler, authn *directory.Authenticator, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
			h.ServeHTTP(w, r.WithContext(store.SystemContext(r.Context())))
			return
		}
		refuse := func(code int, msg string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			io.WriteString(w, `{"error":"`+msg+`"}`+"\n")
		}
		if login, pw, ok := r.BasicAuth(); ok {
			p, err := authn.Authenticate(directory.WithAuthInfo(r.Context(), "admin", "basic"), login, pw, directory.RemoteAddr(r), "")
			if err == nil && p.Admin >= store.AdminTenant {
				h.ServeHTTP(w, r.WithContext(store.WithPrincipal(r.Context(), p)))
				return
			}
			if err != nil && !errors.Is(err, directory.ErrBadCredentials) && !errors.Is(err, directory.ErrInactive) && !errors.Is(err, directory.ErrFeature) {
				// Throttled, or the store or directory failed: not a
				// wrong password, and retrying at once does not help.
				if !errors.Is(err, directory.ErrThrottled) {
					log.Error("admin api login", "user", login, "remote", r.RemoteAddr, "err", err)
				}
				w.Header().Set("Retry-After", "60")
				refuse(http.StatusServiceUnavailable, "login temporarily refused (too many failed logins from this address, or the user directory is unavailable); try again later")
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="roost admin"`)
		refuse(http.StatusUnauthorized, "authentication required: an administrator's login, or a client certificate")
	})
}

func (s *server) httpHandler(cfg *config.Config, authn *directory.Authenticator, imip imipSender) http.Handler {
	mux := http.NewServeMux()
	webServer := s.mountWeb(mux, authn)           // web.go
	s.mountJMAP(mux, cfg, authn, imip, webServer) // jmap.go
	s.mountEAS(mux, authn, imip)                  // eas.go
	s.mountDAV(mux, cfg, authn, imip)
	s.mountOnboard(mux, authn)
	mux.HandleFunc("GET /readyz", s.readyz) // cluster.go
	mountOIDC(mux, s.oidcProvider, s.oidcLogin)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","version":%q,"uptime_seconds":%d}`+"\n", s.o.Version, int(time.Since(s.started).Seconds()))
	})
	if webServer == nil {
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "Roost %s is running.\nCalDAV and CardDAV: /dav/ (clients find it through /.well-known/caldav and /.well-known/carddav).\nThe web client is not built into this binary.\n", s.o.Version)
		})
	}
	return s.shardHTTP(cfg, authn, mux) // shardhttp.go
}

// purgeJob removes soft-deleted data older than softdelete_lifetime once
// an hour (Kopano §7.5); a lifetime of 0 disables it.
func (s *server) purgeJob(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		days := s.cfg.Load().SoftdeleteLifetime
		if days <= 0 || !s.node.holds(jobPurge) { // one node of a cluster purges
			continue
		}
		st, err := s.db.PurgeDeleted(store.SystemContext(ctx), time.Duration(days)*24*time.Hour)
		if err != nil {
			s.log.Error("soft-delete purge failed", "err", err)
			continue
		}
		s.log.Info("soft-delete purge", "items", st.Items, "folders", st.Folders, "stores", st.Stores, "blobs", st.Blobs)
	}
}
