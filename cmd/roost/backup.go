package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/backup"
	"github.com/roost-mail/roost/internal/config"
)

const backupUsage = `Usage:
  roost backup [--data DIR | --config FILE] --to DIR|s3://BUCKET/PREFIX [LOGIN... | --tenant NAME]
  roost backup verify [--config FILE] DIR|s3://BUCKET/PREFIX
  roost restore [--data DIR | --config FILE] --from DIR|s3://BUCKET/PREFIX LOGIN [--folder NAME]
                [--since DATE] [--until DATE] [--into FOLDER]

roost backup asks the running server (through its admin socket) to back up
the stores of the users named, of a tenant's users (--tenant), or of every
user, into DIR on the server's
host: folders, items with flags and dates, ACLs, Sieve scripts, settings,
out-of-office, calendars and contacts, and deleted-but-not-purged items.
Content is stored once per content hash under DIR/objects; each run writes
a manifest with checksums. When DIR holds an earlier backup, only what the
change journal says changed since it is written (incremental).

roost backup verify DIR reads every manifest, store file and object of the
backup in DIR (no server needed) and exits 1 on any damage.

A backup can go straight to an S3-compatible object store: s3://BUCKET/PREFIX
instead of DIR keeps the same layout under PREFIX/ in BUCKET (which must
exist). The server reaches it with the S3 settings given below, or, when
none name an endpoint, with its own s3_ keys (those of its blob store).
roost backup verify reads it itself: with the settings below, or the s3_
keys of --config FILE. Secrets are never command-line arguments: the secret
key comes from $ROOST_S3_SECRET_KEY or --s3-secret-key-file.

roost restore puts a user's store, one folder tree (--folder, a path such
as "Projects/2026" or a role such as "inbox") or the items of a date range
(--since, --until: YYYY-MM-DD or RFC 3339; --until DATE includes that day)
back, into the original folders or under a new folder (--into). What the
store already holds is kept: restoring twice creates nothing twice. A
damaged backup is refused before anything is written.

Flags:
  --data DIR      the server's data directory (default ./roost-data)
  --config FILE   the server's configuration file
  --json          print the result as JSON

S3 settings (flags, else environment):
  --s3-endpoint HOST:PORT      $ROOST_S3_ENDPOINT   the S3 API
  --s3-region NAME             $ROOST_S3_REGION     (default us-east-1)
  --s3-access-key ID           $ROOST_S3_ACCESS_KEY (or $AWS_ACCESS_KEY_ID)
  --s3-secret-key-file FILE    $ROOST_S3_SECRET_KEY (or $AWS_SECRET_ACCESS_KEY)
  --s3-ca-file FILE            authorities of the endpoint's certificate
  --s3-no-tls                  plain HTTP (a trusted network only)
`

// s3Flags are the S3 settings of a command line.
type s3Flags struct {
	cfg        backup.S3Config
	secretFile string
}

// parse takes the S3 flag at rest[*i], if it is one.
func (f *s3Flags) parse(rest []string, i *int) (bool, error) {
	a := rest[*i]
	name, val, has := strings.Cut(strings.TrimLeft(a, "-"), "=")
	if !strings.HasPrefix(a, "-") || !strings.HasPrefix(name, "s3-") {
		return false, nil
	}
	if name == "s3-no-tls" {
		if has {
			return true, usagef("--s3-no-tls takes no value")
		}
		f.cfg.NoTLS = true
		return true, nil
	}
	switch name {
	case "s3-endpoint", "s3-region", "s3-access-key", "s3-secret-key-file", "s3-ca-file":
	case "s3-secret-key":
		return true, usagef("--s3-secret-key: a secret is not a command-line argument (others can read it): set $ROOST_S3_SECRET_KEY or give --s3-secret-key-file FILE")
	default:
		return true, usagef("unknown flag %s", a)
	}
	if !has {
		if *i+1 >= len(rest) {
			return true, usagef("--%s needs a value", name)
		}
		*i++
		val = rest[*i]
	}
	switch name {
	case "s3-endpoint":
		f.cfg.Endpoint = val
	case "s3-region":
		f.cfg.Region = val
	case "s3-access-key":
		f.cfg.AccessKey = val
	case "s3-secret-key-file":
		f.secretFile = val
	case "s3-ca-file":
		f.cfg.CAFile = val
	}
	return true, nil
}

