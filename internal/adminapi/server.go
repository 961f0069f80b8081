// Package adminapi is Roost's administration API: JSON over HTTP under /v1,
// served on the admin unix socket (for `roost admin`) and optionally on a
// TLS listener (admin_listen).
//
// Invariants:
//   - The API never decides who may do what. The caller (internal/app)
//     authenticates each request and puts the principal into the request
//     context; every handler passes r.Context() to the store, which enforces
//     tenancy and admin levels. A request without a principal gets 401.
//   - Store errors are mapped to HTTP statuses in one place (fail):
//     ErrNotFound 404, ErrPermission 403, ErrConflict 409, ErrInvalid 400,
//     ErrOverQuota 507. Anything else is logged and answered with a generic
//     500. Every error body is {"error": "one line naming the problem"}.
//   - Tokens and app passwords are shown once, in the reply of the PUT
//     that creates them (the store keeps a hash); their names are in
//     the path, so the audit log names what was created or revoked.
//   - Password hashes never leave the server: passwords come in as clear
//     text in a request body, are hashed here (auth.HashPassword), and no
//     response carries a hash.
//   - Request bodies are bounded: JSON bodies by maxJSONBody, delivered
//     messages by Options.MaxMessageBytes (413 beyond).
//   - POST /v1/deliver answers only after AppendItem returned: the message
//     is durable when the client sees a 2xx. ?from=ADDR gives the envelope
//     sender (else the Return-Path field is used); a Sieve reject is 422.
//   - Calendar and contact imports (POST /v1/users/{login}/calendars|contacts/
//     {folder}/import) are bounded by MaxMessageBytes and never more than
//     64 MiB; a file is parsed and validated whole before anything is stored.
//   - No reply carries a DKIM private key: POST/GET /v1/domains/{d}/dkim
//     answer with the DNS record (public key) only.
//   - GET /v1/nodes lists the cluster's nodes; POST /v1/nodes/{name}/drain
//     and …/undrain set a node's draining flag in the registry, which the
//     node follows at its next heartbeat (system principal only: the
//     store refuses anyone else). POST /v1/users/{login}/move {"to":
//     NODE} switches a user's home node (a store move), also for the
//     system principal only.
//   - Sizes and quotas are bytes in responses and whole MB (config.MB, 2^20
//     bytes) in requests, as in kopano-admin and the configuration file.
package adminapi

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/backup"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/onboard"
	"github.com/roost-mail/roost/internal/store"
)

// Options configure a Server.
type Options struct {
	Logger *slog.Logger
	// LoginFormat returns the current loginname_format ("%u", "%u@%c", …);
	// nil means "%u". A function, so a configuration reload applies.
	LoginFormat func() string
	// Version is reported by GET /v1/status.
	Version string
	// DisabledFeatures returns the features disabled unless enabled per
	// user (disabled_features), to compute a user's effective features.
	// nil means none.
	DisabledFeatures func() []string
	// MaxMessageBytes returns the largest message POST /v1/deliver
	// accepts; nil or a value <= 0 means DefaultMaxMessageBytes.
	MaxMessageBytes func() int64
	// Deliverer runs POST /v1/deliver through the configured delivery
	// pipeline (spam, Sieve, out-of-office, hooks); nil = a plain one.
	Deliverer *mail.Deliverer
	// PasswordParams returns the argon2id parameters passwords are
	// hashed with (password_argon2_*); nil means auth.DefaultParams.
	PasswordParams func() auth.Params
	// Onboard and Certificate serve DNS guidance, domain checks and Apple
	// profiles (signed with Certificate); nil answers 501.
	Onboard     *onboard.Service
	Certificate func() tls.Certificate
	// Runtime reports the process's sessions, database and blob sizes
	// for GET /v1/stats; nil leaves them out.
	Runtime func(ctx context.Context) RuntimeStats
	// Authenticator makes and revokes tokens, app passwords and web
	// sessions (its credential cache forgets revoked ones); nil: one
	// over the store without a cache.
	Authenticator *directory.Authenticator
	// Cluster is the node registry (GET /v1/nodes, drain, undrain) and
	// store moves (POST /v1/users/{login}/move); nil answers 501.
	Cluster store.Cluster
	// NodeStale is how old a node's heartbeat may be for a store to move
	// there (four heartbeats); nil: a minute.
	NodeStale func() time.Duration
	// SearchEnabled reports whether the full-text index is kept
	// (search_index); nil means it is.
	SearchEnabled func() bool
	// OnReindex, when set, is called after indexes were emptied for a
	// reindex, to wake the indexer (which otherwise polls).
	OnReindex func()
	// Directory is the external directory POST /v1/directory/sync
	// reads (user_plugin = ldap); nil answers 501.
	Directory directory.Syncer
	// Archiver runs POST /v1/archive/run with the current rules; nil
	// answers 501.
	Archiver func() *mail.Archiver
	// BackupS3 returns the S3 settings a backup or restore to or from an
	// s3:// location uses when the request names no endpoint (the
	// server's s3_ keys), and the temp directory uploads are spooled in;
	// nil: none.
	BackupS3 func() backup.S3Config
}

