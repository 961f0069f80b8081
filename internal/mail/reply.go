package mail

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"

	pmime "github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// userAddresses returns the user's addresses (primary and aliases),
// lower-cased.
func userAddresses(u *store.User) map[string]bool {
	m := map[string]bool{}
	if u.Email != "" {
		m[strings.ToLower(u.Email)] = true
	}
	for _, a := range u.Aliases {
		if strings.Contains(a, "@") && !strings.HasPrefix(a, "@") {
			m[strings.ToLower(a)] = true
		}
	}
	return m
}

func anyIn(addrs []string, set map[string]bool) bool {
	for _, a := range addrs {
		if set[a] {
			return true
		}
	}
	return false
}

// systemLocal reports whether an address belongs to a mail system rather
// than a person: Kopano's autoresponder list (mailer-daemon, postmaster,
// root) plus the list conventions of RFC 5230 §4.6 (owner-*, *-request).
func systemLocal(addr string) bool {
	local, _, _ := strings.Cut(strings.ToLower(addr), "@")
	switch local {
	case "mailer-daemon", "postmaster", "root":
		return true
	}
	return strings.HasPrefix(local, "owner-") || strings.HasSuffix(local, "-request")
}

// isAutomatic reports why a message must never get an automatic reply
// (RFC 3834 §2, RFC 5230 §4.6), or "".
func isAutomatic(msg *message) string {
	for _, v := range msg.header("Auto-Submitted") {
		kw, _, _ := strings.Cut(strings.TrimSpace(v), ";")
		if !strings.EqualFold(strings.TrimSpace(kw), "no") {
			return "Auto-Submitted: " + v
		}
	}
	for _, v := range msg.header("Precedence") {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "bulk", "list", "junk":
			return "Precedence: " + v
		}
	}
	for _, f := range msg.root.Header.Fields() {
		if len(f.Name) > 5 && strings.EqualFold(f.Name[:5], "List-") {
			return "mailing list (" + f.Name + ")"
		}
	}
	return ""
}

// autoReplyBlocked applies the rules shared by vacation and out-of-office
// and returns why no reply may be sent, or "".
func autoReplyBlocked(env Envelope, msg *message, mine map[string]bool) string {
	sender := strings.ToLower(env.From)
	switch {
	case sender == "":
		return "null sender"
	case !strings.Contains(sender, "@"):
		return "sender without a domain"
	case mine[sender]:
		return "message from oneself"
	case systemLocal(sender):
		return "sender is a mail system address"
	}
	for _, f := range msg.addresses("From", "Sender") {
		if systemLocal(f) {
			return "message from a mail system address"
		}
	}
	return isAutomatic(msg)
}

// recordKey builds a store.RecordOnce key, hashing the address when the
// key would pass store.MaxPropKey.
func recordKey(prefix, addr string) string {
	k := prefix + strings.ToLower(addr)
	if len(k) <= store.MaxPropKey {
		return k
	}
	h := sha256.Sum256([]byte(strings.ToLower(addr)))
	return prefix + "sha256:" + hex.EncodeToString(h[:])
}

func formatAddress(name, addr string) string {
	return (&mail.Address{Name: name, Address: addr}).String()
}

func decodedSubject(msg *message) string {
	return strings.TrimSpace(pmime.DecodeHeaderValue(msg.first("Subject")))
}

type replySpec struct {
	from, to string // header From (formatted) and the recipient address
	subject  string
	body     string
	mime     bool // body is a MIME entity with its own header
	orig     *message
	host     string
	date     time.Time
}

// buildReply builds an automatic reply (RFC 3834 §3): Auto-Submitted:
// auto-replied, In-Reply-To and References of the original.
func buildReply(r replySpec) []byte {
	var b strings.Builder
	hdr := func(name, value string) { fmt.Fprintf(&b, "%s: %s\r\n", name, value) }
	hdr("From", r.from)
	hdr("To", r.to)
	hdr("Subject", mime.QEncoding.Encode("utf-8", oneLine(r.subject)))
	hdr("Date", r.date.Format(time.RFC1123Z))
	hdr("Message-ID", newMessageID(r.host))
	if id := strings.TrimSpace(r.orig.first("Message-ID")); id != "" {
		hdr("In-Reply-To", oneLine(id))
		refs := strings.TrimSpace(r.orig.first("References"))
		if refs == "" {
			refs = strings.TrimSpace(r.orig.first("In-Reply-To"))
		}
		if refs != "" {
			refs += " "
		}
		hdr("References", oneLine(refs+id))
	}
	hdr("Auto-Submitted", "auto-replied")
	hdr("X-Auto-Response-Suppress", "All")
	hdr("MIME-Version", "1.0")
	if r.mime {
		// RFC 5230 §5.8: the reason is a MIME entity, header included.
		body := strings.ReplaceAll(strings.ReplaceAll(r.body, "\r\n", "\n"), "\n", "\r\n")
		b.WriteString(strings.TrimLeft(body, "\r\n"))
		return []byte(b.String())
	}
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(r.body, "\r\n", "\n"), "\n", "\r\n")
	b.WriteString(body)
	if !strings.HasSuffix(body, "\r\n") {
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

func oneLine(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	if len(s) > 900 {
		s = s[:900]
	}
	return s
}

func newMessageID(host string) string {
	var r [12]byte
	rand.Read(r[:])
	if host == "" {
		host = "localhost"
	}
	return "<" + hex.EncodeToString(r[:]) + "@" + host + ">"
}
