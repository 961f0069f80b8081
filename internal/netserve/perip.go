package netserve

import (
	"net"
	"sync"
)

// PerIP bounds the simultaneous connections from one remote address. The
// zero value is ready; Max <= 0 admits everything. A server calls Admit
// when a connection arrives and the release it returns when it ends.
type PerIP struct {
	Max int

	mu sync.Mutex
	n  map[string]int
}

// Admit counts c against its address and reports whether it is within
// Max; when it is, release must be called once the connection ends.
func (l *PerIP) Admit(c net.Conn) (release func(), ok bool) {
	if l.Max <= 0 {
		return func() {}, true
	}
	ip := RemoteIP(c.RemoteAddr())
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[ip] >= l.Max {
		return nil, false
	}
	if l.n == nil {
		l.n = map[string]int{}
	}
	l.n[ip]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.n[ip]--; l.n[ip] <= 0 {
				delete(l.n, ip)
			}
		})
	}, true
}

// RemoteIP is the host part of a remote address ("" for none; the whole
// string when it has no port, as for unix sockets).
func RemoteIP(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