// given reports whether any S3 flag was given.
func (f *s3Flags) given() bool { return f.cfg != (backup.S3Config{}) || f.secretFile != "" }

// resolve completes the flags from the environment and the secret key
// file. It returns nil when no endpoint is named (the server's own
// settings apply); other S3 flags without an endpoint are a mistake.
func (f *s3Flags) resolve() (*backup.S3Config, error) {
	c := f.cfg
	env := func(v *string, names ...string) {
		for _, n := range names {
			if *v == "" {
				*v = os.Getenv(n)
			}
		}
	}
	env(&c.Endpoint, "ROOST_S3_ENDPOINT")
	if c.Endpoint == "" {
		if f.given() {
			return nil, usagef("the --s3- flags need --s3-endpoint (or $ROOST_S3_ENDPOINT)")
		}
		return nil, nil
	}
	env(&c.Region, "ROOST_S3_REGION")
	env(&c.AccessKey, "ROOST_S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
	if f.secretFile != "" {
		b, err := os.ReadFile(f.secretFile)
		if err != nil {
			return nil, fmt.Errorf("--s3-secret-key-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		c.SecretKey = strings.TrimSpace(line)
	}
	env(&c.SecretKey, "ROOST_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY")
	if c.CAFile != "" {
		abs, err := filepath.Abs(c.CAFile)
		if err != nil {
			return nil, err
		}
		c.CAFile = abs
	}
	return &c, nil
}

// location makes a directory absolute; an s3:// location stays.
func location(loc string) (string, error) {
	if backup.IsS3(loc) {
		if _, _, err := backup.ParseS3(loc); err != nil {
			return "", usagef("%v", err)
		}
		return loc, nil
	}
	return filepath.Abs(loc)
}

// isTerminal reports whether w is a terminal (progress bars, --top).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "verify" {
		return runVerify(ctx, args[1:], stdout, stderr)
	}
	g, rest, err := parseGlobals(args)
	if err != nil {
		return cliFail(stderr, "backup", err)
	}
	var to, tenant string
	var logins []string
	var s3 s3Flags
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if ok, err := s3.parse(rest, &i); ok || err != nil {
			if err != nil {
				return cliFail(stderr, "backup", err)
			}
			continue
		}
		switch {
		case isHelp(a):
			fmt.Fprint(stdout, backupUsage)
			return 0
		case a == "--to" || a == "-to":
			if i+1 >= len(rest) {
				return cliFail(stderr, "backup", usagef("--to needs a directory or s3://BUCKET/PREFIX"))
			}
			i++
			to = rest[i]
		case strings.HasPrefix(a, "--to="):
			to = strings.TrimPrefix(a, "--to=")
		case a == "--tenant" || a == "-tenant":
			if i+1 >= len(rest) {
				return cliFail(stderr, "backup", usagef("--tenant needs a name"))
			}
			i++
			tenant = rest[i]
		case strings.HasPrefix(a, "--tenant="):
			tenant = strings.TrimPrefix(a, "--tenant=")
		case strings.HasPrefix(a, "-"):
			return cliFail(stderr, "backup", usagef("unknown flag %s", a))
		default:
			logins = append(logins, a)
		}
	}
	if to == "" {
		return cliFail(stderr, "backup", usagef("--to DIR (or s3://BUCKET/PREFIX) is required"))
	}
	if tenant != "" && len(logins) > 0 {
		return cliFail(stderr, "backup", usagef("name users or --tenant, not both"))
	}
	abs, err := location(to)
	if err != nil {
		return cliFail(stderr, "backup", err)
	}
	var s3cfg *backup.S3Config
	if backup.IsS3(abs) {
		if s3cfg, err = s3.resolve(); err != nil {
			return cliFail(stderr, "backup", err)
		}
	} else if s3.given() {
		return cliFail(stderr, "backup", usagef("the --s3- flags go with --to s3://BUCKET/PREFIX"))
	}
	c, err := g.connect()
	if err != nil {
		return cliFail(stderr, "backup", err)
	}
	bar := newProgressBar(stderr)
	var sum *backup.Summary
	err = c.stream(ctx, "/v1/backup", backup.Request{To: abs, Logins: logins, Tenant: tenant, S3: s3cfg}, func(ev backup.Event) {
		if ev.Progress != nil {
			bar.show(*ev.Progress)
		}
		if ev.Backup != nil {
			sum = ev.Backup
		}
	})
	bar.done()
	if err != nil {
		return cliFail(stderr, "backup", err)
	}
	if g.json {
		return printJSON(stdout, sum)
	}
	kind := "full"
	for _, s := range sum.Stores {
		if s.Parent != 0 {
			kind = "incremental"
		}
	}
	fmt.Fprintf(stdout, "backup run %d (%s) in %s: %d stores, %d items recorded, %d objects written (%s), %s\n",
		sum.Run, kind, sum.Dir, len(sum.Stores), sum.Items, sum.Objects, humanBytes(sum.ObjectBytes), sum.Duration.Round(time.Millisecond))
	return 0
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	jsonOut := false
	var dirs []string
	var s3 s3Flags
	var cfgFile string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if ok, err := s3.parse(args, &i); ok || err != nil {
			if err != nil {
				return cliFail(stderr, "backup verify", err)
			}
			continue
		}
		switch {
		case isHelp(a):
			fmt.Fprint(stdout, backupUsage)
			return 0
		case a == "--json" || a == "-json":
			jsonOut = true
		case a == "--config" || a == "-config":
			if i+1 >= len(args) {
				return cliFail(stderr, "backup verify", usagef("--config needs a file"))
			}
			i++
			cfgFile = args[i]
		case strings.HasPrefix(a, "--config="):
			cfgFile = strings.TrimPrefix(a, "--config=")
		case strings.HasPrefix(a, "-"):
			return cliFail(stderr, "backup verify", usagef("unknown flag %s", a))
		default:
			dirs = append(dirs, a)
		}
	}
	if len(dirs) != 1 {
		return cliFail(stderr, "backup verify", usagef("one backup directory (or s3://BUCKET/PREFIX) is required"))
	}
	loc := backup.Location{Path: dirs[0]}
	if backup.IsS3(loc.Path) {
		if _, _, err := backup.ParseS3(loc.Path); err != nil {
			return cliFail(stderr, "backup verify", usagef("%v", err))
		}
		c, err := s3.resolve()
		if err != nil {
			return cliFail(stderr, "backup verify", err)
		}
		if c == nil && cfgFile != "" {
			cfg, err := config.Load(cfgFile)
			if err != nil {
				return cliFail(stderr, "backup verify", err)
			}
			c = &backup.S3Config{Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey,
				NoTLS: !cfg.S3TLS, CAFile: cfg.S3CAFile}
			if cfg.S3SecretKeyFile != "" {
				b, err := os.ReadFile(cfg.S3SecretKeyFile)
				if err != nil {
					return cliFail(stderr, "backup verify", fmt.Errorf("s3_secret_key_file: %w", err))
				}
				line, _, _ := strings.Cut(string(b), "\n")
				c.SecretKey = strings.TrimSpace(line)
			}
		}
		if c == nil {
			return cliFail(stderr, "backup verify", usagef("%s: give --s3-endpoint (or $ROOST_S3_ENDPOINT) and credentials, or --config FILE with the s3_ keys", loc.Path))
		}
		loc.S3 = *c
	} else if s3.given() {
		return cliFail(stderr, "backup verify", usagef("the --s3- flags go with s3://BUCKET/PREFIX"))
	} else if fi, err := os.Stat(dirs[0]); err != nil {
		// A mistyped directory is not a damaged backup.
		return cliFail(stderr, "backup verify", fmt.Errorf("cannot read the backup directory: %w", err))
	} else if !fi.IsDir() {
		return cliFail(stderr, "backup verify", fmt.Errorf("%s is not a directory (give the --to directory of roost backup)", dirs[0]))
	}
	bar := newProgressBar(stderr)
	rep, err := backup.Verify(ctx, loc, func(done, all int64) {
		bar.show(backup.Progress{Login: "objects", Items: done, ItemsAll: all, StoresAll: 0})
	})
	bar.done()
	if jsonOut && rep != nil {
		printJSON(stdout, rep)
	}
	if err != nil {
		if rep != nil && !jsonOut {
			for _, e := range rep.Errors {
				fmt.Fprintf(stderr, "damaged: %s\n", e)
			}
		}
		return cliFail(stderr, "backup verify", err)
	}
	if !jsonOut {
		fmt.Fprintf(stdout, "backup in %s is intact: %d runs, %d store records, %d items, %d objects (%s) checked\n",
			dirs[0], rep.Runs, rep.Stores, rep.Items, rep.Objects, humanBytes(rep.Bytes))
	}
	return 0
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g, rest, err := parseGlobals(args)
	if err != nil {
		return cliFail(stderr, "restore", err)
	}
	var req backup.RestoreRequest
	var from string
	var pos []string
	var s3 s3Flags
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if ok, err := s3.parse(rest, &i); ok || err != nil {
			if err != nil {
				return cliFail(stderr, "restore", err)
			}
			continue
		}
		if isHelp(a) {
			fmt.Fprint(stdout, backupUsage)
			return 0
		}
		if !strings.HasPrefix(a, "-") {
			pos = append(pos, a)
			continue
		}
		name, val, has := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "from", "folder", "since", "until", "into":
		default:
			return cliFail(stderr, "restore", usagef("unknown flag %s", a))
		}
		if !has {
			if i+1 >= len(rest) {
				return cliFail(stderr, "restore", usagef("--%s needs a value", name))
			}
			i++
			val = rest[i]
		}
		switch name {
		case "from":
			from = val
		case "folder":
			req.Folder = val
		case "into":
			req.Into = val
		case "since", "until":
			t, err := parseDate(val, name == "until")
			if err != nil {
				return cliFail(stderr, "restore", usagef("--%s: %v", name, err))
			}
			if name == "since" {
				req.Since = t
			} else {
				req.Until = t
			}
		}
	}
	if from == "" || len(pos) != 1 {
		return cliFail(stderr, "restore", usagef("--from DIR and one LOGIN are required"))
	}
	req.Login = pos[0]
	if req.From, err = location(from); err != nil {
		return cliFail(stderr, "restore", err)
	}
	if backup.IsS3(req.From) {
		if req.S3, err = s3.resolve(); err != nil {
			return cliFail(stderr, "restore", err)
		}
	} else if s3.given() {
		return cliFail(stderr, "restore", usagef("the --s3- flags go with --from s3://BUCKET/PREFIX"))
	}
	c, err := g.connect()
	if err != nil {
		return cliFail(stderr, "restore", err)
	}
	bar := newProgressBar(stderr)
	var sum *backup.RestoreSummary
	err = c.stream(ctx, "/v1/restore", req, func(ev backup.Event) {
		if ev.Progress != nil {
			bar.show(*ev.Progress)
		}
		if ev.Restore != nil {
			sum = ev.Restore
		}
	})
	bar.done()
	if err != nil {
		return cliFail(stderr, "restore", err)
	}
	if g.json {
		return printJSON(stdout, sum)
	}
	fmt.Fprintf(stdout, "restored from run %d into %s's store: %d items selected, %d stored (%s), %d already there, %d kept (newer object of that name); %d folders (%d created), %d ACL entries, %d properties\n",
		sum.Run, req.Login, sum.Items, sum.Created, humanBytes(sum.Bytes), sum.Present, sum.Conflicts, sum.Folders, sum.FoldersCreated, sum.ACLs, sum.Props)
	for _, w := range sum.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	return 0
}

