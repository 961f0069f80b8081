package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

// adminClient talks to the admin API on the server's unix socket. Whoever
// can open the socket acts as the system administrator; the server sets the
// principal, the client sends no credentials.
type adminClient struct {
	hc   *http.Client
	base string // "http://roost" on the socket, the --url otherwise
	sock string // where the server is, for the "cannot reach" message
	hint string // how to start the server, for the "cannot reach" message
	user string // --login: HTTP Basic credentials for the TLS admin API
	pass string
}

func newAdminClient(sock, hint string) *adminClient {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, "unix", sock)
			if err != nil {
				return nil, &dialError{err}
			}
			return c, nil
		},
		DisableKeepAlives: true, // one command, a request or two
	}
	return &adminClient{hc: &http.Client{Transport: tr}, base: "http://roost", sock: sock, hint: hint}
}

// newRemoteClient talks to the admin API over TLS (admin_listen), as the
// user given with --login (password from $ROOST_ADMIN_PASSWORD) or, with
// --cert and --key, as the system identity of a client certificate.
func newRemoteClient(url, user, pass, caFile, certFile, keyFile string) (*adminClient, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca: no certificate in %s", caFile)
		}
	}
	if certFile != "" || keyFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	tr := &http.Transport{
		TLSClientConfig: tc,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, &dialError{err}
			}
			return c, nil
		},
		DisableKeepAlives: true,
	}
	return &adminClient{hc: &http.Client{Transport: tr}, base: strings.TrimSuffix(url, "/"), sock: url,
		hint: "roost serve with admin_listen", user: user, pass: pass}, nil
}

// dialError marks a failure to connect to the socket.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// apiError is an error reply of the server.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// do sends a request and returns the body of a 2xx reply; anything else
// becomes an error naming the problem.
func (c *adminClient) do(ctx context.Context, method, path string, body io.Reader, ctype string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		var de *dialError
		if errors.As(err, &de) {
			return nil, fmt.Errorf("cannot reach the server at %s: is `%s` running?", c.sock, c.hint)
		}
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the reply: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		e.Error = fmt.Sprintf("server replied %s", resp.Status)
	}
	return nil, &apiError{status: resp.StatusCode, msg: e.Error}
}

// call sends in as JSON (nil: no body) and returns the raw reply.
func (c *adminClient) call(ctx context.Context, method, path string, in any) ([]byte, error) {
	var body io.Reader
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	return c.do(ctx, method, path, body, ctype)
}

// callInto is call with the reply decoded into out.
func (c *adminClient) callInto(ctx context.Context, method, path string, in, out any) ([]byte, error) {
	data, err := c.call(ctx, method, path, in)
	if err != nil {
		return nil, err
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("%s %s: unexpected reply: %w", method, path, err)
		}
	}
	return data, nil
}

// oneLine keeps a message on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
