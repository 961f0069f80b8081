package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// adminClient talks to the admin API on the server's unix socket. Whoever
// can open the socket acts as the system administrator; the server sets the
// principal, the client sends no credentials.
type adminClient struct {
	hc   *http.Client
	sock string
	hint string // how to start the server, for the "cannot reach" message
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
	return &adminClient{hc: &http.Client{Transport: tr}, sock: sock, hint: hint}
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
	req, err := http.NewRequestWithContext(ctx, method, "http://roost"+path, body)
	if err != nil {
		return nil, err
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