// parseDate reads YYYY-MM-DD (midnight UTC; the next midnight when it
// ends a range, so that the day is included) or RFC 3339.
func parseDate(s string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not YYYY-MM-DD or an RFC 3339 time", s)
	}
	return t, nil
}

func cliFail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "roost %s: %s\n", cmd, oneLine(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func printJSON(w io.Writer, v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return 1
	}
	w.Write(append(b, '\n'))
	return 0
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// stream posts in as JSON and calls fn for each NDJSON event of the reply;
// an event carrying an error ends it with that error.
func (c *adminClient) stream(ctx context.Context, path string, in any, fn func(backup.Event)) error {
	return c.streamLines(ctx, path, in, func(line []byte) (bool, error) {
		var ev backup.Event
		if err := json.Unmarshal(line, &ev); err != nil {
			return false, fmt.Errorf("POST %s: a reply line that is not JSON: %w", path, err)
		}
		fn(ev)
		if ev.Error != "" {
			return false, errors.New(ev.Error)
		}
		return ev.Backup != nil || ev.Restore != nil || ev.Import != nil || ev.Export != nil, nil
	})
}

// streamLines posts in as JSON and calls line for each line of the NDJSON
// reply; line says when the work is finished, or fails it.
func (c *adminClient) streamLines(ctx context.Context, path string, in any, line func([]byte) (bool, error)) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		var de *dialError
		if errors.As(err, &de) {
			return fmt.Errorf("cannot reach the server at %s: is `%s` running?", c.sock, c.hint)
		}
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("server replied %s", resp.Status)
		}
		return &apiError{status: resp.StatusCode, msg: e.Error}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	finished := false
	for sc.Scan() {
		done, err := line(sc.Bytes())
		if err != nil {
			return err
		}
		finished = finished || done
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("POST %s: reading the reply: %w", path, err)
	}
	if !finished {
		return fmt.Errorf("POST %s: the server ended the reply before the work was done (see its log)", path)
	}
	return nil
}

