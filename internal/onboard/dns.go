package onboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Record is one DNS record a domain should publish.
type Record struct {
	Name   string `json:"name"` // fully qualified, with the final dot
	Type   string `json:"type"` // MX, TXT, CNAME, SRV
	Value  string `json:"value"`
	About  string `json:"about"` // what the record is for
	prefix string // TXT: only values of this version count; their policy is the admin's
	host   string // our host name (SPF may name it instead of mx)
}

// DKIMKey is a domain's published DKIM key, when it has one.
type DKIMKey struct {
	Selector string
	TXT      string // v=DKIM1; k=…; p=…
}

// Records lists the records a domain needs, in zone-file order. host is
// the domain's public host name.
func Records(domain string, a Account, dkim *DKIMKey) []Record {
	d := fqdn(domain)
	h := fqdn(a.Host)
	rs := []Record{
		{Name: d, Type: "MX", Value: "10 " + h, About: "mail for the domain goes to Roost"},
		{Name: d, Type: "TXT", Value: "v=spf1 mx -all", About: "SPF (RFC 7208): only the MX hosts send the domain's mail", prefix: "v=spf1 ", host: h},
	}
	if dkim != nil {
		rs = append(rs, Record{Name: dkim.Selector + "._domainkey." + d, Type: "TXT", Value: dkim.TXT, About: "DKIM public key (RFC 6376)"})
	}
	rs = append(rs,
		Record{Name: "_dmarc." + d, Type: "TXT", Value: "v=DMARC1; p=quarantine; rua=mailto:postmaster@" + domain, About: "DMARC policy (RFC 7489)", prefix: "v=DMARC1"},
		Record{Name: "mta-sts." + d, Type: "CNAME", Value: h, About: "MTA-STS policy host (RFC 8461 §3.3)"},
		Record{Name: "_mta-sts." + d, Type: "TXT", Value: "v=STSv1; id=" + time.Now().UTC().Format("20060102"), About: "MTA-STS: a policy exists; change id when it changes", prefix: "v=STSv1;"},
		Record{Name: "_smtp._tls." + d, Type: "TXT", Value: "v=TLSRPTv1; rua=mailto:postmaster@" + domain, About: "SMTP TLS reporting (RFC 8460)", prefix: "v=TLSRPTv1;"},
		Record{Name: "autoconfig." + d, Type: "CNAME", Value: h, About: "Thunderbird autoconfig"},
		Record{Name: "autodiscover." + d, Type: "CNAME", Value: h, About: "Outlook autodiscover"},
	)
	srv := func(svc string, port int, about string) {
		v := "0 0 0 ." // RFC 2782: service not offered
		if port > 0 {
			v = "0 1 " + strconv.Itoa(port) + " " + h
		}
		rs = append(rs, Record{Name: "_" + svc + "._tcp." + d, Type: "SRV", Value: v, About: about})
	}
	// RFC 6186 §3 (and RFC 8314 §5.1 for submissions).
	srv("imaps", a.IMAPS, "IMAP over TLS (RFC 6186)")
	srv("imap", a.IMAP, "IMAP with STARTTLS (RFC 6186)")
	srv("submissions", a.Submissions, "submission over TLS (RFC 8314)")
	srv("submission", a.Submission, "submission with STARTTLS (RFC 6186)")
	srv("pop3s", a.POP3S, "POP3 over TLS (RFC 6186)")
	srv("pop3", a.POP3, "POP3 with STLS (RFC 6186)")
	// RFC 6764 §3-4: HTTPS only; the plain-HTTP services are declared absent.
	srv("caldavs", a.HTTPS, "CalDAV over TLS (RFC 6764)")
	srv("caldav", 0, "no CalDAV without TLS (RFC 6764)")
	srv("carddavs", a.HTTPS, "CardDAV over TLS (RFC 6764)")
	srv("carddav", 0, "no CardDAV without TLS (RFC 6764)")
	if a.HTTPS > 0 {
		rs = append(rs,
			Record{Name: "_caldavs._tcp." + d, Type: "TXT", Value: "path=/dav/", About: "CalDAV context path (RFC 6764 §4)"},
			Record{Name: "_carddavs._tcp." + d, Type: "TXT", Value: "path=/dav/", About: "CardDAV context path (RFC 6764 §4)"})
	}
	return rs
}

// Zone writes rs as zone-file lines, TXT values split into character
// strings of at most 255 bytes (RFC 1035 §3.3.14).
func Zone(rs []Record) string {
	var b strings.Builder
	for _, r := range rs {
		v := r.Value
		if r.Type == "TXT" {
			v = txtStrings(v)
		}
		fmt.Fprintf(&b, "; %s\n%s 3600 IN %s %s\n", r.About, r.Name, r.Type, v)
	}
	return b.String()
}

func txtStrings(v string) string {
	var parts []string
	for len(v) > 0 || len(parts) == 0 {
		n := min(len(v), 255)
		parts = append(parts, `"`+strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v[:n])+`"`)
		v = v[n:]
	}
	return strings.Join(parts, " ")
}

// Check states.
const (
	Present = "present"
	Missing = "missing"
	Wrong   = "wrong"
	Failed  = "error" // the lookup itself failed (timeout, SERVFAIL)
)

