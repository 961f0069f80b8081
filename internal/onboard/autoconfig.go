package onboard

import (
	"encoding/xml"
	"net"
	"strconv"
)

// Thunderbird's autoconfig format ("clientConfig" version 1.1), as
// documented at https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat.

// ClientConfig is the root element of config-v1.1.xml.
type ClientConfig struct {
	XMLName     xml.Name      `xml:"clientConfig"`
	Version     string        `xml:"version,attr"`
	Provider    EmailProvider `xml:"emailProvider"`
	AddressBook []DAVConfig   `xml:"addressBook"`
	Calendar    []DAVConfig   `xml:"calendar"`
}

// EmailProvider lists the incoming and outgoing servers of a domain.
type EmailProvider struct {
	ID               string         `xml:"id,attr"`
	Domain           []string       `xml:"domain"`
	DisplayName      string         `xml:"displayName"`
	DisplayShortName string         `xml:"displayShortName"`
	Incoming         []ServerConfig `xml:"incomingServer"`
	Outgoing         []ServerConfig `xml:"outgoingServer"`
}

// ServerConfig is one incomingServer or outgoingServer.
type ServerConfig struct {
	Type           string `xml:"type,attr"` // imap, pop3, smtp
	Hostname       string `xml:"hostname"`
	Port           int    `xml:"port"`
	SocketType     string `xml:"socketType"` // SSL, STARTTLS, plain
	Authentication string `xml:"authentication"`
	Username       string `xml:"username"`
}

// DAVConfig is an addressBook (carddav) or calendar (caldav) entry.
type DAVConfig struct {
	Type           string `xml:"type,attr"`
	Username       string `xml:"username"`
	Authentication string `xml:"authentication"`
	ServerURL      string `xml:"serverURL"`
}

// Autoconfig returns the clientConfig document for a. The user name is
// a's address, or Thunderbird's %EMAILADDRESS% placeholder when a has
// none (a request without emailaddress).
func Autoconfig(a Account) ([]byte, error) {
	user := a.Username
	if user == "" {
		user = "%EMAILADDRESS%"
	}
	srv := func(typ string, port int, implicit bool) ServerConfig {
		st := "STARTTLS"
		if implicit {
			st = "SSL"
		}
		return ServerConfig{Type: typ, Hostname: a.Host, Port: port, SocketType: st,
			Authentication: "password-cleartext", Username: user}
	}
	p := EmailProvider{ID: a.Domain, Domain: []string{a.Domain}, DisplayName: "Roost mail for " + a.Domain, DisplayShortName: a.Domain}
	// Preferred first: implicit TLS (RFC 8314 §3.3), then STARTTLS; IMAP before POP3.
	for _, e := range []struct {
		typ      string
		port     int
		implicit bool
	}{{"imap", a.IMAPS, true}, {"imap", a.IMAP, false}, {"pop3", a.POP3S, true}, {"pop3", a.POP3, false}} {
		if e.port > 0 {
			p.Incoming = append(p.Incoming, srv(e.typ, e.port, e.implicit))
		}
	}
	if a.Submissions > 0 {
		p.Outgoing = append(p.Outgoing, srv("smtp", a.Submissions, true))
	}
	if a.Submission > 0 {
		p.Outgoing = append(p.Outgoing, srv("smtp", a.Submission, false))
	}
	cc := ClientConfig{Version: "1.1", Provider: p}
	if u := a.DAVURL(); u != "" {
		cc.Calendar = []DAVConfig{{Type: "caldav", Username: user, Authentication: "http-basic", ServerURL: u}}
		cc.AddressBook = []DAVConfig{{Type: "carddav", Username: user, Authentication: "http-basic", ServerURL: u}}
	}
	out, err := xml.MarshalIndent(cc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// BaseURL is https://host[:port] of the HTTPS listener, "" when it is not offered.
func (a Account) BaseURL() string {
	switch a.HTTPS {
	case 0:
		return ""
	case 443:
		return "https://" + a.Host
	}
	return "https://" + net.JoinHostPort(a.Host, strconv.Itoa(a.HTTPS))
}

// DAVURL is the CalDAV/CardDAV context path (davserver serves /dav/).
func (a Account) DAVURL() string {
	if b := a.BaseURL(); b != "" {
		return b + "/dav/"
	}
	return ""
}
