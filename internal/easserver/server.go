package easserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
)

// Path is where ActiveSync is served.
const Path = "/Microsoft-Server-ActiveSync"

// Submitter is the outbound mail service (*queue.Queue): the same sender
// checks and queue as SMTP submission.
type Submitter interface {
	CheckSender(ctx context.Context, from string) error
	Submit(ctx context.Context, m queue.Submission) (queue.Result, error)
}

// Policy is what Provision asks of devices ([MS-ASPROV] EASProvisionDoc).
type Policy struct {
	RequirePassword      bool
	MinPasswordLength    int
	AlphanumericPassword bool
	RequireEncryption    bool
	MaxFailedAttempts    int // wipe after this many wrong PINs; 0 off
	MaxInactivityLock    int // seconds until the device locks; 0 off
}

// Options configure a Server.
type Options struct {
	Store     store.Backend
	Hub       *events.Hub // Ping; nil: Ping answers at the heartbeat
	Submitter Submitter   // nil: SendMail fails with status 120
	Logger    *slog.Logger
	// Authenticate checks HTTP Basic credentials (directory's login
	// sentinels, as for JMAP); the app checks the "mobile" feature.
	Authenticate func(ctx context.Context, login, password string, remote net.Addr) (*store.Principal, error)
	// VerifyBearer checks "Authorization: Bearer" tokens scoped to
	// ActiveSync (Outlook's modern authentication); nil: Basic only.
	VerifyBearer func(ctx context.Context, token string, remote net.Addr) (*store.Principal, error)
	AuthCacheTTL time.Duration
	// Policy returns the provisioning policy (reloaded configuration);
	// nil: no requirements (devices are still provisioned, so that
	// remote wipe works).
	Policy func() Policy
	// Scheduler does implicit scheduling (RFC 6638) of the events devices
	// store, and MeetingResponse replies, as for CalDAV; nil: events are
	// stored without scheduling.
	Scheduler *groupware.Scheduler
	// OnWipe is told when a device confirms a remote wipe (the audit log).
	OnWipe func(ctx context.Context, login, device, state string)
	// MaxRequestBytes bounds a request body; default 32 MiB.
	MaxRequestBytes int64
	// MinHeartbeat and MaxHeartbeat bound a Ping's HeartbeatInterval;
	// defaults 60 and 3540 seconds ([MS-ASCMD] §2.2.3.79.1).
	MinHeartbeat, MaxHeartbeat int
	// MaxPingFolders bounds the folders of one Ping; default 300.
	MaxPingFolders int
	// SearchIndex answers mailbox Search and Find from the full-text
	// index (search_index), reading only the messages newer than it.
	// Off, every message tested is read (docs/activesync.md).
	SearchIndex bool
	// MaxSyncBytes bounds the server's changes in one Sync response
	// (all collections together), as WindowSize bounds their count:
	// when the next item would pass it, the collection ends its window
	// early with MoreAvailable. At least one item goes whatever its
	// size. Default DefaultMaxSyncBytes (8 MiB).
	MaxSyncBytes int
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Watch, when set, is told of every parked Ping and Sync wait with
	// its user's store; the returned function is called when it ends
	// (imapserver.Options.Watch; EndUser).
	Watch func(p *store.Principal, storeID int64) (unwatch func())
}

// Server is the ActiveSync http.Handler.
type Server struct {
	o     Options
	log   *slog.Logger
	basic *directory.BasicAuth

	// parked Pings and Sync waits by login, for EndUser (ping.go)
	mu     sync.Mutex
	parked map[string]map[chan struct{}]struct{}
}

// New returns the handler.
func New(o Options) *Server {
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = 32 << 20
	}
	if o.MinHeartbeat <= 0 {
		o.MinHeartbeat = 60
	}
	if o.MaxHeartbeat <= 0 {
		o.MaxHeartbeat = 3540
	}
	if o.MaxPingFolders <= 0 {
		o.MaxPingFolders = 300
	}
	if o.MaxSyncBytes <= 0 {
		o.MaxSyncBytes = DefaultMaxSyncBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	lg := o.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, log: lg.With("proto", "eas")}
	s.basic = &directory.BasicAuth{Authenticate: o.Authenticate, Name: "ActiveSync", Realm: "ActiveSync",
		Denied: "this account may not use mobile devices (ActiveSync)", CacheTTL: o.AuthCacheTTL, Now: o.Now, Log: s.log,
		Bearer: o.VerifyBearer}
	return s
}

