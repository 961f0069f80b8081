package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strconv"
	"time"
)

// pdfRunner runs poppler's pdftotext on one document at a time per call:
// the PDF on standard input, the text on standard output. The process
// runs
//   - under prlimit (util-linux): CPU seconds (Timeout), address space
//     (MaxMemory), no files written (fsize 0), few descriptors, no core;
//   - under bubblewrap when installed: new namespaces for everything
//     (no network), /usr read-only, no writable path, dies with Roost;
//   - with a wall-clock deadline (Timeout) after which it is killed, and
//     its output cut at the text wanted.
type pdfRunner struct {
	lim                     Limits
	pdftotext, bwrap, limit string
}

func newPDFRunner(lim Limits, log *slog.Logger) *pdfRunner {
	p := &pdfRunner{lim: lim}
	var err error
	if p.pdftotext, err = exec.LookPath("pdftotext"); err != nil {
		log.Info("search: pdftotext (poppler-utils) not found, PDF attachments are not indexed")
		return nil
	}
	p.limit, _ = exec.LookPath("prlimit")
	p.bwrap, _ = exec.LookPath("bwrap")
	if p.bwrap != "" {
		// bwrap needs user namespaces; find out once whether it works here.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := exec.CommandContext(ctx, p.bwrap, append(p.bwrapArgs(), p.pdftotext, "-v")...).Run(); err != nil {
			log.Warn("search: bubblewrap does not run here, pdftotext runs without its sandbox", "err", err)
			p.bwrap = ""
		}
	}
	if p.limit == "" {
		log.Warn("search: prlimit (util-linux) not found, pdftotext runs without CPU and memory limits")
	}
	return p
}

func (p *pdfRunner) bwrapArgs() []string {
	return []string{"--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
		"--symlink", "usr/bin", "/bin", "--ro-bind-try", "/etc/fonts", "/etc/fonts", "--dev", "/dev", "--proc", "/proc",
		"--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--"}
}

// command returns the argv that runs pdftotext with its limits.
func (p *pdfRunner) command() []string {
	var argv []string
	if p.limit != "" {
		secs := max(1, int(p.lim.Timeout/time.Second))
		argv = append(argv, p.limit, "--cpu="+strconv.Itoa(secs), "--as="+strconv.FormatInt(p.lim.MaxMemory, 10),
			"--fsize=0", "--core=0", "--nofile=64", "--")
	}
	if p.bwrap != "" {
		argv = append(argv, p.bwrap)
		argv = append(argv, p.bwrapArgs()...)
	}
	return append(argv, p.pdftotext, "-q", "-enc", "UTF-8", "-nopgbrk", "-", "-")
}

func (p *pdfRunner) text(ctx context.Context, data []byte, max int64) (string, error) {
	argv := p.command()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(data)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	cmd.WaitDelay = time.Second
	var errb bytes.Buffer
	cmd.Stderr = &limitedBuffer{b: &errb, max: 4096}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start pdftotext: %w", err)
	}
	text, rerr := io.ReadAll(io.LimitReader(out, max+1))
	full := int64(len(text)) > max
	if full {
		cmd.Process.Kill() // enough text: do not wait for the rest
	}
	werr := cmd.Wait()
	if full {
		return cutUTF8(string(bytes.ToValidUTF8(text[:max], []byte("\uFFFD"))), int(max)), nil
	}
	if ctx.Err() != nil {
		return "", fmt.Errorf("%w: pdftotext: %v", ErrLimit, ctx.Err())
	}
	if werr != nil {
		var ee *exec.ExitError
		if errors.As(werr, &ee) && !ee.Exited() {
			return "", fmt.Errorf("%w: pdftotext killed (%v)", ErrLimit, ee) // CPU or memory limit
		}
		return "", fmt.Errorf("pdftotext: %v: %s", werr, bytes.TrimSpace(errb.Bytes()))
	}
	if rerr != nil {
		return "", rerr
	}
	return string(bytes.ToValidUTF8(text, []byte("\uFFFD"))), nil
}

type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
