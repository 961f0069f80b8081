package jmapserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// PushSubscription (RFC 8620 §7.2): the server POSTs StateChange objects
// to a URL the client names. Subscriptions are kept in the user's store
// properties ("jmap/push/<id>"), so they survive restarts and every node
// sees them. A callback URL may not reach loopback, link-local, private
// or multicast addresses unless Options.PushAllowedNetworks contains
// them: checked when the subscription is made, and again on every
// connection (the dialer's Control sees the address actually dialled, so
// a name re-resolved to an inner address is refused too).

const (
	pushPropPrefix      = "jmap/push/"
	maxPushSubs         = 16                 // per user
	maxPushExpiry       = 7 * 24 * time.Hour // a client renews
	pushAttempts        = 3
	pushAttemptTimeout  = 10 * time.Second
	maxPushURL          = 2048
	maxDeviceClientID   = 255
	pushFirstRetryDelay = time.Second
)

// pushSub is a subscription as stored.
type pushSub struct {
	DeviceClientID string    `json:"deviceClientId"`
	URL            string    `json:"url"`
	Types          []string  `json:"types"` // nil: all
	Expires        time.Time `json:"expires"`
	Code           string    `json:"code"` // the verification code sent
	Verified       bool      `json:"verified"`
}

// errPushTarget refuses a callback address.
var errPushTarget = errors.New("push callback address not allowed")

// pushAllowed reports whether a callback may connect to ip.
func (s *Server) pushAllowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, n := range s.o.PushAllowedNetworks {
		if n.Contains(ip) {
			return true
		}
	}
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return false
	}
	for _, n := range pushSpecialNetworks {
		if n.Contains(ip) {
			return false
		}
	}
	return true
}

// pushSpecialNetworks are ranges that IsGlobalUnicast lets through but
// that are not the public Internet, or that embed an IPv4 address a
// relay or translator would reach (NAT64, 6to4, Teredo, IPv4-compatible
// addresses): "this network" (0/8, which Linux dials as loopback),
// carrier-grade NAT, IETF protocol assignments, benchmarking, reserved,
// and the deprecated IPv6 site-local range. Read-only after init.
var pushSpecialNetworks = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("fec0::/10"),
}

// pushClient posts to callbacks: every connection's address is checked
// as it is dialled, redirects are not followed, each attempt is bounded.
func (s *Server) pushClient() *http.Client {
	s.pushOnce.Do(func() {
		d := &net.Dialer{Timeout: pushAttemptTimeout, Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !s.pushAllowed(ap.Addr()) {
				return fmt.Errorf("%w: %s", errPushTarget, address)
			}
			return nil
		}}
		tr := &http.Transport{DialContext: d.DialContext, Proxy: nil, TLSHandshakeTimeout: pushAttemptTimeout,
			ResponseHeaderTimeout: pushAttemptTimeout, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}
		s.pushHTTP = &http.Client{Transport: tr, Timeout: pushAttemptTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	})
	return s.pushHTTP
}

// checkPushURL validates a callback URL when a subscription is made.
func (s *Server) checkPushURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(raw) > maxPushURL {
		return errors.New("url must be an absolute http(s) URL without credentials")
	}
	ctx, cancel := context.WithTimeout(ctx, pushAttemptTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("cannot resolve %s", u.Hostname())
	}
	for _, a := range addrs {
		if !s.pushAllowed(a) {
			return fmt.Errorf("%s resolves to %s, a loopback, link-local, private or multicast address", u.Hostname(), a)
		}
	}
	return nil
}

// post sends one JSON object to a callback, with bounded retries.
func (s *Server) post(ctx context.Context, target string, v any) error {
	body := rawJSON(v)
	delay := pushFirstRetryDelay
	var last error
	for attempt := 0; attempt < pushAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(delay):
			}
			delay *= 5
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		res, err := s.pushClient().Do(req)
		if errors.Is(err, errPushTarget) {
			return err // refused: no retry
		}
		if err != nil {
			last = err
			continue
		}
		res.Body.Close()
		if res.StatusCode/100 == 2 {
			return nil
		}
		last = fmt.Errorf("callback answered %s", res.Status)
		// A refusal or a redirect (not followed) will not change on retry.
		if (res.StatusCode/100 == 4 && res.StatusCode != http.StatusTooManyRequests) || res.StatusCode/100 == 3 {
			return last
		}
	}
	return last
}

