package mail

import (
	"bytes"
	"context"
	"errors"
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
	// CheckerTimeout bounds the checker; 0 = 30 seconds.
	CheckerTimeout time.Duration
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
	if len(d.Spam.Checker) == 0 {
		return false
	}
	timeout := d.Spam.CheckerTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
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