// limits bound what a request's WBXML may hold.
func (s *Server) limits() wbxml.Limits {
	return wbxml.Limits{MaxBytes: int(s.o.MaxRequestBytes), MaxDepth: 32, MaxElements: 100000,
		MaxString: 1 << 20, MaxOpaque: int(s.o.MaxRequestBytes)}
}

// command is one command's handler: it returns the response document
// (nil: an empty 200 answer).
type command func(c *call, req *wbxml.Node) (*wbxml.Node, error)

// root is the page and root element of each command's request and
// response, where a common status code goes ([MS-ASCMD] §2.2.2).
var root = map[string]commandEntry{
	"Provision":         {eas.Provision, "Provision", provision},
	"FolderSync":        {eas.FolderHierarchy, "FolderSync", folderSync},
	"FolderCreate":      {eas.FolderHierarchy, "FolderCreate", folderCreate},
	"FolderUpdate":      {eas.FolderHierarchy, "FolderUpdate", folderUpdate},
	"FolderDelete":      {eas.FolderHierarchy, "FolderDelete", folderDelete},
	"Sync":              {eas.AirSync, "Sync", syncCmd},
	"GetItemEstimate":   {eas.GetItemEstimate, "GetItemEstimate", getItemEstimate},
	"Ping":              {eas.Ping, "Ping", ping},
	"ItemOperations":    {eas.ItemOperations, "ItemOperations", itemOperations},
	"MoveItems":         {eas.Move, "MoveItems", moveItems},
	"SendMail":          {eas.ComposeMail, "SendMail", sendMail},
	"SmartReply":        {eas.ComposeMail, "SmartReply", smartReply},
	"SmartForward":      {eas.ComposeMail, "SmartForward", smartForward},
	"Settings":          {eas.Settings, "Settings", settings},
	"MeetingResponse":   {eas.MeetingResponse, "MeetingResponse", meetingResponse},
	"Search":            {eas.Search, "Search", search},
	"Find":              {eas.Find, "Find", find},
	"ResolveRecipients": {eas.ResolveRecipients, "ResolveRecipients", resolveRecipients},
	"ValidateCert":      {eas.ValidateCert, "ValidateCert", validateCert},
}

// bodyOptional are the commands that may come without a WBXML body: an
// empty Ping or Sync repeats the last one, and 12.1 sends mail as MIME.
var bodyOptional = map[string]bool{"Ping": true, "Sync": true, "SendMail": true, "SmartReply": true, "SmartForward": true}

// call is one request's state.
type call struct {
	s       *Server
	ctx     context.Context
	w       http.ResponseWriter
	r       *http.Request
	p       *store.Principal
	q       eas.Request
	version string
	st      *store.Store
	dev     *mail.Device
	wipe    *mail.Wipe
	synced  map[string]uint64
	// syncedDirty: synced changed and is to be saved.
	syncedDirty bool
	// syncBytes and syncItems are what one Sync response holds so far
	// of server changes (Options.MaxSyncBytes).
	syncBytes, syncItems int
	self                 func(addr string) bool // the user's addresses, once read
	body                 []byte                 // the raw body (SendMail of 12.1 sends MIME)
	log                  *slog.Logger
}

// v14 tells whether the client speaks 14.0 or later (common status
// codes instead of HTTP 449).
func (c *call) v14() bool { return c.version >= "14.0" }

// ServeHTTP implements http.Handler.
//
// It is split in two so that a parked Ping's goroutine keeps only small
// frames on its stack: prepare (authentication, request line, device,
// policy, WBXML) returns before the command runs, and the runtime can
// then shrink the stack the store calls grew (docs/benchmarks.md).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer s.recoverPanic(w, r)
	c, cmd, req := s.prepare(w, r)
	if c != nil {
		c.run(cmd, req)
	}
}

