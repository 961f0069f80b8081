package mail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/mime"
)

// SpamOptions configure the spam verdict, the first step of the pipeline.
// A message is spam when one header test matches or the checker says so.
// Spam is filed in the user's Junk folder; Sieve, out-of-office and hooks
// do not run for it (no automatic reply ever goes to spam).
type SpamOptions struct {
	// Headers are header tests, e.g. {"X-Spam-Flag", "YES"} and
	// {"X-Spam-Status", "Yes"}: a field of that name whose value starts
	// with Prefix (case-insensitive) marks spam. Nil = none; use
	// DefaultSpamHeaders for the SpamAssassin/rspamd fields.
	Headers []HeaderTest
	// Checker is an external program (argv) that reads the message on
	// stdin: exit status 1 = spam (the convention of `spamc -c`); exit
	// status 0 = judged by Headers applied to the header block the
	// program printed, if any (`spamc`, `rspamc --mime` print the message
	// with their verdict fields added). Any other status, a start
	// failure or the timeout counts as not spam and is logged: a broken
	// checker must not hold mail back.
	Checker []string
	// CheckerTimeout bounds the checker and the rspamd request; 0 = 30
	// seconds.
	CheckerTimeout time.Duration
	// RspamdURL, when set, is the base URL of an rspamd normal worker
	// (e.g. "http://127.0.0.1:11333") asked for a verdict on /checkv2:
	// the actions "reject", "soft reject", "add header" and "rewrite
	// subject" mean spam. A failure counts as not spam and is logged.
	RspamdURL string
	// Client is the HTTP client for rspamd; nil = a default one.
	Client *http.Client
}

// maxCheckerHeader bounds what is kept of a checker's output.
const maxCheckerHeader = 256 << 10

// HeaderTest matches a header field whose value starts with Prefix.
type HeaderTest struct {
	Name   string
	Prefix string
}

// DefaultSpamHeaders are the verdict fields SpamAssassin and rspamd add.
var DefaultSpamHeaders = []HeaderTest{{"X-Spam-Flag", "YES"}, {"X-Spam-Status", "Yes"}, {"X-Spam", "Yes"}}

// ParseHeaderTest parses "Name: prefix" (configuration form).
func ParseHeaderTest(s string) (HeaderTest, error) {
	name, val, ok := strings.Cut(s, ":")
	name, val = strings.TrimSpace(name), strings.TrimSpace(val)
	if !ok || name == "" || val == "" || strings.ContainsAny(name, " \t") {
		return HeaderTest{}, errors.New(`spam header test must look like "X-Spam-Flag: YES"`)
	}
	return HeaderTest{Name: name, Prefix: val}, nil
}

// headerSpam applies the header tests to the values values(name) gives.
func (o *SpamOptions) headerSpam(values func(string) []string) bool {
	for _, t := range o.Headers {
		for _, v := range values(t.Name) {
			if len(v) >= len(t.Prefix) && strings.EqualFold(v[:len(t.Prefix)], t.Prefix) {
				return true
			}
		}
	}
	return false
}

func (d *Deliverer) spamVerdict(ctx context.Context, msg *message) bool {
	if d.Spam.headerSpam(msg.header) {
		return true
	}
	timeout := d.Spam.CheckerTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if d.Spam.RspamdURL != "" {
		spam, err := d.rspamdVerdict(ctx, msg)
		if err != nil {
			d.log().Warn("rspamd check failed; treating the message as not spam", "err", err)
		} else if spam {
			return true
		}
	}
	if len(d.Spam.Checker) == 0 {
		return false
	}
	cmd := exec.CommandContext(ctx, d.Spam.Checker[0], d.Spam.Checker[1:]...)
	cmd.Stdin = msg.reader()
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limitedBuffer{b: &stdout, n: maxCheckerHeader}
	cmd.Stderr = &limitedBuffer{b: &stderr, n: 4096}
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		// A checker that prints the message with its verdict fields
		// added (spamc without -c, rspamc --mime) is judged by the
		// header tests on what it printed.
		h, _ := mime.ParseHeader(stdout.Bytes(), 1000)
		return d.Spam.headerSpam(h.Values)
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return true
	default:
		d.log().Warn("spam checker failed; treating the message as not spam", "err", err, "stderr", stderr.String())
		return false
	}
}

// rspamdVerdict asks rspamd's /checkv2 for its action on the message.
func (d *Deliverer) rspamdVerdict(ctx context.Context, msg *message) (bool, error) {
	u := strings.TrimRight(d.Spam.RspamdURL, "/") + "/checkv2"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, msg.reader())
	if err != nil {
		return false, err
	}
	req.ContentLength = msg.size
	c := d.Spam.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return false, fmt.Errorf("rspamd checkv2: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("rspamd checkv2: %s", resp.Status)
	}
	var res struct {
		Action string  `json:"action"`
		Score  float64 `json:"score"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&res); err != nil {
		return false, fmt.Errorf("rspamd checkv2: %w", err)
	}
	switch res.Action {
	case "reject", "soft reject", "add header", "rewrite subject":
		return true, nil
	}
	return false, nil
}

// limitedBuffer keeps the first n bytes written and discards the rest.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if left := l.n - l.b.Len(); left > 0 {
		if len(p) > left {
			l.b.Write(p[:left])
		} else {
			l.b.Write(p)
		}
	}
	return len(p), nil
}