func (c *call) pushSubs(st *store.Store) (map[string]*pushSub, error) {
	props, err := c.s.o.Store.StorePropsPrefix(c.ctx, st.ID, pushPropPrefix)
	if err != nil {
		return nil, fmt.Errorf("push subscriptions of store %d: %w", st.ID, err)
	}
	out := map[string]*pushSub{}
	for k, v := range props {
		var ps pushSub
		if json.Unmarshal([]byte(v), &ps) == nil {
			out[strings.TrimPrefix(k, pushPropPrefix)] = &ps
		}
	}
	return out, nil
}

func (c *call) savePushSub(st *store.Store, id string, ps *pushSub) error {
	if ps == nil {
		return c.s.o.Store.SetStoreProps(c.ctx, st.ID, map[string]*string{pushPropPrefix + id: nil})
	}
	v := string(rawJSON(ps))
	return c.s.o.Store.SetStoreProps(c.ctx, st.ID, map[string]*string{pushPropPrefix + id: &v})
}

// ownStore is the principal's store (PushSubscription has no accountId).
func (c *call) ownStore() (*store.Store, error) {
	st, err := c.s.o.Store.UserStore(c.ctx, c.p.Login)
	if err != nil {
		return nil, fmt.Errorf("user store of %s: %w", c.p.Login, err)
	}
	return st, nil
}

func pushSubObject(id string, ps *pushSub) map[string]any {
	// url and keys are write-only (RFC 8620 §7.2).
	o := map[string]any{"id": id, "deviceClientId": ps.DeviceClientID, "expires": utcDate(ps.Expires), "types": ps.Types}
	if ps.Verified {
		o["verificationCode"] = ps.Code
	} else {
		o["verificationCode"] = nil
	}
	return o
}