func (s *Server) recoverPanic(w http.ResponseWriter, r *http.Request) {
	if v := recover(); v != nil {
		if v == http.ErrAbortHandler {
			panic(v)
		}
		s.log.Error("panic in ActiveSync handler", "panic", v, "query", r.URL.RawQuery)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// commandEntry is a row of root.
type commandEntry = struct {
	page byte
	name string
	run  command
}

// prepare checks everything before the command runs; nil when it has
// answered already.
//
//go:noinline
func (s *Server) prepare(w http.ResponseWriter, r *http.Request) (*call, commandEntry, *wbxml.Node) {
	var none commandEntry
	if !strings.EqualFold(strings.TrimSuffix(r.URL.Path, "/"), Path) {
		http.NotFound(w, r)
		return nil, none, nil
	}
	if r.Method != http.MethodOptions && r.Method != http.MethodPost {
		w.Header().Set("Allow", "OPTIONS, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil, none, nil
	}
	p, ok := s.basic.Check(w, r)
	if !ok {
		return nil, none, nil
	}
	ctx := store.WithPrincipal(r.Context(), p)
	w.Header().Set("MS-Server-ActiveSync", "16.1")
	if r.Method == http.MethodOptions {
		// [MS-ASHTTP] §2.2.4: what the server speaks.
		h := w.Header()
		h.Set("Allow", "OPTIONS, POST")
		h.Set("MS-ASProtocolVersions", strings.Join(eas.Versions, ","))
		h.Set("MS-ASProtocolCommands", strings.Join(eas.Commands, ","))
		h.Set("Public", "OPTIONS, POST")
		w.WriteHeader(http.StatusOK)
		return nil, none, nil
	}
	q, err := eas.ParseQuery(r.URL.RawQuery)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, none, nil
	}
	version := q.Version
	if version == "" {
		version = r.Header.Get("MS-ASProtocolVersion")
	}
	known := false
	for _, v := range eas.Versions {
		known = known || v == version
	}
	if !known {
		http.Error(w, "unsupported MS-ASProtocolVersion "+strconv.Quote(version), http.StatusBadRequest)
		return nil, none, nil
	}
	if !q.HasPolicyKey {
		if v := r.Header.Get("X-MS-PolicyKey"); v != "" {
			k, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				http.Error(w, "bad X-MS-PolicyKey", http.StatusBadRequest)
				return nil, none, nil
			}
			q.PolicyKey, q.HasPolicyKey = uint32(k), true
		}
	}
	cmd, ok := root[q.Cmd]
	if !ok {
		// [MS-ASHTTP] §2.2.2: an unknown command is HTTP 501.
		http.Error(w, "command not implemented", http.StatusNotImplemented)
		return nil, none, nil
	}
	c := &call{s: s, ctx: ctx, w: w, r: r, p: p, q: q, version: version,
		log: s.log.With("user", p.Login, "device", q.DeviceID, "cmd", q.Cmd)}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.o.MaxRequestBytes+1))
	if err != nil {
		return nil, none, nil // the client went away
	}
	if int64(len(body)) > s.o.MaxRequestBytes {
		c.status(cmd.page, cmd.name, eas.StatusMessageTooLarge, http.StatusRequestEntityTooLarge)
		return nil, none, nil
	}
	c.body = body
	if err := c.loadDevice(); err != nil {
		if errors.Is(err, mail.ErrDeviceLimit) {
			c.status(cmd.page, cmd.name, eas.StatusMaximumDevices, http.StatusForbidden)
			return nil, none, nil
		}
		c.fail(cmd.page, cmd.name, "device", err)
		return nil, none, nil
	}
	if q.Cmd != "Provision" {
		if code := c.policyCheck(); code != 0 {
			c.status(cmd.page, cmd.name, code, 449)
			return nil, none, nil
		}
	}
	var req *wbxml.Node
	ct := r.Header.Get("Content-Type")
	if len(body) > 0 && !strings.HasPrefix(strings.ToLower(ct), "message/rfc822") {
		req, err = eas.Decode(body, s.limits())
		if err != nil {
			c.log.Info("ActiveSync bad WBXML", "err", err)
			c.status(cmd.page, cmd.name, eas.StatusInvalidWBXML, http.StatusBadRequest)
			return nil, none, nil
		}
		if req.Page != cmd.page || req.Name != cmd.name {
			c.status(cmd.page, cmd.name, eas.StatusInvalidContent, http.StatusBadRequest)
			return nil, none, nil
		}
	}
	if req == nil && !bodyOptional[q.Cmd] {
		c.status(cmd.page, cmd.name, eas.StatusInvalidContent, http.StatusBadRequest)
		return nil, none, nil
	}
	return c, cmd, req
}

