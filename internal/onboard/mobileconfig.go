package onboard

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// Apple configuration profiles (Configuration Profile Reference:
// com.apple.mail.managed, com.apple.caldav.account,
// com.apple.carddav.account), written as an XML property list.

// plist values: string, int, bool, []any, map[string]any.
func writePlist(b *strings.Builder, v any, indent string) {
	switch v := v.(type) {
	case string:
		b.WriteString(indent + "<string>" + xmlEscape(v) + "</string>\n")
	case int:
		fmt.Fprintf(b, "%s<integer>%d</integer>\n", indent, v)
	case bool:
		if v {
			b.WriteString(indent + "<true/>\n")
		} else {
			b.WriteString(indent + "<false/>\n")
		}
	case []any:
		b.WriteString(indent + "<array>\n")
		for _, e := range v {
			writePlist(b, e, indent+"\t")
		}
		b.WriteString(indent + "</array>\n")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(indent + "<dict>\n")
		for _, k := range keys {
			b.WriteString(indent + "\t<key>" + xmlEscape(k) + "</key>\n")
			writePlist(b, v[k], indent+"\t")
		}
		b.WriteString(indent + "</dict>\n")
	default:
		panic(fmt.Sprintf("plist: unsupported %T", v))
	}
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}

// uuid returns a random RFC 9562 version 4 UUID.
func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return strings.ToUpper(h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:])
}

// ProfileUser is the user a profile is made for.
type ProfileUser struct {
	Login    string // DAV principal path segment
	Address  string // primary address: account name and login for mail
	FullName string
	// Password, when set, goes into every account of the profile: an app
	// password made for a user with a second factor, whose own password
	// the device could not use. Empty: the device asks.
	Password string
	// ActiveSync adds an Exchange ActiveSync account (com.apple.eas.account)
	// when HTTPS is offered: for users with the mobile feature.
	ActiveSync bool
}

// MobileConfig returns the (unsigned) configuration profile for u with an
// IMAP/SMTP account and, when HTTPS is offered, CalDAV and CardDAV
// accounts (and ActiveSync, u.ActiveSync). Passwords are included only
// as u.Password (an app password); otherwise the device asks for them.
// PayloadIdentifiers are stable per host and user, so installing a newer
// profile replaces the older one.
func MobileConfig(u ProfileUser, a Account) []byte {
	sum := sha256.Sum256([]byte(a.Host + "\x00" + u.Login))
	idBase := "org.roost." + reverseHost(a.Host) + "." + hex.EncodeToString(sum[:6])
	payload := func(typ, id, name string) map[string]any {
		return map[string]any{"PayloadType": typ, "PayloadVersion": 1, "PayloadIdentifier": idBase + "." + id,
			"PayloadUUID": uuid(), "PayloadDisplayName": name}
	}
	var content []any
	inPort, inSSL := a.IMAPS, true
	if inPort == 0 {
		inPort, inSSL = a.IMAP, false
	}
	outPort, outSSL := a.Submissions, true
	if outPort == 0 {
		outPort, outSSL = a.Submission, false
	}
	if inPort > 0 && outPort > 0 {
		m := payload("com.apple.mail.managed", "mail", "Mail ("+u.Address+")")
		for k, v := range map[string]any{
			"EmailAccountDescription": u.Address, "EmailAccountName": u.FullName, "EmailAccountType": "EmailTypeIMAP",
			"EmailAddress": u.Address, "IncomingMailServerAuthentication": "EmailAuthPassword",
			"IncomingMailServerHostName": a.Host, "IncomingMailServerPortNumber": inPort,
			"IncomingMailServerUseSSL": inSSL, "IncomingMailServerUsername": u.Address,
			"OutgoingMailServerAuthentication": "EmailAuthPassword", "OutgoingMailServerHostName": a.Host,
			"OutgoingMailServerPortNumber": outPort, "OutgoingMailServerUseSSL": outSSL,
			"OutgoingMailServerUsername": u.Address, "OutgoingPasswordSameAsIncomingPassword": true,
		} {
			m[k] = v
		}
		if u.Password != "" {
			m["IncomingPassword"], m["OutgoingPassword"] = u.Password, u.Password
		}
		content = append(content, m)
	}
	if a.HTTPS > 0 {
		for _, kind := range []struct{ typ, pre, id, name, home string }{
			{"com.apple.caldav.account", "CalDAV", "caldav", "Calendars", "/dav/principals/"},
			{"com.apple.carddav.account", "CardDAV", "carddav", "Contacts", "/dav/principals/"},
		} {
			m := payload(kind.typ, kind.id, kind.name+" ("+u.Address+")")
			m[kind.pre+"AccountDescription"] = kind.name + " " + u.Address
			m[kind.pre+"HostName"] = a.Host
			m[kind.pre+"Port"] = a.HTTPS
			m[kind.pre+"UseSSL"] = true
			m[kind.pre+"Username"] = u.Address
			m[kind.pre+"PrincipalURL"] = a.BaseURL() + kind.home + u.Login + "/"
			if u.Password != "" {
				m[kind.pre+"Password"] = u.Password
			}
			content = append(content, m)
		}
		if u.ActiveSync && a.EASURL() != "" {
			// Configuration Profile Reference, ExchangeActiveSync: the
			// device finds /Microsoft-Server-ActiveSync on Host.
			host := a.Host
			if a.HTTPS != 443 {
				host = net.JoinHostPort(a.Host, strconv.Itoa(a.HTTPS))
			}
			m := payload("com.apple.eas.account", "eas", "Exchange ActiveSync ("+u.Address+")")
			m["EmailAddress"], m["UserName"], m["Host"], m["SSL"] = u.Address, u.Address, host, true
			m["MailNumberOfPastDaysToSync"] = 30
			if u.Password != "" {
				m["Password"] = u.Password
			}
			content = append(content, m)
		}
	}
	top := map[string]any{"PayloadContent": content, "PayloadDisplayName": "Roost: " + u.Address,
		"PayloadDescription": "Mail, calendars and contacts of " + u.Address + " on " + a.Host,
		"PayloadIdentifier":  idBase, "PayloadOrganization": a.Host, "PayloadType": "Configuration",
		"PayloadUUID": uuid(), "PayloadVersion": 1, "PayloadRemovalDisallowed": false}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString(`<plist version="1.0">` + "\n")
	writePlist(&b, top, "")
	b.WriteString("</plist>\n")
	return []byte(b.String())
}

func reverseHost(h string) string {
	l := strings.Split(strings.ToLower(h), ".")
	for i, j := 0, len(l)-1; i < j; i, j = i+1, j-1 {
		l[i], l[j] = l[j], l[i]
	}
	return strings.Join(l, ".")
}
