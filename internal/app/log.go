package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/roost-mail/roost/internal/config"
)

// openLog returns where log lines go: standard error, a file (appended),
// or syslog (standard error if it cannot be reached).
func openLog(c *config.Config, stderr io.Writer) (io.Writer, error) {
	switch c.LogFile {
	case "", "-":
		return stderr, nil
	case "syslog":
		w, err := syslog.New(syslog.LOG_MAIL|syslog.LOG_INFO, "roost")
		if err != nil {
			fmt.Fprintf(stderr, "roost: syslog unavailable (%v); logging to standard error\n", err)
			return stderr, nil
		}
		return w, nil
	default:
		f, err := os.OpenFile(c.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("log_file: %w", err)
		}
		return f, nil
	}
}

// logState is the log's destination and levels, both changed by SIGHUP:
// a log file is reopened (logrotate moved it), and log_level and
// log_levels take their new values.
type logState struct {
	def  *slog.LevelVar                        // log_level
	subs atomic.Pointer[map[string]slog.Level] // log_levels
	file *reopenFile                           // nil unless log_file is a file
}

// openLogs opens log_file and returns the state and the logger writing
// there with per-subsystem levels.
func openLogs(c *config.Config, stderr io.Writer, def *slog.LevelVar) (*logState, *slog.Logger, error) {
	w, err := openLog(c, stderr)
	if err != nil {
		return nil, nil, err
	}
	st := &logState{def: def}
	if f, ok := w.(*os.File); ok && f != stderr {
		st.file = &reopenFile{path: c.LogFile, f: f}
		w = st.file
	}
	st.setLevels(c)
	// The handler underneath lets everything through: levelHandler decides.
	opts := &slog.HandlerOptions{Level: slog.Level(-100)}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return st, slog.New(&levelHandler{h: h, st: st}), nil
}

func (st *logState) setLevels(c *config.Config) {
	m := c.SubsystemLevels()
	st.subs.Store(&m)
}

// reload applies a reloaded configuration and reopens the log file.
func (st *logState) reload(c *config.Config) error {
	st.setLevels(c)
	if st.file == nil {
		return nil
	}
	return st.file.reopen()
}

// level is the least severe level logged for subsystem sub ("" none).
func (st *logState) level(sub string) slog.Level {
	if l, ok := (*st.subs.Load())[sub]; ok && sub != "" {
		return l
	}
	return st.def.Level()
}

// minLevel is the least severe level any subsystem logs.
func (st *logState) minLevel() slog.Level {
	m := st.def.Level()
	for _, l := range *st.subs.Load() {
		m = min(m, l)
	}
	return m
}

// levelHandler filters records by the level of their subsystem, the
// "proto" attribute that components' loggers carry (log.With("proto", …))
// or that a record names itself.
type levelHandler struct {
	h   slog.Handler
	st  *logState
	sub string
}

func (h *levelHandler) Enabled(_ context.Context, l slog.Level) bool {
	if h.sub != "" {
		return l >= h.st.level(h.sub)
	}
	return l >= h.st.minLevel() // Handle decides once it sees the record's attributes
}

func (h *levelHandler) Handle(ctx context.Context, r slog.Record) error {
	sub := h.sub
	if sub == "" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "proto" {
				sub = a.Value.String()
				return false
			}
			return true
		})
	}
	if r.Level < h.st.level(sub) {
		return nil
	}
	return h.h.Handle(ctx, r)
}

func (h *levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	sub := h.sub
	for _, a := range as {
		if a.Key == "proto" {
			sub = a.Value.String()
		}
	}
	return &levelHandler{h: h.h.WithAttrs(as), st: h.st, sub: sub}
}

func (h *levelHandler) WithGroup(name string) slog.Handler {
	return &levelHandler{h: h.h.WithGroup(name), st: h.st, sub: h.sub}
}

// reopenFile is a log file that SIGHUP reopens at its path.
type reopenFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func (r *reopenFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Write(p)
}

func (r *reopenFile) reopen() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("log_file: %w", err)
	}
	r.mu.Lock()
	old := r.f
	r.f = f
	r.mu.Unlock()
	return old.Close()
}