// run runs a command and answers.
func (c *call) run(cmd commandEntry, req *wbxml.Node) {
	resp, err := cmd.run(c, req)
	if err != nil {
		var se statusError
		if errors.As(err, &se) {
			c.status(cmd.page, cmd.name, se.code, se.http)
			return
		}
		c.fail(cmd.page, cmd.name, c.q.Cmd, err)
		return
	}
	c.write(resp)
}

// statusError is a command-level EAS status (common status codes) with
// the HTTP status a 12.1 client gets instead.
type statusError struct {
	code int
	http int
}

func (e statusError) Error() string { return fmt.Sprintf("ActiveSync status %d", e.code) }

func errStatus(code, httpStatus int) error { return statusError{code, httpStatus} }

// write sends a WBXML response.
func (c *call) write(n *wbxml.Node) {
	if n == nil {
		c.w.WriteHeader(http.StatusOK)
		return
	}
	b, err := eas.Encode(n)
	if err != nil {
		c.log.Error("ActiveSync encode", "err", err)
		http.Error(c.w, "internal error", http.StatusInternalServerError)
		return
	}
	c.w.Header().Set("Content-Type", "application/vnd.ms-sync.wbxml")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	c.w.Write(b)
}

// status answers with a common status code in the command's root
// element (14.0 and later), or with httpStatus for 12.1.
func (c *call) status(page byte, name string, code, httpStatus int) {
	if !c.v14() {
		c.w.WriteHeader(httpStatus)
		return
	}
	c.write(wbxml.El(page, name, wbxml.Str(page, "Status", strconv.Itoa(code))))
}

// fail logs an unexpected error and answers "server error, retry
// later": never "not found".
func (c *call) fail(page byte, name, what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	c.log.Error("ActiveSync "+what, "err", err)
	c.w.Header().Set("Retry-After", "60")
	if !c.v14() {
		c.w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	c.write(wbxml.El(page, name, wbxml.Str(page, "Status", strconv.Itoa(eas.StatusServerErrorRetryLater))))
}

// loadDevice reads (or registers) the device of the request and notes
// its last contact.
func (c *call) loadDevice() error {
	st, err := c.s.o.Store.UserStore(c.ctx, c.p.Login)
	if err != nil {
		return fmt.Errorf("user store: %w", err)
	}
	c.st = st
	d, w, synced, err := mail.LoadDevice(c.ctx, c.s.o.Store, st.ID, c.q.DeviceID)
	if err != nil {
		return err
	}
	now := c.s.o.Now().UTC()
	changed := false
	if d == nil {
		d = &mail.Device{ID: c.q.DeviceID, FirstSync: now}
		changed = true
	}
	ua := c.r.Header.Get("User-Agent")
	if len(ua) > 256 {
		ua = ua[:256]
	}
	if d.Type != c.q.DeviceType || d.UserAgent != ua || d.Version != c.version || now.Sub(d.LastSync) > time.Minute {
		d.Type, d.UserAgent, d.Version, d.LastSync = c.q.DeviceType, ua, c.version, now
		changed = true
	}
	c.dev, c.wipe, c.synced = d, w, synced
	if changed {
		return c.saveDevice()
	}
	return nil
}

func (c *call) saveDevice() error {
	return mail.SaveDevice(c.ctx, c.s.o.Store, c.st.ID, c.dev)
}

// policyCheck returns the common status a request without the current
// policy key gets, or 0.
func (c *call) policyCheck() int {
	switch {
	case c.wipe != nil:
		return eas.StatusRemoteWipeRequested
	case c.dev.PolicyKey == 0 || !c.q.HasPolicyKey || c.q.PolicyKey == 0:
		return eas.StatusDeviceNotProvisioned
	case c.q.PolicyKey != c.dev.PolicyKey:
		return eas.StatusInvalidPolicyKey
	}
	return 0
}

// storeStatus maps a store error of an item or collection operation to
// found (false) or an unexpected error.
func notFound(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission)
}

// folder returns a folder of the user's own store by collection id;
// nil (and no error) when it is not one.
func (c *call) folder(id string) (*store.Folder, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || len(id) > 20 {
		return nil, nil
	}
	f, err := c.s.o.Store.GetFolder(c.ctx, n)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if f.StoreID != c.st.ID || f.Deleted {
		return nil, nil
	}
	return f, nil
}