// Result is the outcome of checking one record.
type Result struct {
	Record
	State string   `json:"state"`
	Found []string `json:"found,omitempty"`
	Error string   `json:"error,omitempty"`
}

// ValidResolver reports whether addr names a DNS server: an IP address
// or host name, optionally with a port (HOST:PORT, [IPv6]:PORT).
func ValidResolver(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, "53"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return false
	}
	return net.ParseIP(host) != nil || host == "localhost" || validDomain(host)
}

// NewResolver returns the system resolver, or one that asks the DNS
// server at addr (host:port; port 53 when omitted) over UDP and TCP.
func NewResolver(addr string) *net.Resolver {
	if addr == "" {
		return net.DefaultResolver
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "53")
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// Check looks every record up and reports it present, missing or wrong.
func Check(ctx context.Context, res *net.Resolver, rs []Record) []Result {
	out := make([]Result, 0, len(rs))
	for _, r := range rs {
		found, err := lookup(ctx, res, r)
		res := Result{Record: r, Found: found}
		var de *net.DNSError
		switch {
		case err != nil && errors.As(err, &de) && de.IsNotFound:
			res.State = Missing
		case err != nil:
			res.State, res.Error = Failed, err.Error()
		case len(found) == 0:
			res.State = Missing
		case matches(r, found):
			res.State = Present
		default:
			res.State = Wrong
		}
		out = append(out, res)
	}
	return out
}

func lookup(ctx context.Context, res *net.Resolver, r Record) ([]string, error) {
	name := strings.TrimSuffix(r.Name, ".")
	switch r.Type {
	case "MX":
		mxs, err := res.LookupMX(ctx, name)
		var out []string
		for _, m := range mxs {
			out = append(out, strconv.Itoa(int(m.Pref))+" "+fqdn(m.Host))
		}
		return out, err
	case "TXT":
		txts, err := res.LookupTXT(ctx, name)
		var out []string
		for _, t := range txts {
			if r.prefix == "" || strings.HasPrefix(strings.ToLower(t), strings.ToLower(strings.Fields(r.prefix)[0])) {
				out = append(out, t)
			}
		}
		return out, err
	case "CNAME":
		c, err := res.LookupCNAME(ctx, name)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(fqdn(c), fqdn(name)) {
			return nil, nil // an address record, no alias
		}
		return []string{fqdn(c)}, nil
	case "SRV":
		svc, _, _ := strings.Cut(strings.TrimPrefix(name, "_"), "._tcp.")
		_, dom, _ := strings.Cut(name, "._tcp.")
		_, srvs, err := res.LookupSRV(ctx, svc, "tcp", dom)
		var out []string
		for _, s := range srvs {
			out = append(out, fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, fqdn(s.Target)))
		}
		if err != nil && len(out) == 0 {
			return nil, err
		}
		return out, nil
	}
	return nil, fmt.Errorf("record type %s", r.Type)
}

// matches decides whether the published values are the record. MX and
// SRV need our host among them (priorities and weights are the admin's);
// SPF needs exactly one record (RFC 7208 §4.5) naming mx or our host;
// DMARC, MTA-STS and TLS-RPT need one record of their version (the policy
// is the admin's); DKIM needs our public key.
func matches(r Record, found []string) bool {
	want := strings.Fields(r.Value)
	switch r.Type {
	case "MX":
		return slices.ContainsFunc(found, func(f string) bool { return strings.EqualFold(lastField(f), want[len(want)-1]) })
	case "SRV":
		return slices.ContainsFunc(found, func(f string) bool {
			g := strings.Fields(f)
			return len(g) == 4 && g[2] == want[2] && strings.EqualFold(g[3], want[3])
		})
	case "CNAME":
		return len(found) == 1 && strings.EqualFold(found[0], r.Value)
	case "TXT":
		if r.prefix == "v=spf1 " {
			if len(found) != 1 {
				return false
			}
			f := strings.Fields(strings.ToLower(found[0]))
			return slices.Contains(f, "mx") || slices.Contains(f, "+mx") || slices.Contains(f, "a:"+strings.TrimSuffix(r.host, "."))
		}
		if r.prefix != "" {
			return len(found) == 1
		}
		if strings.Contains(r.Name, "._domainkey.") {
			return slices.ContainsFunc(found, func(f string) bool { return dkimKey(f) != "" && dkimKey(f) == dkimKey(r.Value) })
		}
		return slices.ContainsFunc(found, func(f string) bool { return strings.TrimSpace(f) == r.Value })
	}
	return false
}

func dkimKey(txt string) string {
	for _, tag := range strings.Split(txt, ";") {
		k, v, _ := strings.Cut(tag, "=")
		if strings.TrimSpace(k) == "p" {
			return strings.Join(strings.Fields(v), "")
		}
	}
	return ""
}

func lastField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

func fqdn(h string) string {
	return strings.ToLower(strings.TrimSuffix(h, ".")) + "."
}

// MTASTSPolicy is the policy file served at
// https://mta-sts.DOMAIN/.well-known/mta-sts.txt (RFC 8461 §3.2).
func MTASTSPolicy(a Account, mode string) string {
	switch mode {
	case "enforce", "none":
	default:
		mode = "testing"
	}
	return "version: STSv1\r\nmode: " + mode + "\r\nmx: " + strings.TrimSuffix(a.Host, ".") + "\r\nmax_age: 604800\r\n"
}