// progressBar draws one line on a terminal, redrawn at most ten times a
// second; elsewhere it prints nothing.
type progressBar struct {
	w     io.Writer
	on    bool
	last  time.Time
	drawn bool
	start time.Time
}

func newProgressBar(w io.Writer) *progressBar {
	return &progressBar{w: w, on: isTerminal(w), start: time.Now()}
}

func (b *progressBar) show(p backup.Progress) {
	if !b.on {
		return
	}
	if t := time.Now(); t.Sub(b.last) < 100*time.Millisecond && !p.StoreDone {
		return
	} else {
		b.last = t
	}
	const width = 30
	frac := 0.0
	if p.ItemsAll > 0 {
		frac = min(1, float64(p.Items)/float64(p.ItemsAll))
	}
	n := int(frac * width)
	bar := strings.Repeat("#", n) + strings.Repeat("-", width-n)
	stores := ""
	if p.StoresAll > 1 {
		stores = fmt.Sprintf("  store %d/%d", min(p.Stores+1, p.StoresAll), p.StoresAll)
	}
	rate := ""
	if el := time.Since(b.start).Seconds(); el > 0.5 && p.Bytes > 0 {
		rate = fmt.Sprintf("  %.1f MB/s", float64(p.Bytes)/1e6/el)
	}
	fmt.Fprintf(b.w, "\r\x1b[K%-12.12s [%s] %3.0f%%  %d/%d items  %s%s%s", p.Login, bar, frac*100, p.Items, p.ItemsAll, humanBytes(p.Bytes), rate, stores)
	b.drawn = true
}

// showLine draws a bar of items of one user among several (archive runs).
func (b *progressBar) showLine(login string, items, itemsAll int64, n, nAll int, unit string) {
	if !b.on {
		return
	}
	if t := time.Now(); t.Sub(b.last) < 100*time.Millisecond && items < itemsAll {
		return
	} else {
		b.last = t
	}
	const width = 30
	frac := 0.0
	if itemsAll > 0 {
		frac = min(1, float64(items)/float64(itemsAll))
	}
	k := int(frac * width)
	bar := strings.Repeat("#", k) + strings.Repeat("-", width-k)
	of := ""
	if nAll > 1 {
		of = fmt.Sprintf("  %s %d/%d", unit, min(n+1, nAll), nAll)
	}
	fmt.Fprintf(b.w, "\r\x1b[K%-12.12s [%s] %3.0f%%  %d/%d items%s", login, bar, frac*100, items, itemsAll, of)
	b.drawn = true
}

func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
	}
}
