package smtpserver

// LMTP on a frontend of the sharded mode (docs/cluster.md): the
// recipients of one transaction whose users live on another backend are
// relayed to that backend's LMTP endpoint, one transaction per backend
// and all of them in parallel with the local delivery, and each
// recipient gets the reply its backend gave it (RFC 2033 §4.2), in the
// order of the RCPT commands.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/proto/smtp"
)

// relayTimeout bounds one step of a relay transaction.
const relayTimeout = 5 * time.Minute

// relay starts the relay transactions of the session's recipients that
// have a backend and returns a function that waits for them and returns
// each recipient's reply, CRLF-terminated, by its index ("" for the
// recipients delivered here).
func (s *lsession) relay(ctx context.Context, open func() (io.ReadCloser, error)) func() []string {
	replies := make([]string, len(s.rcpts))
	groups := map[string][]int{}
	for i, r := range s.rcpts {
		if r.backend != "" {
			groups[r.backend] = append(groups[r.backend], i)
		}
	}
	var wg sync.WaitGroup
	for backend, idx := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.relayTo(ctx, backend, idx, open)
			for k, i := range idx {
				if err != nil && got[k] == "" {
					got[k] = fmt.Sprintf("451 4.3.0 <%s> temporary failure, try again later\r\n", s.rcpts[i].addr)
				}
				replies[i] = got[k]
			}
			if err != nil {
				s.log.Error("relay to the home backend", "backend", backend, "rcpts", len(idx), "err", err)
			}
		}()
	}
	return func() []string {
		wg.Wait()
		return replies
	}
}

// relayTo runs one LMTP transaction with backend for the recipients idx.
// It returns the reply of each ("" where it has none because of err).
func (s *lsession) relayTo(ctx context.Context, backend string, idx []int, open func() (io.ReadCloser, error)) ([]string, error) {
	got := make([]string, len(idx))
	dial := s.l.o.Dial
	if dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	c, err := dial(ctx, backend)
	if err != nil {
		return got, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	c.SetDeadline(time.Now().Add(relayTimeout))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	step := func(cmd string) (smtp.Reply, error) {
		if cmd != "" {
			w.WriteString(cmd + "\r\n")
			if err := w.Flush(); err != nil {
				return smtp.Reply{}, err
			}
		}
		return smtp.ReadReply(r)
	}
	want := func(cmd string, code int) error {
		rep, err := step(cmd)
		if err == nil && rep.Code != code {
			err = fmt.Errorf("%q answered %s", firstWord(cmd), rep)
		}
		return err
	}
	if err := want("", 220); err != nil {
		return got, err
	}
	if err := want("LHLO "+s.l.o.Hostname, 250); err != nil {
		return got, err
	}
	if err := want("MAIL "+s.fromArg, 250); err != nil {
		return got, err
	}
	var accepted []int // positions in idx
	for k, i := range idx {
		rep, err := step("RCPT " + s.rcpts[i].arg)
		if err != nil {
			return got, err
		}
		if rep.Code == 250 {
			accepted = append(accepted, k)
		} else {
			got[k] = render(rep)
		}
	}
	if len(accepted) == 0 {
		step("QUIT")
		return got, nil
	}
	if err := want("DATA", 354); err != nil {
		return got, err
	}
	f, err := open()
	if err != nil {
		return got, err
	}
	dw := textproto.NewWriter(w).DotWriter()
	_, err = io.Copy(dw, f)
	f.Close()
	if err == nil {
		err = dw.Close()
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return got, err
	}
	for _, k := range accepted {
		rep, err := smtp.ReadReply(r)
		if err != nil {
			return got, err
		}
		got[k] = render(rep)
	}
	step("QUIT")
	return got, nil
}

// render writes a backend's reply as this server's reply line.
func render(rep smtp.Reply) string {
	text := strings.TrimSpace(strings.Join(rep.Lines, " "))
	if rep.Enhanced != "" {
		text = rep.Enhanced + " " + text
	}
	return fmt.Sprintf("%d %s\r\n", rep.Code, text)
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}
