package testenv

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
)

// Logger returns a logger that writes to t.Log (shown for a failing test or
// with -v) at level Info, or Debug when ROOST_TEST_LOG=debug, and nothing
// when ROOST_TEST_LOG=off. Lines logged after the test ended (a session
// goroutine still closing) are dropped rather than failing the run.
//
// A fuzz target's *testing.F may not log inside the target, so its logger
// is silent.
func Logger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.F); ok {
		return slog.New(slog.DiscardHandler)
	}
	level := slog.LevelInfo
	switch strings.ToLower(os.Getenv("ROOST_TEST_LOG")) {
	case "off":
		return slog.New(slog.DiscardHandler)
	case "debug":
		level = slog.LevelDebug
	}
	w := &tlogWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type tlogWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *tlogWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

func (w *tlogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(bytes.TrimRight(p, "\n")))
	}
	return len(p), nil
}
