package config_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/config"
)

// FuzzLoad feeds arbitrary files to Load: it must never panic, must return
// either a valid config or an error, and every problem must be printable.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"",
		"imap_listen = \":143\"\nroles = [\"imap\"]\n",
		"log_level = 3\nquota_warn = 10\nquota_hard = 5\n",
		"database = \"postgres://u:p@h/db\"\n",
		"[imap]\nlisten = 1\n",
		"IMAP_LISTEN = 1\nimap_listen.x = 2\n",
		"roles = [1, [2], {a = 3}]\nmax_message_size = 1e300\n",
		"allow_plaintext_auth = yes\n",
		"loginname_format = \"%\"\n",
		"a = 1979-05-27T07:32:00Z\nb = [[c]]\n",
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		// Load stats and reads the files that ssl_* keys name. It refuses
		// anything but regular files, yet a few files under /proc block when
		// read; keep the fuzzer away from them.
		if strings.Contains(text, "/proc") || strings.Contains(text, "/sys") {
			return
		}
		file, err := os.CreateTemp(dir, "fuzz-*.toml")
		if err != nil {
			t.Fatal(err)
		}
		path := file.Name()
		defer os.Remove(path)
		if _, err := file.WriteString(text); err != nil {
			t.Fatal(err)
		}
		if err := file.Close(); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(path)
		if err != nil {
			if c != nil {
				t.Error("config and error both returned")
			}
			var ve *config.ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Errorf("error %v (%T) is not a non-empty *ValidationError", err, err)
			}
			_ = err.Error()
			return
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Load accepted a config that Validate rejects: %v", err)
		}
		_, _ = config.Reload(config.Default(), c)
	})
}
