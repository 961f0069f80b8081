package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/metrics"
	"github.com/roost-mail/roost/internal/store"
)

// opsMetrics are the metrics of one running server (docs/operations.md,
// Metrics). Names start with roost_; the Go runtime's keep the names of
// the Prometheus Go client.
type opsMetrics struct {
	reg         *metrics.Registry
	sessions    *metrics.GaugeVec
	connections *metrics.CounterVec
	commands    *metrics.HistogramVec
	auth        *metrics.CounterVec
	deliveries  *metrics.CounterVec
	conns       connRegistry // open connections, for roost stats
	logins      loginCounts  // logins per user, for roost stats
}

func newOpsMetrics(s *server) *opsMetrics {
	r := metrics.New()
	m := &opsMetrics{reg: r,
		sessions:    r.Gauge("roost_sessions", "Open connections per listener (imap, imaps, pop3, submission, lmtp, http, …).", "listener"),
		connections: r.Counter("roost_connections_total", "Connections accepted per listener.", "listener"),
		commands: r.Histogram("roost_command_duration_seconds",
			"Time to handle one command (IMAP) or request (HTTP), by protocol, command (IMAP) or method (HTTP), and result (ok, no: refused or failed; for HTTP the status class).",
			nil, "proto", "command", "result"),
		auth: r.Counter("roost_auth_total", "Authentications by protocol, mechanism and result (ok, or why it failed).",
			"proto", "mechanism", "result"),
		deliveries: r.Counter("roost_deliveries_total", "Local deliveries per recipient by result: accepted, refused (permanent) or tempfail.", "result"),
	}
	metrics.RegisterRuntime(r)
	r.GaugeFunc("roost_uptime_seconds", "Seconds since this process started.", nil, func(emit func(float64, ...string)) {
		emit(time.Since(s.started).Seconds())
	})
	// Values read from the database at scrape time, bounded so that a slow
	// database cannot hold a scrape for ever.
	scrape := func(fn func(ctx context.Context)) {
		ctx, cancel := context.WithTimeout(store.SystemContext(context.Background()), 10*time.Second)
		defer cancel()
		fn(ctx)
	}
	// One statement serves both queue families of a scrape.
	var qmu sync.Mutex
	var qat time.Time
	var qlen, qage float64
	queue := func() (float64, float64) {
		qmu.Lock()
		defer qmu.Unlock()
		if time.Since(qat) < time.Second {
			return qlen, qage
		}
		qlen, qage = 0, 0
		scrape(func(ctx context.Context) {
			n, oldest, err := s.db.QueueStats(ctx)
			if err != nil {
				s.log.Warn("metrics: queue stats", "err", err)
				return
			}
			qlen = float64(n)
			if !oldest.IsZero() {
				qage = max(0, time.Since(oldest).Seconds())
			}
		})
		qat = time.Now()
		return qlen, qage
	}
	r.GaugeFunc("roost_queue_messages", "Messages in the outbound queue.", nil, func(emit func(float64, ...string)) {
		n, _ := queue()
		emit(n)
	})
	r.GaugeFunc("roost_queue_oldest_age_seconds", "Age of the oldest message in the outbound queue (0 when empty).", nil,
		func(emit func(float64, ...string)) {
			_, age := queue()
			emit(age)
		})
	r.GaugeFunc("roost_tenant_store_bytes", "Total size of the stores of each tenant.", []string{"tenant"},
		func(emit func(float64, ...string)) {
			scrape(func(ctx context.Context) {
				ts, err := s.db.ListTenants(ctx)
				if err != nil {
					s.log.Warn("metrics: list tenants", "err", err)
					return
				}
				for _, t := range ts {
					u, err := s.db.TenantUsage(ctx, t.Name)
					if err != nil {
						s.log.Warn("metrics: tenant usage", "tenant", t.Name, "err", err)
						continue
					}
					emit(float64(u.Size), t.Name)
				}
			})
		})
	return m
}

// authObserved counts an authentication (directory.Authenticator.Observe).
func (m *opsMetrics) authObserved(_ context.Context, ev directory.AuthEvent) {
	if m == nil {
		return
	}
	result := "ok"
	if !ev.OK {
		result = ev.Reason
	} else if ev.User != "" {
		m.logins.add(ev.User, ev.Protocol)
	}
	m.auth.With(ev.Protocol, ev.Mechanism, result).Inc()
}

