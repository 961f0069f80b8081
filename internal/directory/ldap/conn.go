package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"

	goldap "github.com/go-ldap/ldap/v3"
)

// ErrUnavailable wraps every failure to reach or use the directory: it is
// not directory.ErrBadCredentials, so protocols answer with a temporary
// failure, never "wrong password".
var ErrUnavailable = errors.New("LDAP directory unavailable")

// conn is a pooled connection bound as the service account.
type conn struct {
	*goldap.Conn
	uri string
}

// dial connects to the first server that answers, starting with the one
// that worked last, and binds as the service account.
func (d *Directory) dial(ctx context.Context) (*conn, error) {
	d.mu.Lock()
	start := d.preferred
	d.mu.Unlock()
	var errs []error
	for i := range d.cfg.URIs {
		n := (start + i) % len(d.cfg.URIs)
		uri := d.cfg.URIs[n]
		c, err := d.dialOne(ctx, uri)
		if err == nil {
			d.mu.Lock()
			d.preferred = n
			d.mu.Unlock()
			return c, nil
		}
		d.log.Warn("LDAP server failed, trying the next one", "uri", uri, "err", err)
		errs = append(errs, fmt.Errorf("%s: %w", uri, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(errs...))
}

func (d *Directory) dialOne(ctx context.Context, uri string) (*conn, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{ServerName: u.Hostname(), RootCAs: d.cfg.RootCAs, MinVersion: tls.VersionTLS12}
	dialer := &net.Dialer{Timeout: d.cfg.Timeout}
	if dl, ok := ctx.Deadline(); ok {
		dialer.Deadline = dl
	}
	lc, err := goldap.DialURL(uri, goldap.DialWithDialer(dialer), goldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, err
	}
	lc.SetTimeout(d.cfg.Timeout)
	c := &conn{Conn: lc, uri: uri}
	if d.cfg.StartTLS && u.Scheme == "ldap" {
		if err := lc.StartTLS(tc); err != nil {
			lc.Close()
			return nil, fmt.Errorf("StartTLS: %w", err)
		}
	}
	if err := d.serviceBind(c); err != nil {
		lc.Close()
		return nil, err
	}
	return c, nil
}

// serviceBind binds c as ldap_bind_user (anonymous when empty).
func (d *Directory) serviceBind(c *conn) error {
	if d.cfg.BindDN == "" {
		if err := c.UnauthenticatedBind(""); err != nil {
			return fmt.Errorf("anonymous bind: %w", err)
		}
		return nil
	}
	if err := c.Bind(d.cfg.BindDN, d.cfg.BindPass); err != nil {
		return fmt.Errorf("service bind as %q: %w", d.cfg.BindDN, err)
	}
	return nil
}

// get returns a pooled connection or a new one.
func (d *Directory) get(ctx context.Context) (*conn, error) {
	for {
		select {
		case c := <-d.pool:
			if c.IsClosing() {
				c.Close()
				continue
			}
			return c, nil
		default:
			return d.dial(ctx)
		}
	}
}

// put returns c to the pool (or closes it when the pool is full).
func (d *Directory) put(c *conn) {
	if c.IsClosing() {
		c.Close()
		return
	}
	select {
	case d.pool <- c:
	default:
		c.Close()
	}
}

// Close closes the pooled connections.
func (d *Directory) Close() {
	for {
		select {
		case c := <-d.pool:
			c.Close()
		default:
			return
		}
	}
}

// isNetwork tells failures of the connection (worth one more try on a
// fresh connection) from answers of the server.
func isNetwork(err error) bool {
	return goldap.IsErrorAnyOf(err, goldap.ErrorNetwork, goldap.LDAPResultServerDown, goldap.LDAPResultUnavailable,
		goldap.LDAPResultBusy, goldap.LDAPResultConnectError, goldap.LDAPResultTimeout, goldap.LDAPResultTimeLimitExceeded)
}

// with runs f on a service connection, honouring ctx, retrying once on a
// fresh connection when a pooled one turns out dead (a server restart).
// A connection f leaves bound as someone else must be closed by f (it
// returns rebind = false then).
//
// At most PoolSize run at once; the others wait (within ctx), so the
// number of clients logging in together is not the number of connections
// opened to the directory.
func (d *Directory) with(ctx context.Context, f func(c *conn) error) error {
	select {
	case d.busy <- struct{}{}:
		defer func() { <-d.busy }()
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for a connection: %w", ErrUnavailable, context.Cause(ctx))
	}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var c *conn
		c, err = d.get(ctx)
		if err != nil {
			d.down(err)
			return err
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		err = f(c)
		stopped := stop()
		if ctx.Err() != nil || !stopped {
			c.Close()
			return fmt.Errorf("%w: %w", ErrUnavailable, context.Cause(ctx))
		}
		if err == nil || !isNetwork(err) {
			d.put(c)
			d.up()
			return err
		}
		c.Close()
	}
	err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	d.down(err)
	return err
}

// down logs once that the directory cannot be reached; up logs once that
// it can again.
func (d *Directory) down(err error) {
	if d.unreachable.CompareAndSwap(false, true) {
		d.log.Error("LDAP directory unreachable: logins fail temporarily", "uris", d.cfg.URIs, "err", err)
	}
}

func (d *Directory) up() {
	if d.unreachable.CompareAndSwap(true, false) {
		d.log.Info("LDAP directory reachable again", "uris", d.cfg.URIs)
	}
}