// DefaultMaxMessageBytes bounds a delivered message when
// Options.MaxMessageBytes is not set.
const DefaultMaxMessageBytes = 64 << 20

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 1 << 20

// Server is the admin API handler.
type Server struct {
	b       store.Backend
	o       Options
	log     *slog.Logger
	mux     *http.ServeMux
	started time.Time
}

// New returns the admin API over b.
func New(b store.Backend, o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{b: b, o: o, log: o.Logger, mux: http.NewServeMux(), started: time.Now()}
	s.routes()
	return s
}

// routes registers every endpoint.
func (s *Server) routes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request) error) {
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r); err != nil {
				s.fail(w, r, err)
			}
		})
	}
	h("GET /v1/status", s.status)

	h("GET /v1/nodes", s.listNodes)
	h("POST /v1/nodes/{name}/drain", s.drainNode)
	h("POST /v1/nodes/{name}/undrain", s.undrainNode)
	h("POST /v1/users/{login}/move", s.moveStore) // nodes.go

	h("GET /v1/tenants", s.listTenants)
	h("POST /v1/tenants", s.createTenant)
	h("GET /v1/tenants/{tenant}", s.showTenant)
	h("PATCH /v1/tenants/{tenant}", s.updateTenant)
	h("DELETE /v1/tenants/{tenant}", s.deleteTenant)
	h("PUT /v1/tenants/{tenant}/viewers/{viewer}", s.addViewer)
	h("DELETE /v1/tenants/{tenant}/viewers/{viewer}", s.removeViewer)
	h("PUT /v1/tenants/{tenant}/admins/{login}", s.addTenantAdmin)
	h("DELETE /v1/tenants/{tenant}/admins/{login}", s.removeTenantAdmin)
	h("GET /v1/tenants/{tenant}/disclaimer", s.showDisclaimer)
	h("PATCH /v1/tenants/{tenant}/disclaimer", s.updateDisclaimer)

	h("GET /v1/domains", s.listDomains)
	h("POST /v1/domains", s.addDomain)
	h("DELETE /v1/domains/{domain}", s.removeDomain)
	h("GET /v1/domains/{domain}/dkim", s.showDKIM)
	h("POST /v1/domains/{domain}/dkim", s.createDKIM)
	h("PATCH /v1/domains/{domain}", s.updateDomain)
	h("GET /v1/domains/{domain}/dns", s.domainDNS)
	h("GET /v1/domains/{domain}/check", s.domainCheck)

	h("GET /v1/users", s.listUsers)
	h("POST /v1/users", s.createUser)
	h("GET /v1/users/{login}", s.showUser)
	h("PATCH /v1/users/{login}", s.updateUser)
	h("DELETE /v1/users/{login}", s.deleteUser)
	h("GET /v1/users/{login}/oof", s.showOOF)
	h("PATCH /v1/users/{login}/oof", s.updateOOF)
	h("GET /v1/users/{login}/profile", s.userProfile)
	h("GET /v1/devices", s.listDevices)
	h("GET /v1/users/{login}/devices", s.listDevices)
	h("POST /v1/users/{login}/devices/{id}/wipe", s.wipeDevice)
	h("DELETE /v1/users/{login}/devices/{id}", s.removeDevice)
	h("GET /v1/users/{login}/tokens", s.listTokens)
	h("PUT /v1/users/{login}/tokens/{name}", s.createToken)
	h("DELETE /v1/users/{login}/tokens/{name}", s.revokeToken)
	h("GET /v1/users/{login}/app-passwords", s.listAppPasswords)
	h("PUT /v1/users/{login}/app-passwords/{name}", s.createAppPassword)
	h("DELETE /v1/users/{login}/app-passwords/{name}", s.revokeAppPassword)
	h("GET /v1/users/{login}/sessions", s.listSessions)
	h("DELETE /v1/users/{login}/sessions", s.revokeSessions)
	h("PUT /v1/users/{login}/totp", s.enableTOTP)
	h("DELETE /v1/users/{login}/totp", s.disableTOTP)
	h("POST /v1/users/{login}/calendars/{folder}/import", s.importCalendar)
	h("GET /v1/users/{login}/calendars/{folder}/export", s.exportCalendar)
	h("POST /v1/users/{login}/contacts/{folder}/import", s.importContacts)
	h("GET /v1/users/{login}/contacts/{folder}/export", s.exportContacts)

	h("GET /v1/groups", s.listGroups)
	h("POST /v1/groups", s.createGroup)
	h("GET /v1/groups/{group}", s.showGroup)
	h("DELETE /v1/groups/{group}", s.deleteGroup)
	h("PUT /v1/groups/{group}/members/{login}", s.addMember)
	h("DELETE /v1/groups/{group}/members/{login}", s.removeMember)
	h("PUT /v1/groups/{group}/contacts/{email}", s.addGroupContact)
	h("DELETE /v1/groups/{group}/contacts/{email}", s.removeGroupContact)

	h("GET /v1/stores/orphans", s.listOrphans)
	h("POST /v1/stores/public", s.createPublicStore)
	h("POST /v1/stores/public/folders", s.createPublicFolder)
	h("GET /v1/stores/{id}", s.showStore)
	h("POST /v1/stores/{id}/hook", s.hookStore)
	h("DELETE /v1/stores/{id}", s.removeStore)

	h("POST /v1/softdelete/purge", s.purge)

	h("GET /v1/search/status", s.searchStatus)
	h("POST /v1/search/reindex", s.searchReindex)
	h("GET /v1/archives", s.listArchives) // archive.go
	h("PUT /v1/users/{login}/archive", s.attachArchive)
	h("DELETE /v1/users/{login}/archive", s.detachArchive)
	h("POST /v1/archive/run", s.runArchiver)

	h("POST /v1/deliver", s.deliver)

	h("POST /v1/directory/sync", s.directorySync)
	h("POST /v1/backup", s.backup)
	h("POST /v1/restore", s.restore)
	h("POST /v1/import", s.importMail)
	h("POST /v1/export", s.export)
	h("GET /v1/stats", s.stats)

	h("GET /v1/queue", s.listQueue)
	h("GET /v1/queue/{id}", s.showQueued)
	h("POST /v1/queue/{id}/retry", s.retryQueued)
	h("DELETE /v1/queue/{id}", s.deleteQueued)

	h("GET /v1/oidc/clients", s.listOIDCClients)
	h("POST /v1/oidc/clients", s.createOIDCClient)
	h("DELETE /v1/oidc/clients/{name}", s.removeOIDCClient)

	h("/", s.noRoute)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := store.PrincipalFrom(r.Context())
	if p == nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="roost admin"`)
		writeError(w, http.StatusUnauthorized, "authentication required")
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// The audit trail of administrative changes.
		s.log.Info("admin request", "method", r.Method, "path", r.URL.Path, "user", p.Login, "status", rec.status)
	}
}

// statusRecorder remembers the status a handler wrote, for the audit log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// noRoute answers requests no pattern matched: 405 when the path exists
// for other methods, else 404, both as JSON.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) error {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pat := s.mux.Handler(r2); pat != "/" && pat != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		for _, m := range allowed {
			w.Header().Add("Allow", m)
		}
		return errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path)
	}
	return errorf(http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	p := store.PrincipalFrom(r.Context())
	up := time.Since(s.started)
	writeJSON(w, http.StatusOK, Status{
		Version:       s.o.Version,
		Started:       s.started.UTC().Truncate(time.Second),
		UptimeSeconds: int64(up.Seconds()),
		Uptime:        up.Truncate(time.Second).String(),
		Principal:     p.Login,
	})
	return nil
}
