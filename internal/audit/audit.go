// Package audit writes the audit log: one JSON object per line, appended
// to a file, recording authentications, administrative changes and
// access to other users' stores (Kopano §7.3). A line is written with
// one write(2) on a file opened O_APPEND, so lines never interleave, and
// Reopen (on SIGHUP) lets logrotate move the file away. A nil *Log
// records nothing.
//
// The log never holds a password or message content: only who, from
// where, what and with which result.
package audit

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"log/syslog"
	"os"
	"sync"
	"time"
	"unicode/utf8"
)

// Event kinds.
const (
	KindAuth   = "auth"   // an authentication attempt
	KindAdmin  = "admin"  // a change through the admin API
	KindAccess = "access" // a folder of another user's (or a public) store opened
)

// Event is one line of the audit log. Empty fields are left out.
type Event struct {
	Time  time.Time `json:"time"`
	Kind  string    `json:"event"`
	Actor string    `json:"user,omitempty"`  // who acted (login; "SYSTEM" for the admin socket)
	Login string    `json:"login,omitempty"` // auth: the name the client gave
	IP    string    `json:"ip,omitempty"`
	Proto string    `json:"proto,omitempty"`
	// auth
	Mechanism string `json:"mechanism,omitempty"`
	Result    string `json:"result,omitempty"` // "ok" or "fail"
	Reason    string `json:"reason,omitempty"`
	// admin
	Action string `json:"action,omitempty"` // "POST /v1/users"
	Target string `json:"target,omitempty"` // the path acted on
	Status int    `json:"status,omitempty"` // the HTTP status answered
	Via    string `json:"via,omitempty"`    // "admin socket", "client certificate", "password"
	// access
	Owner    string `json:"owner,omitempty"`  // login of the store's owner ("" public)
	Tenant   string `json:"tenant,omitempty"` // the store's tenant
	Folder   string `json:"folder,omitempty"`
	FolderID int64  `json:"folder_id,omitempty"`
	Rights   string `json:"rights,omitempty"`
	How      string `json:"how,omitempty"` // "SELECT", "EXAMINE", "PROPFIND", …
}

// Log is an open audit log.
type Log struct {
	path string
	log  *slog.Logger
	now  func() time.Time

	mu  sync.Mutex
	f   *os.File
	sys *syslog.Writer // path "syslog": the local syslog daemon instead of f
}

// Syslog is the path that sends the audit log to the local syslog daemon
// (facility authpriv, tag roost-audit) instead of a file.
const Syslog = "syslog"

// Open opens (creating, mode 0600) the audit log at path for appending.
// An empty path returns a nil Log, which records nothing.
func Open(path string, log *slog.Logger) (*Log, error) {
	return openWith(path, log, func() (*syslog.Writer, error) {
		return syslog.New(syslog.LOG_AUTHPRIV|syslog.LOG_INFO, "roost-audit")
	})
}

// openWith is Open with the way to reach syslog (tests dial their own socket).
func openWith(path string, log *slog.Logger, dialSyslog func() (*syslog.Writer, error)) (*Log, error) {
	if path == "" {
		return nil, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Log{path: path, log: log, now: time.Now}
	if path == Syslog {
		w, err := dialSyslog()
		if err != nil {
			return nil, fmt.Errorf("audit log: syslog: %w", err)
		}
		l.sys = w
		return l, nil
	}
	f, err := l.open()
	if err != nil {
		return nil, err
	}
	l.f = f
	return l, nil
}

func (l *Log) open() (*os.File, error) {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return f, nil
}

// Reopen opens the file at the path again and closes the old one, so
// that a file renamed by logrotate is left alone. On failure the old
// file stays in use.
func (l *Log) Reopen() error {
	if l == nil || l.sys != nil {
		return nil
	}
	f, err := l.open()
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	return old.Close()
}

// Close closes the file.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sys != nil {
		return l.sys.Close()
	}
	return l.f.Close()
}

// Record writes one event, with the current time when ev.Time is zero.
// A write that fails is reported to the server log: the audit log does
// not stop the service.
func (l *Log) Record(ev Event) {
	if l == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = l.now()
	}
	ev.Time = ev.Time.UTC()
	ev.clip()
	b, err := json.Marshal(ev)
	if err != nil {
		l.log.Error("audit log: encode", "err", err)
		return
	}
	l.mu.Lock()
	if l.sys != nil {
		err = l.sys.Info(string(b)) // one datagram per event
	} else {
		_, err = l.f.Write(append(b, '\n'))
	}
	l.mu.Unlock()
	if err != nil {
		l.log.Error("audit log: write failed", "path", l.path, "event", ev.Kind, "err", err)
	}
}

// MaxField bounds each text field of a line. Clients choose some of them
// (the login they give, a folder name, an admin request's path and
// query), and an unbounded line could fill the disk quickly or not fit
// in one syslog datagram.
const MaxField = 1024

// clip shortens each text field to MaxField bytes, at a character
// boundary, marking the cut with "…".
func (ev *Event) clip() {
	for _, f := range []*string{&ev.Kind, &ev.Actor, &ev.Login, &ev.IP, &ev.Proto, &ev.Mechanism, &ev.Result, &ev.Reason,
		&ev.Action, &ev.Target, &ev.Via, &ev.Owner, &ev.Tenant, &ev.Folder, &ev.Rights, &ev.How} {
		if len(*f) <= MaxField {
			continue
		}
		cut := MaxField - len("…")
		for cut > 0 && !utf8.RuneStart((*f)[cut]) {
			cut--
		}
		*f = (*f)[:cut] + "…"
	}
}
