package groupware

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	stdmime "mime"
	"regexp"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// maxITIPPart bounds the text/calendar part read from an incoming mail.
const maxITIPPart = 10 << 20

// BuildIMIP composes an iMIP message (RFC 6047): a single text/calendar
// body with the iTIP method, from the organizer's or attendee's own
// address. host names the server in the Message-ID.
func BuildIMIP(from string, to []string, method string, ics []byte, host string, now time.Time) []byte {
	method = strings.ToUpper(method)
	summary := icsSummary(ics)
	subject := map[string]string{"REQUEST": "Invitation", "REPLY": "Reply", "CANCEL": "Cancelled",
		"COUNTER": "Counter proposal", "DECLINECOUNTER": "Counter proposal declined", "REFRESH": "Refresh"}[method]
	if subject == "" {
		subject = "Calendar " + strings.ToLower(method)
	}
	if summary != "" {
		subject += ": " + summary
	}
	var id [12]byte
	rand.Read(id[:])
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n",
		from, angleList(to), stdmime.QEncoding.Encode("utf-8", subject), now.Format(time.RFC1123Z), hex.EncodeToString(id[:]), host)
	fmt.Fprintf(&b, "Content-Type: text/calendar; charset=utf-8; method=%s\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", method)
	b.Write(bytes.ReplaceAll(bytes.ReplaceAll(ics, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n")))
	return b.Bytes()
}

func angleList(addrs []string) string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = "<" + a + ">"
	}
	return strings.Join(out, ", ")
}

var summaryRE = regexp.MustCompile(`(?m)^SUMMARY[^:\r\n]*:([^\r\n]*)`)

// icsSummary is the first SUMMARY value (unfolding ignored: a subject
// line needs only its start), control characters removed.
func icsSummary(ics []byte) string {
	m := summaryRE.FindSubmatch(ics)
	if m == nil {
		return ""
	}
	s := strings.NewReplacer(`\,`, ",", `\;`, ";", `\n`, " ", `\N`, " ", `\\`, `\`).Replace(string(m[1]))
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.TrimSpace(s)
}

// CalendarPart returns the decoded text/calendar part of a message (the
// first one carrying an iTIP method, else the first one), or nil.
func CalendarPart(msg []byte) ([]byte, error) {
	root, err := mime.Parse(msg, mime.Limits{})
	if err != nil {
		return nil, err
	}
	var first, withMethod *mime.Part
	root.Walk(func(p *mime.Part) bool {
		if p.MediaType == "text" && p.SubType == "calendar" {
			if first == nil {
				first = p
			}
			if p.Params.Get("method") != "" && withMethod == nil {
				withMethod = p
			}
		}
		return withMethod == nil
	})
	p := withMethod
	if p == nil {
		p = first
	}
	if p == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(p.DecodedBody(bytes.NewReader(msg)), maxITIPPart+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxITIPPart {
		return nil, fmt.Errorf("calendar part over %d bytes", maxITIPPart)
	}
	return b, nil
}

// HandleMail applies an incoming iMIP message delivered to u (RFC 6047):
// its text/calendar part goes through ProcessITIP with the envelope
// sender, and a reply that a resource's automatic answer produced is
// mailed back to the organizer. Messages without a calendar part, or
// whose sender may not make the change, are left as plain mail.
func (s *Scheduler) HandleMail(ctx context.Context, u *store.User, from string, msg []byte) error {
	ics, err := CalendarPart(msg)
	if err != nil || ics == nil || from == "" {
		return err
	}
	reply, err := s.ProcessITIP(ctx, u, from, ics)
	if errors.Is(err, ErrNotAuthorized) {
		s.log().Info("iMIP from a sender who may not change the event; kept as mail", "user", u.Login, "from", from)
		return nil
	}
	if err != nil {
		return err
	}
	if reply != nil && s.Outbound != nil {
		return s.Outbound.SendITIP(ctx, u.Email, []string{from}, "REPLY", reply)
	}
	return nil
}