// delivered counts delivery results (mail.Deliverer.Observe).
func (m *opsMetrics) delivered(cfg func() *config.Config) func(context.Context, []mail.Result) {
	return func(_ context.Context, rs []mail.Result) {
		if m == nil {
			return
		}
		for _, r := range rs {
			var rej *mail.RejectError
			switch {
			case r.Err == nil:
				m.deliveries.With("accepted").Inc()
			case errors.As(r.Err, &rej):
				m.deliveries.With("refused").Inc()
			case errors.Is(r.Err, store.ErrOverQuota) && !cfg().QuotaHardTempfail:
				m.deliveries.With("refused").Inc()
			default:
				m.deliveries.With("tempfail").Inc()
			}
		}
	}
}

// imapCommand observes one IMAP command (imapserver.Options.OnCommand).
func (m *opsMetrics) imapCommand(name string, d time.Duration, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "no"
	}
	m.commands.With("imap", name, result).Observe(d.Seconds())
}

// countConns wraps a listener so that its connections count in
// roost_sessions and roost_connections_total.
func (m *opsMetrics) countConns(ln net.Listener, name string) net.Listener {
	if m == nil { // servers built by tests without metrics
		return ln
	}
	return &countingListener{Listener: ln, name: name, reg: &m.conns, open: m.sessions.With(name), total: m.connections.With(name)}
}

type countingListener struct {
	net.Listener
	name  string
	reg   *connRegistry
	open  *metrics.Gauge
	total *metrics.Counter
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Inc()
	l.total.Inc()
	cc := &countedConn{Conn: c, open: l.open, reg: l.reg, listener: l.name, since: time.Now()}
	l.reg.add(cc)
	return cc, nil
}

type countedConn struct {
	net.Conn
	open     *metrics.Gauge
	once     sync.Once
	reg      *connRegistry
	id       uint64
	listener string
	since    time.Time
	in, out  atomic.Int64
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c *countedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.open.Dec()
		c.reg.remove(c)
	})
	return c.Conn.Close()
}

// httpRequests observes HTTP requests by method and status class; proto
// is the listener's name ("http", "https", "admin api", "metrics").
func (m *opsMetrics) httpRequests(h http.Handler, proto string) http.Handler {
	if m == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		m.commands.With(proto, httpMethodLabel(r.Method), strconv.Itoa(sw.status/100)+"xx").Observe(time.Since(start).Seconds())
	})
}

// httpMethodLabel bounds the method label: clients may send any token.
func httpMethodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "PROPPATCH", "REPORT",
		"MKCOL", "MKCALENDAR", "COPY", "MOVE", "LOCK", "UNLOCK", "ACL":
		return m
	}
	return "other"
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush passes streaming responses on.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		w.wrote = true
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach Flush and the deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// listenMetrics opens metrics_listen, which serves /metrics only.
func (s *server) listenMetrics(cfg *config.Config) error {
	addr := cfg.Listener("metrics")
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics_listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.reg.Handler())
	s.serve(ln, nil, mux, "metrics", addr)
	return nil
}

// CloseWrite lets net/http half-close the connection when it can.
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Verbs that get a label of their own; anything else a client sends is
// counted as "other", so that clients cannot make new series.
var (
	pop3Verbs = []string{"USER", "PASS", "APOP", "AUTH", "CAPA", "STLS", "QUIT", "NOOP", "STAT", "LIST", "RETR", "DELE", "RSET", "TOP", "UIDL"}
	smtpVerbs = []string{"HELO", "EHLO", "LHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "BURL", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP"}
)

// verbCommand observes one command of a line protocol (POP3, LMTP,
// submission) whose servers report no result.
func (m *opsMetrics) verbCommand(proto string, known []string) func(string, time.Duration) {
	return func(verb string, d time.Duration) {
		if m == nil {
			return
		}
		if !slices.Contains(known, verb) {
			verb = "other"
		}
		m.commands.With(proto, verb, "done").Observe(d.Seconds())
	}
}
