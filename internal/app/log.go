package app

import (
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"

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

func newLogger(c *config.Config, w io.Writer, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