func pushSubscriptionGet(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		IDs        *[]string `json:"ids"`
		Properties *[]string `json:"properties"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.IDs != nil && len(*a.IDs) > c.s.o.MaxObjectsInGet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "at most %d ids", c.s.o.MaxObjectsInGet)
	}
	st, err := c.ownStore()
	if err != nil {
		return nil, err
	}
	subs, err := c.pushSubs(st)
	if err != nil {
		return nil, err
	}
	if len(subs) > 0 {
		// After a restart, delivery resumes when the client looks at
		// its subscriptions (as it does to renew them).
		c.s.watchPush(st.ID, c.p.Login)
	}
	list, notFound := []any{}, []string{}
	ids := slices.Sorted(mapKeys(subs))
	if a.IDs != nil {
		ids = *a.IDs
	}
	for _, id := range ids {
		ps := subs[id]
		if ps == nil {
			notFound = append(notFound, id)
			continue
		}
		o := pushSubObject(id, ps)
		if a.Properties != nil {
			for k := range o {
				if k != "id" && !slices.Contains(*a.Properties, k) {
					delete(o, k)
				}
			}
		}
		list = append(list, o)
	}
	return map[string]any{"list": list, "notFound": notFound}, nil
}

func (s *Server) pushExpiry(v any) (time.Time, *jmap.SetError) {
	limit := s.o.Now().Add(maxPushExpiry).UTC().Truncate(time.Second)
	if v == nil {
		return limit, nil
	}
	str, ok := v.(string)
	t, err := time.Parse(time.RFC3339, str)
	if !ok || err != nil {
		return time.Time{}, invalidProps("expires must be a UTCDate", "expires")
	}
	if !t.After(s.o.Now()) {
		return time.Time{}, invalidProps("expires is in the past", "expires")
	}
	if t.After(limit) {
		// RFC 8620 §7.2: the server may shorten it, and says so.
		return limit, nil
	}
	return t.UTC(), nil
}

func pushTypesOf(v any) ([]string, *jmap.SetError) {
	if v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok || len(l) > len(pushTypes)*4 {
		return nil, invalidProps("types must be a list of type names or null", "types")
	}
	out := []string{}
	for _, x := range l {
		t, ok := x.(string)
		if !ok {
			return nil, invalidProps("types must be a list of type names or null", "types")
		}
		if slices.Contains(pushTypes, t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func pushSubscriptionSet(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		IfInState *string                   `json:"ifInState"`
		Create    map[string]map[string]any `json:"create"`
		Update    map[string]map[string]any `json:"update"`
		Destroy   []string                  `json:"destroy"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.IfInState != nil {
		return nil, jmap.Errorf(jmap.ErrStateMismatch, "PushSubscription has no state")
	}
	if n := len(a.Create) + len(a.Update) + len(a.Destroy); n > c.s.o.MaxObjectsInSet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d objects, at most %d (maxObjectsInSet)", n, c.s.o.MaxObjectsInSet)
	}
	if len(a.Create) > maxPushSubs {
		// each creation resolves its URL: bounded below maxObjectsInSet
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "at most %d subscriptions per call (and per user)", maxPushSubs)
	}
	st, err := c.ownStore()
	if err != nil {
		return nil, err
	}
	subs, err := c.pushSubs(st)
	if err != nil {
		return nil, err
	}
	// Expired subscriptions are forgotten (RFC 8620 §7.2: the server
	// may), so that they do not hold the per-user limit forever.
	for _, id := range slices.Sorted(mapKeys(subs)) {
		if !c.s.o.Now().Before(subs[id].Expires) {
			if err := c.savePushSub(st, id, nil); err != nil {
				return nil, fmt.Errorf("forget expired push subscription %s: %w", id, err)
			}
			delete(subs, id)
		}
	}
	res := &setResponse{Created: map[string]any{}, Updated: map[string]any{}, Destroyed: []string{},
		NotCreated: map[string]*jmap.SetError{}, NotUpdated: map[string]*jmap.SetError{}, NotDestroyed: map[string]*jmap.SetError{}}
	var verify []string
	expChanged := map[string]any{}
	err = setEach(sortedKeys(a.Create), res.NotCreated, func(k string) error {
		o := a.Create[k]
		for p := range o {
			if !slices.Contains([]string{"deviceClientId", "url", "keys", "expires", "types"}, p) {
				return invalidProps("cannot set "+p, p)
			}
		}
		if o["keys"] != nil {
			return invalidProps("encrypted push (RFC 8291 keys) is not supported: omit keys", "keys")
		}
		dev, _ := o["deviceClientId"].(string)
		u, _ := o["url"].(string)
		if dev == "" || len(dev) > maxDeviceClientID {
			return invalidProps("deviceClientId is required (at most 255 bytes)", "deviceClientId")
		}
		if len(subs) >= maxPushSubs {
			return &jmap.SetError{Type: jmap.SetOverQuota, Description: fmt.Sprintf("at most %d push subscriptions per user", maxPushSubs)}
		}
		if err := c.s.checkPushURL(c.ctx, u); err != nil {
			return invalidProps(err.Error(), "url")
		}
		exp, serr := c.s.pushExpiry(o["expires"])
		if serr != nil {
			return serr
		}
		types, serr := pushTypesOf(o["types"])
		if serr != nil {
			return serr
		}
		ps := &pushSub{DeviceClientID: dev, URL: u, Types: types, Expires: exp, Code: randomHex(16)}
		id := "P" + randomHex(12)
		if err := c.savePushSub(st, id, ps); err != nil {
			return err
		}
		subs[id] = ps
		c.created[k] = id
		res.Created[k] = map[string]any{"id": id, "expires": utcDate(exp)}
		verify = append(verify, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = c.updateDestroy(&setArgs{Update: a.Update, Destroy: a.Destroy}, res, func(id string, patch map[string]any) error {
		ps := subs[id]
		if ps == nil {
			return &jmap.SetError{Type: jmap.SetNotFound}
		}
		var changed map[string]any
		for p, v := range patch {
			switch p {
			case "verificationCode":
				code, _ := v.(string)
				if code == "" || code != ps.Code {
					return invalidProps("wrong verification code", p)
				}
				ps.Verified = true
			case "expires":
				exp, serr := c.s.pushExpiry(v)
				if serr != nil {
					return serr
				}
				ps.Expires = exp
				changed = map[string]any{"expires": utcDate(exp)}
			case "types":
				t, serr := pushTypesOf(v)
				if serr != nil {
					return serr
				}
				ps.Types = t
			default:
				return invalidProps("cannot update "+p, p)
			}
		}
		if err := c.savePushSub(st, id, ps); err != nil {
			return err
		}
		if changed != nil {
			expChanged[id] = changed
		}
		return nil
	}, func(id string) error {
		if subs[id] == nil {
			return &jmap.SetError{Type: jmap.SetNotFound}
		}
		delete(subs, id)
		return c.savePushSub(st, id, nil)
	})
	if err != nil {
		return nil, err
	}
	for id, ch := range expChanged {
		if _, ok := res.Updated[id]; ok {
			// the expiry the server set (RFC 8620 §5.3: server-set values)
			res.Updated[id] = ch
		}
	}
	for _, id := range verify {
		ps := subs[id]
		// RFC 8620 §7.2.2: the verification goes to the URL first; the
		// subscription pushes nothing until the client echoes the code.
		c.s.goPush(func(ctx context.Context) {
			err := c.s.post(ctx, ps.URL, map[string]any{"@type": "PushVerification", "pushSubscriptionId": id, "verificationCode": ps.Code})
			if err != nil {
				c.s.log.Info("JMAP push verification not delivered", "user", c.p.Login, "subscription", id, "err", err)
			}
		})
	}
	if len(subs) > 0 {
		c.s.watchPush(st.ID, c.p.Login)
	}
	return map[string]any{"created": res.Created, "updated": res.Updated, "destroyed": res.Destroyed,
		"notCreated": res.NotCreated, "notUpdated": res.NotUpdated, "notDestroyed": res.NotDestroyed}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// pushState is the server's push machinery: one goroutine per store with
// subscriptions, following the events hub; every callback post runs in
// its own goroutine, bounded per server.
type pushState struct {
	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	watched map[int64]bool
	wg      sync.WaitGroup
	slots   chan struct{}
}

// maxPushPosts bounds the callback posts in flight (per server).
const maxPushPosts = 64

func (s *Server) goPush(fn func(ctx context.Context)) {
	ps := &s.push
	ps.mu.Lock()
	if ps.ctx == nil {
		ps.ctx, ps.cancel = context.WithCancel(context.Background())
		ps.slots = make(chan struct{}, maxPushPosts)
	}
	ctx := ps.ctx
	ps.wg.Add(1)
	ps.mu.Unlock()
	go func() {
		defer ps.wg.Done()
		select {
		case ps.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-ps.slots }()
		fn(ctx)
	}()
}

// watchPush starts following a store's changes for its subscriptions,
// once; the watcher ends when the store has no live subscription left.
func (s *Server) watchPush(storeID int64, login string) {
	if s.o.Hub == nil {
		return
	}
	ps := &s.push
	ps.mu.Lock()
	if ps.watched == nil {
		ps.watched = map[int64]bool{}
	}
	if ps.watched[storeID] {
		ps.mu.Unlock()
		return
	}
	ps.watched[storeID] = true
	ps.mu.Unlock()
	s.goPush(func(ctx context.Context) {
		defer func() {
			ps.mu.Lock()
			delete(ps.watched, storeID)
			ps.mu.Unlock()
		}()
		sub := s.o.Hub.Subscribe(storeID)
		defer sub.Close()
		sys := store.SystemContext(ctx)
		own := jmap.FormatID('A', storeID)
		var last uint64
		// One post in flight per subscription: changes arriving while it
		// is under way are coalesced into the latest StateChange, sent
		// when it ends (a slow callback does not pile up goroutines).
		var flightMu sync.Mutex
		inflight := map[string]bool{}
		pending := map[string]map[string]any{}
		// deliver posts a StateChange for the accounts that moved to
		// every verified live subscription; it returns how many are live.
		deliver := func(changes map[string]uint64) int {
			c := &call{ctx: sys, s: s, p: store.PrincipalFrom(sys)}
			subs, err := c.pushSubs(&store.Store{ID: storeID})
			if err != nil {
				s.log.Warn("JMAP push: reading subscriptions", "store", storeID, "err", err)
				return 1
			}
			live := 0
			for id, p := range subs {
				if !s.o.Now().Before(p.Expires) {
					continue
				}
				live++
				if !p.Verified {
					continue
				}
				types := p.Types
				if types == nil {
					types = pushTypes
				}
				out := stateChanges(types, own, changes)
				if len(out) == 0 {
					continue
				}
				msg := map[string]any{"@type": "StateChange", "changed": out}
				flightMu.Lock()
				if inflight[id] {
					pending[id] = msg
					flightMu.Unlock()
					continue
				}
				inflight[id] = true
				flightMu.Unlock()
				target, id := p.URL, id
				s.goPush(func(ctx context.Context) {
					for {
						if err := s.post(ctx, target, msg); err != nil {
							s.log.Info("JMAP push not delivered", "user", login, "subscription", id, "err", err)
						}
						flightMu.Lock()
						next, ok := pending[id]
						delete(pending, id)
						if !ok || ctx.Err() != nil {
							delete(inflight, id)
							flightMu.Unlock()
							return
						}
						flightMu.Unlock()
						msg = next
					}
				})
			}
			return live
		}
		// The user's shared accounts, followed too (as EventSource and
		// WebSocket push do). A share given or taken writes a
		// ShareNotification into the user's own journal; the accounts
		// are read again when one is among the changes, and at least
		// every sharedRecheck on a change (a group's new member gets no
		// notification).
		sp, followed := s.sharedPushOf(sys, login, nil, nil)
		read := s.o.Now()
		defer func() { sp.close() }()
		for {
			select {
			case <-ctx.Done():
				return
			case ch := <-sub.C:
				if ch.Seq <= last {
					continue
				}
				prev := last
				last = ch.Seq
				if deliver(map[string]uint64{own: ch.Seq}) == 0 {
					return
				}
				if prev == 0 || s.o.Now().Sub(read) >= sharedRecheck || s.sharesMoved(sys, storeID, prev, ch.Seq) {
					sp, followed = s.sharedPushOf(sys, login, sp, followed)
					read = s.o.Now()
				}
			case <-sp.wake:
				if changes := sp.take(); len(changes) > 0 && deliver(changes) == 0 {
					return
				}
			}
		}
	})
}

// sharedRecheck is how long a push subscription's watcher follows the
// same shared accounts without a ShareNotification before it reads them
// again (on the next change of the user's store).
const sharedRecheck = 10 * time.Minute

// maxShareScan bounds the journal entries sharesMoved reads; beyond
// them it answers true.
const maxShareScan = 256

// sharesMoved reports whether the store's journal in (since, upto]
// holds a ShareNotification change, or could not be read whole (then
// the caller reads the shared accounts again, to be safe).
func (s *Server) sharesMoved(sys context.Context, storeID int64, since, upto uint64) bool {
	chs, err := s.o.Store.Changes(sys, storeID, since, maxShareScan)
	if err != nil {
		s.log.Warn("JMAP push: journal", "store", storeID, "err", err)
		return true
	}
	for _, ch := range chs {
		if ch.Seq > upto {
			return false
		}
		if ch.Kind == store.ChangeShareNotification {
			return true
		}
	}
	return len(chs) == maxShareScan
}

// sharedPushOf follows the shared accounts of login for its push
// subscriptions. It keeps old when the accounts are still those
// followed; on an error it logs and keeps what it had.
func (s *Server) sharedPushOf(sys context.Context, login string, old *sharedPush, followed []int64) (*sharedPush, []int64) {
	keep := func() (*sharedPush, []int64) {
		if old == nil {
			return newSharedPush(s, nil), nil
		}
		return old, followed
	}
	p, err := s.o.Store.Principal(sys, login)
	if err != nil {
		s.log.Warn("JMAP push: principal", "user", login, "err", err)
		return keep()
	}
	shared, err := (&call{ctx: store.WithPrincipal(sys, p), s: s, p: p}).sharedAccounts()
	if err != nil {
		s.log.Warn("JMAP push: shared accounts", "user", login, "err", err)
		return keep()
	}
	var ids []int64
	for _, a := range shared[:min(len(shared), maxPushedShared)] {
		ids = append(ids, a.st.ID)
	}
	if old != nil && slices.Equal(ids, followed) {
		return old, followed
	}
	if old != nil {
		old.close()
	}
	return newSharedPush(s, shared), ids
}

// Close ends the held EventSource streams, stops push delivery and
// delayed submissions and waits for the callback posts and sends in
// flight. It implements io.Closer.
func (s *Server) Close() error {
	s.es.closeAll() // esloop.go
	ps := &s.push
	ps.mu.Lock()
	if ps.ctx == nil {
		ps.ctx, ps.cancel = context.WithCancel(context.Background())
		ps.slots = make(chan struct{}, maxPushPosts)
	}
	ps.cancel()
	ps.mu.Unlock()
	ps.wg.Wait()
	return nil
}

// Resume starts, in the background, what a restart interrupted: push
// delivery for every store with subscriptions and the timers of pending
// submissions. It reads each user's JMAP settings once.
func (s *Server) Resume() {
	s.goPush(func(ctx context.Context) {
		sys := store.SystemContext(ctx)
		tenants, err := s.o.Store.ListTenants(sys)
		if err != nil {
			s.log.Warn("JMAP resume: tenants", "err", err)
			return
		}
		for _, tn := range tenants {
			users, err := s.o.Store.ListUsers(sys, tn.Name)
			if err != nil {
				s.log.Warn("JMAP resume: users", "tenant", tn.Name, "err", err)
				continue
			}
			for _, u := range users {
				if ctx.Err() != nil {
					return
				}
				if u.StoreID == 0 {
					continue
				}
				props, err := s.o.Store.StorePropsPrefix(sys, u.StoreID, "jmap/")
				if err != nil {
					s.log.Warn("JMAP resume: settings", "user", u.Login, "err", err)
					continue
				}
				for k := range props {
					if strings.HasPrefix(k, pushPropPrefix) {
						s.watchPush(u.StoreID, u.Login)
						break
					}
				}
				for k := range props {
					if strings.HasPrefix(k, subPropPrefix) {
						s.resumeStore(sys, u.StoreID, u.Login)
						break
					}
				}
			}
		}
	})
}
