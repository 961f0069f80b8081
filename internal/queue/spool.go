package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// Run is the spooler: it claims due messages and delivers them with up to
// Options.Workers deliveries at once, until ctx ends. Submit wakes it;
// otherwise it looks every Options.Poll.
func (q *Queue) Run(ctx context.Context) error {
	sys := store.SystemContext(ctx)
	sem := make(chan struct{}, q.o.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(q.o.Poll)
	defer t.Stop()
	for {
		// Claim as many messages as there are free workers.
		free := q.o.Workers - len(sem)
		if free > 0 {
			ms, err := q.o.Store.ClaimDue(sys, q.now(), free, q.o.Lease)
			if err != nil && ctx.Err() == nil {
				q.log.Error("claim due messages", "err", err)
			}
			for _, m := range ms {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					defer func() {
						if p := recover(); p != nil {
							q.log.Error("delivery panicked", "id", m.ID, "panic", p)
						}
					}()
					q.process(ctx, m)
					q.kick() // a worker is free: look again
				}()
			}
			if len(ms) == free && err == nil {
				continue // there may be more due
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-q.wake:
		case <-t.C:
		}
	}
}

// RunOnce delivers every message due now, one after the other, and
// returns when done (for `roost admin queue flush` and tests).
func (q *Queue) RunOnce(ctx context.Context) (int, error) {
	sys := store.SystemContext(ctx)
	n := 0
	for {
		ms, err := q.o.Store.ClaimDue(sys, q.now(), 1, q.o.Lease)
		if err != nil {
			return n, err
		}
		if len(ms) == 0 {
			return n, nil
		}
		q.process(ctx, ms[0])
		n++
	}
}

// backoff is the wait after attempt n (1-based).
func (q *Queue) backoff(n int) time.Duration {
	d := q.o.RetryBase
	for i := 1; i < n && d < q.o.RetryMax; i++ {
		d *= 2
	}
	return min(d, q.o.RetryMax)
}

// process makes one delivery attempt for every pending recipient of m and
// saves the outcome.
func (q *Queue) process(ctx context.Context, m *store.QueuedMessage) {
	sys := store.SystemContext(ctx)
	log := q.log.With("id", m.ID)
	open := func() (io.ReadCloser, error) { return q.o.Store.OpenQueued(sys, m.ID) }
	var reports []DSNRecipient
	finish := func(i int, o outcome, local bool) {
		r := &m.Recipients[i]
		r.Error = o.Diag
		now := q.now()
		switch {
		case o.Sent:
			r.State = store.QueueSent
			log.Info("sent", "rcpt", r.Addr, "reply", o.Diag)
			if wantsNotify(r.Notify, "SUCCESS") && (local || !o.RemoteDSN) {
				act := ActionRelayed
				if local {
					act = ActionDelivered
				}
				reports = append(reports, DSNRecipient{Addr: r.Addr, ORcpt: r.ORcpt, Action: act, Status: "2.0.0", LastAttempt: now})
			}
		case o.Perm:
			r.State = store.QueueFailed
			log.Info("failed", "rcpt", r.Addr, "reply", o.Diag)
			if wantsNotify(r.Notify, "FAILURE") && !o.RemoteDSN {
				reports = append(reports, DSNRecipient{Addr: r.Addr, ORcpt: r.ORcpt, Action: ActionFailed,
					Status: statusOf(o.Diag, ActionFailed), Diagnostic: o.Diag, LastAttempt: now})
			}
		default:
			log.Info("deferred", "rcpt", r.Addr, "reply", o.Diag)
		}
	}

	// Group the pending recipients: local ones, then per remote domain
	// (or all together through the relay).
	var localIdx []int
	groups := map[string][]int{}
	var order []string
	for i, r := range m.Recipients {
		if r.State != store.QueuePending {
			continue
		}
		isLocal, err := q.route(ctx, r.Addr)
		if err != nil {
			o := outcome{Diag: err.Error()}
			if e := AsError(err); !e.Temporary() {
				o.Perm, o.Diag = true, fmt.Sprintf("%d %s %s", e.Code, e.Enhanced, e.Msg)
			}
			finish(i, o, true)
			continue
		}
		if isLocal {
			localIdx = append(localIdx, i)
			continue
		}
		key := domainOf(r.Addr)
		if q.o.Relay != nil {
			key = ""
		}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	if len(localIdx) > 0 {
		addrs := make([]string, len(localIdx))
		for k, i := range localIdx {
			addrs[k] = m.Recipients[i].Addr
		}
		for k, err := range q.deliverLocalOpen(ctx, m.From, addrs, open) {
			o := outcome{Sent: err == nil, Diag: "250 2.0.0 delivered"}
			if err != nil {
				o.Diag, o.Perm = localDiagnostic(err), permanentLocal(err)
			}
			finish(localIdx[k], o, true)
		}
	}
	for _, dom := range order {
		idx := groups[dom]
		outs := q.deliverRemote(ctx, m, dom, idx, open)
		for k, i := range idx {
			finish(i, outs[k], false)
		}
	}

	now := q.now()
	m.Attempts++
	pending := 0
	var lastErr string
	for _, r := range m.Recipients {
		if r.State == store.QueuePending {
			pending++
			lastErr = r.Error
		}
	}
	if pending > 0 && !now.Before(m.Expires) {
		for i := range m.Recipients {
			r := &m.Recipients[i]
			if r.State != store.QueuePending {
				continue
			}
			r.State = store.QueueFailed
			diag := "delivery time expired"
			if r.Error != "" {
				diag += "; last error: " + r.Error
			}
			log.Info("expired", "rcpt", r.Addr, "last", r.Error)
			if wantsNotify(r.Notify, "FAILURE") {
				reports = append(reports, DSNRecipient{Addr: r.Addr, ORcpt: r.ORcpt, Action: ActionFailed,
					Status: "4.4.7", Diagnostic: diag, LastAttempt: now})
			}
			r.Error = diag
		}
		pending = 0
	}
	// NOTIFY=DELAY (RFC 3461 §4.1): one "delayed" report once a message
	// has waited DelayWarning. The DELAY keyword is then dropped from the
	// recipient's NOTIFY (saved with the recipient), so it is sent once.
	if pending > 0 && now.Sub(m.Created) >= q.o.DelayWarning {
		for i := range m.Recipients {
			r := &m.Recipients[i]
			if r.State != store.QueuePending || !wantsNotify(r.Notify, "DELAY") {
				continue
			}
			reports = append(reports, DSNRecipient{Addr: r.Addr, ORcpt: r.ORcpt, Action: ActionDelayed,
				Status: statusOf(r.Error, ActionDelayed), Diagnostic: r.Error, LastAttempt: now})
			r.Notify = dropNotify(r.Notify, "DELAY")
		}
	}
	if len(reports) > 0 && m.From != "" {
		original, err := q.readOriginal(sys, m.ID)
		if err != nil {
			// Without the report the sender would never learn: try again.
			log.Error("read message for dsn", "err", err)
			q.reschedule(sys, m, now.Add(q.backoff(1)), err.Error())
			return
		}
		if err := q.report(ctx, m, reports, original); err != nil {
			log.Error("dsn", "err", err)
			q.reschedule(sys, m, now.Add(q.backoff(1)), err.Error())
			return
		}
	}
	if pending == 0 {
		if err := q.o.Store.DeleteQueued(sys, m.ID); err != nil {
			log.Error("delete delivered message", "err", err)
		}
		return
	}
	next := now.Add(q.backoff(m.Attempts))
	if next.After(m.Expires) {
		next = m.Expires // one last attempt at expiry
	}
	q.reschedule(sys, m, next, lastErr)
}

func (q *Queue) reschedule(ctx context.Context, m *store.QueuedMessage, next time.Time, lastErr string) {
	m.NextAttempt, m.LastError = next, lastErr
	if err := q.o.Store.UpdateQueued(ctx, m); err != nil {
		q.log.Error("update queued message", "id", m.ID, "err", err)
	}
}

// readOriginal reads a queued message for a DSN, bounded.
func (q *Queue) readOriginal(ctx context.Context, id int64) ([]byte, error) {
	rc, err := q.o.Store.OpenQueued(ctx, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, q.o.MaxMessageBytes+1<<20))
}

func (q *Queue) deliverLocalOpen(ctx context.Context, from string, rcpts []string, open func() (io.ReadCloser, error)) []error {
	if q.o.Local == nil {
		errs := make([]error, len(rcpts))
		for i := range errs {
			errs[i] = errors.New("local delivery is not configured")
		}
		return errs
	}
	got := q.o.Local(store.SystemContext(ctx), from, rcpts, open)
	errs := make([]error, len(rcpts))
	for i := range errs {
		if i < len(got) {
			errs[i] = got[i]
		} else {
			errs[i] = errors.New("local delivery gave no result")
		}
	}
	return errs
}

// deliverRemote sends m to the recipients idx (one domain, or all through
// the relay) and returns their outcomes in order.
func (q *Queue) deliverRemote(ctx context.Context, m *store.QueuedMessage, domain string, idx []int, open func() (io.ReadCloser, error)) []outcome {
	env := &envelope{From: m.From, EnvID: m.EnvID, Ret: m.Ret, Size: m.Size, Open: open}
	env.UTF8 = !isASCII(m.From)
	for _, i := range idx {
		r := m.Recipients[i]
		env.Rcpts = append(env.Rcpts, rcptOut{Addr: r.Addr, Notify: r.Notify, ORcpt: r.ORcpt})
		env.UTF8 = env.UTF8 || !isASCII(r.Addr)
	}
	if eight, err := q.scan8bit(open); err == nil {
		env.EightBit = eight
	}
	all := func(o outcome) []outcome {
		out := make([]outcome, len(idx))
		for i := range out {
			out[i] = o
		}
		return out
	}
	var targets []target
	if rl := q.o.Relay; rl != nil {
		host, _, _ := net.SplitHostPort(rl.Addr)
		mode := strings.ToLower(rl.TLS)
		targets = []target{{Addr: rl.Addr, ServerName: host, ImplicitTLS: mode == "tls",
			RequireTLS: mode == "" || mode == "starttls", VerifyTLS: mode != "none",
			Username: rl.Username, Password: rl.Password, PlainAuth: rl.AllowPlaintextAuth}}
	} else {
		hosts, err := q.mxHosts(ctx, domain)
		if err != nil {
			return all(failureOutcome(err))
		}
		for _, h := range hosts {
			targets = append(targets, target{Addr: net.JoinHostPort(h, strconv.Itoa(q.o.MXPort)), ServerName: h})
		}
	}
	var last error
	for _, t := range targets {
		outs, err := q.transact(ctx, t, env)
		var te *errTLS
		if errors.As(err, &te) && !t.RequireTLS {
			q.log.Info("STARTTLS failed; trying without TLS", "id", m.ID, "host", t.Addr, "err", err)
			t.NoSTARTTLS = true
			outs, err = q.transact(ctx, t, env)
		}
		if err == nil {
			return outs
		}
		last = err
		var he *errHost
		if !errors.As(err, &he) {
			break
		}
		q.log.Info("host failed", "id", m.ID, "host", t.Addr, "err", err)
	}
	return all(failureOutcome(last))
}

// failureOutcome turns a transaction error into every recipient's outcome:
// a 5xx reply (from MAIL, DATA, a null MX) is permanent; anything else is
// retried.
func failureOutcome(err error) outcome {
	var re *replyError
	if errors.As(err, &re) {
		return outcome{Perm: re.rep.Permanent(), Diag: re.rep.String()}
	}
	var qe *Error
	if errors.As(err, &qe) {
		return outcome{Perm: !qe.Temporary(), Diag: fmt.Sprintf("%d %s %s", qe.Code, qe.Enhanced, qe.Msg)}
	}
	return outcome{Diag: err.Error()}
}

func (q *Queue) scan8bit(open func() (io.ReadCloser, error)) (bool, error) {
	rc, err := open()
	if err != nil {
		return false, err
	}
	defer rc.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := rc.Read(buf)
		if slices.ContainsFunc(buf[:n], func(c byte) bool { return c >= 0x80 }) {
			return true, nil
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// mxHosts returns the hosts to try for a domain in preference order
// (RFC 5321 §5.1): its MX records, or the domain itself when it has none
// (implicit MX). A null MX (RFC 7505) refuses mail permanently.
func (q *Queue) mxHosts(ctx context.Context, domain string) ([]string, error) {
	mxs, err := q.o.Resolver.LookupMX(ctx, domain)
	var dnsErr *net.DNSError
	switch {
	case err == nil && len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == ""):
		return nil, reject(556, "5.1.10", "%s accepts no mail (null MX)", domain)
	case err == nil && len(mxs) > 0:
		slices.SortStableFunc(mxs, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
		var hosts []string
		for _, mx := range mxs {
			if len(hosts) == 10 {
				break
			}
			hosts = append(hosts, strings.TrimSuffix(mx.Host, "."))
		}
		return hosts, nil
	case err != nil && !(errors.As(err, &dnsErr) && dnsErr.IsNotFound):
		return nil, fmt.Errorf("MX of %s: %w", domain, err)
	}
	// No MX: the domain's own address records (RFC 5321 §5.1).
	addrs, err := q.o.Resolver.LookupHost(ctx, domain)
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound || err == nil && len(addrs) == 0 {
		return nil, reject(550, "5.1.2", "domain %s does not exist or has no mail server", domain)
	}
	if err != nil {
		return nil, fmt.Errorf("address of %s: %w", domain, err)
	}
	return []string{domain}, nil
}

// dropNotify removes kind from a NOTIFY list; an emptied list is NEVER.
func dropNotify(notify, kind string) string {
	var keep []string
	for _, k := range strings.Split(notify, ",") {
		if !strings.EqualFold(k, kind) {
			keep = append(keep, k)
		}
	}
	if len(keep) == 0 {
		return "NEVER"
	}
	return strings.Join(keep, ",")
}
