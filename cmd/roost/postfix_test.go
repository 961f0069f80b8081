package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	netmail "net/mail"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/roost-mail/roost/internal/postfixtest"
)

// pfMultistatus is the part of a PROPFIND answer the test reads.
type pfMultistatus struct {
	Responses []struct {
		Href     string `xml:"DAV: href"`
		Propstat []struct {
			Status string `xml:"DAV: status"`
			Prop   struct {
				ResourceType struct {
					Collection *struct{} `xml:"DAV: collection"`
					Calendar   *struct{} `xml:"urn:ietf:params:xml:ns:caldav calendar"`
				} `xml:"DAV: resourcetype"`
				Comps struct {
					Comp []struct {
						Name string `xml:"name,attr"`
					} `xml:"urn:ietf:params:xml:ns:caldav comp"`
				} `xml:"urn:ietf:params:xml:ns:caldav supported-calendar-component-set"`
			} `xml:"DAV: prop"`
		} `xml:"DAV: propstat"`
	} `xml:"DAV: response"`
}

// pfDAV is a plain CalDAV client: net/http with Basic auth.
type pfDAV struct {
	t         *testing.T
	base      string // http://host:port
	login, pw string
	c         *http.Client
}

func (d *pfDAV) do(method, path string, body string, hdr ...string) (int, http.Header, string) {
	d.t.Helper()
	req, err := http.NewRequest(method, d.base+path, strings.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	req.SetBasicAuth(d.login, d.pw)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := d.c.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// propfind lists path's children (Depth 1) with their resource types.
func (d *pfDAV) propfind(path string) pfMultistatus {
	d.t.Helper()
	code, _, body := d.do("PROPFIND", path, `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:resourcetype/><c:supported-calendar-component-set/></d:prop></d:propfind>`,
		"Depth", "1", "Content-Type", "application/xml; charset=utf-8")
	if code != http.StatusMultiStatus {
		d.t.Fatalf("PROPFIND %s as %s: %d\n%s", path, d.login, code, body)
	}
	var ms pfMultistatus
	if err := xml.Unmarshal([]byte(body), &ms); err != nil {
		d.t.Fatalf("PROPFIND %s: %v\n%s", path, err, body)
	}
	return ms
}

// eventCalendar finds the user's calendar for events (the default one a
// new user has) in the calendar home.
func (d *pfDAV) eventCalendar() string {
	d.t.Helper()
	home := "/dav/calendars/" + d.login + "/"
	ms := d.propfind(home)
	for _, r := range ms.Responses {
		for _, ps := range r.Propstat {
			if !strings.Contains(ps.Status, " 200 ") || ps.Prop.ResourceType.Calendar == nil {
				continue
			}
			comps := ps.Prop.Comps.Comp
			if len(comps) == 0 || slices.ContainsFunc(comps, func(c struct {
				Name string `xml:"name,attr"`
			}) bool {
				return c.Name == "VEVENT"
			}) {
				return r.Href
			}
		}
	}
	d.t.Fatalf("no event calendar in %s: %+v", home, ms)
	return ""
}

// objects returns the contents of the resources of a calendar.
func (d *pfDAV) objects(cal string) []string {
	d.t.Helper()
	var out []string
	for _, r := range d.propfind(cal).Responses {
		if r.Href == cal || strings.HasSuffix(r.Href, "/") {
			continue
		}
		code, _, body := d.do("GET", r.Href, "")
		if code != http.StatusOK {
			d.t.Fatalf("GET %s: %d %s", r.Href, code, body)
		}
		out = append(out, body)
	}
	return out
}

// pfHeader returns a header field of a message as Postfix delivered it.
func pfHeader(t *testing.T, data, name string) string {
	t.Helper()
	m, err := netmail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, data)
	}
	return m.Header.Get(name)
}

// pfIsIMIP reports whether a sink message is an iMIP message (RFC 6047 §2.4)
// of the method from alice to only someone@remote.test, for the UID.
func pfIsIMIP(t *testing.T, m postfixtest.Message, method, uid string) bool {
	if m.From != "alice@acme.test" || strings.Join(m.To, ",") != "someone@remote.test" {
		return false
	}
	mt, params, err := mime.ParseMediaType(pfHeader(t, m.Data, "Content-Type"))
	if err != nil || mt != "text/calendar" || !strings.EqualFold(params["method"], method) {
		return false
	}
	from, err := netmail.ParseAddress(pfHeader(t, m.Data, "From"))
	if err != nil || from.Address != "alice@acme.test" {
		return false
	}
	_, body, _ := strings.Cut(m.Data, "\r\n\r\n")
	return strings.Contains(body, "METHOD:"+method+"\r\n") && strings.Contains(body, "UID:"+uid+"\r\n") &&
		strings.Contains(body, "mailto:someone@remote.test")
}

// TestPostfixIMIPAgainstServe runs `roost serve` between two sides of a
// real Postfix: Postfix is its smtp_server (a sink that keeps what Roost
// sends out) and sits in front of it, handing mail for acme.test to
// Roost's LMTP socket. alice's CalDAV client stores a meeting with an
// internal attendee (bob) and an external one: bob's calendar gets the
// invitation and Postfix receives the iMIP REQUEST for the external
// attendee; the attendee's iMIP REPLY, mailed through Postfix, updates
// alice's copy; an external organizer's invitation to bob lands in bob's
// calendar; alice's delete sends the iMIP CANCEL. Mail alice submits to
// a remote address arrives at Postfix too, and with `roost admin domain
// dkim` everything Roost sends carries a DKIM signature that verifies
// against the printed DNS record.
func TestPostfixIMIPAgainstServe(t *testing.T) {
	t.Parallel()
	subAddr, httpAddr := freeAddr(t), freeAddr(t)
	// Postfix hands mail for acme.test to Roost's LMTP socket and keeps
	// the rest (what Roost sends out) in its sink. The socket is in a
	// directory Postfix (user postfix) can enter, as the lmtp_socket
	// documentation asks; roost serve makes the socket itself writable.
	sockDir := t.TempDir()
	postfixtest.Reachable(t, sockDir)
	sock := filepath.Join(sockDir, "lmtp.sock")
	pf := postfixtest.Start(t, postfixtest.Config{Sink: true, Hostname: "mx.test",
		LMTP: map[string]string{"acme.test": "unix:" + sock}})
	bin := roostBinary(t)
	dir := t.TempDir()
	cfg := quietConfig(t, dir)
	cfgText, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(`submission_listen = "off"`, fmt.Sprintf("submission_listen = %q", subAddr),
		`http_listen = "off"`, fmt.Sprintf("http_listen = %q", httpAddr)).Replace(string(cfgText))
	text += fmt.Sprintf("allow_plaintext_auth = true\nserver_name = \"roost.acme.test\"\nsmtp_server = %q\nsmtp_tls = \"none\"\nlmtp_socket = %q\n", pf.Addr, sock)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, bin, cfg, dir)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("roost output:\n%s", srv.out)
		}
	})
	admin := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"admin", "--config", cfg}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("roost admin %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	admin("", "domain", "add", "acme.test")
	admin("alice-pw\n", "user", "create", "alice", "--email", "alice@acme.test", "--name", "Alice", "--password-stdin")
	admin("bob-pw\n", "user", "create", "bob", "--email", "bob@acme.test", "--name", "Bob", "--password-stdin")

	// DKIM, when this build has the command: the key's DNS record, for
	// verifying what reaches Postfix.
	var dkimName, dkimTXT string
	help, _ := exec.Command(bin, "admin", "--help").CombinedOutput()
	if strings.Contains(string(help), "domain dkim") {
		out := admin("", "domain", "dkim", "acme.test", "--selector", "pf")
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, " IN TXT ") {
				dkimName = strings.TrimSuffix(strings.Fields(l)[0], ".")
				for _, m := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(l, -1) {
					dkimTXT += m[1]
				}
			}
		}
		if dkimName != "pf._domainkey.acme.test" || !strings.Contains(dkimTXT, "p=") {
			t.Fatalf("roost admin domain dkim printed no usable record:\n%s", out)
		}
	} else {
		t.Log("this build has no `roost admin domain dkim`: DKIM not checked")
	}
	checkDKIM := func(what, data string) {
		t.Helper()
		if dkimName == "" {
			return
		}
		lookup := func(name string) ([]string, error) {
			if name == dkimName {
				return []string{dkimTXT}, nil
			}
			return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
		}
		vs, err := dkim.VerifyWithOptions(strings.NewReader(data), &dkim.VerifyOptions{LookupTXT: lookup})
		if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "acme.test" {
			t.Fatalf("%s: DKIM at the Postfix sink: %v %+v\n%s", what, err, vs, data)
		}
	}

	hc := &http.Client{Timeout: 30 * time.Second}
	alice := &pfDAV{t: t, base: "http://" + httpAddr, login: "alice", pw: "alice-pw", c: hc}
	bob := &pfDAV{t: t, base: "http://" + httpAddr, login: "bob", pw: "bob-pw", c: hc}
	aliceCal, bobCal := alice.eventCalendar(), bob.eventCalendar()

	const uid = "pf-planning-1@acme.test"
	ics := strings.ReplaceAll(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Roost tests//Postfix sink//EN
BEGIN:VEVENT
UID:`+uid+`
DTSTAMP:20261101T090000Z
DTSTART:20261201T100000Z
DTEND:20261201T110000Z
SUMMARY:Planning with the remote team
ORGANIZER;CN=Alice:mailto:alice@acme.test
ATTENDEE;CN=Alice;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:alice@acme.test
ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@acme.test
ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:someone@remote.test
END:VEVENT
END:VCALENDAR
`, "\n", "\r\n")
	event := aliceCal + "planning.ics"
	if code, _, body := alice.do("PUT", event, ics, "Content-Type", "text/calendar; charset=utf-8", "If-None-Match", "*"); code != http.StatusCreated {
		t.Fatalf("PUT %s: %d\n%s", event, code, body)
	}

	// bob's calendar has the invitation.
	bobHas := func(cond func(string) bool) bool {
		for _, o := range bob.objects(bobCal) {
			if strings.Contains(o, "UID:"+uid) && cond(o) {
				return true
			}
		}
		return false
	}
	pfWaitFor(t, "the invitation in bob's calendar", func() bool {
		return bobHas(func(o string) bool { return !strings.Contains(o, "STATUS:CANCELLED") })
	})

	// Postfix received the iMIP REQUEST for the external attendee only.
	ms := pf.Wait(t, "the iMIP REQUEST to someone@remote.test", func(ms []postfixtest.Message) bool {
		return slices.ContainsFunc(ms, func(m postfixtest.Message) bool { return pfIsIMIP(t, m, "REQUEST", uid) })
	})
	for _, m := range ms {
		if slices.Contains(m.To, "bob@acme.test") || slices.Contains(m.To, "alice@acme.test") {
			t.Fatalf("mail for a local user went out to Postfix: %+v", m)
		}
		if pfIsIMIP(t, m, "REQUEST", uid) {
			if !strings.Contains(pfHeader(t, m.Data, "Subject"), "Planning with the remote team") {
				t.Errorf("iMIP subject %q", pfHeader(t, m.Data, "Subject"))
			}
			checkDKIM("iMIP REQUEST", m.Data)
		}
	}
	pf.WaitLog(t, "to=<someone@remote.test>", "relay=sink", "status=sent")

	// The external attendee accepts by mail, through Postfix and LMTP:
	// alice's copy shows the answer.
	reply := strings.ReplaceAll(`From: <someone@remote.test>
To: <alice@acme.test>
Subject: Accepted: Planning with the remote team
Date: Mon, 02 Nov 2026 09:00:00 +0000
Message-ID: <reply-1@remote.test>
MIME-Version: 1.0
Content-Type: text/calendar; charset=utf-8; method=REPLY

BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Remote//Mail client//EN
METHOD:REPLY
BEGIN:VEVENT
UID:`+uid+`
DTSTAMP:20261102T090000Z
DTSTART:20261201T100000Z
DTEND:20261201T110000Z
ORGANIZER:mailto:alice@acme.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:someone@remote.test
END:VEVENT
END:VCALENDAR
`, "\n", "\r\n")
	if err := smtp.SendMail(pf.Addr, nil, "someone@remote.test", []string{"alice@acme.test"}, []byte(reply)); err != nil {
		t.Fatalf("Postfix refused the iMIP REPLY: %v", err)
	}
	pf.WaitLog(t, "to=<alice@acme.test>", "["+sock+"]", "status=sent", "250 2.0.0 <alice@acme.test> delivered")
	pfWaitFor(t, "someone@remote.test's acceptance in alice's event", func() bool {
		code, _, body := alice.do("GET", event, "")
		return code == http.StatusOK && strings.Contains(pfProperty(body, "ATTENDEE", "mailto:someone@remote.test"), "PARTSTAT=ACCEPTED")
	})

	// An external organizer invites bob by mail: the event lands in bob's
	// calendar.
	invite := strings.ReplaceAll(`From: <boss@remote.test>
To: <bob@acme.test>
Subject: Invitation: Review
Date: Mon, 02 Nov 2026 09:00:00 +0000
Message-ID: <invite-1@remote.test>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

You are invited to the review.
--b1
Content-Type: text/calendar; charset=utf-8; method=REQUEST

BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Remote//Mail client//EN
METHOD:REQUEST
BEGIN:VEVENT
UID:pf-review-1@remote.test
DTSTAMP:20261102T090000Z
DTSTART:20261203T140000Z
DTEND:20261203T150000Z
SUMMARY:Review
ORGANIZER:mailto:boss@remote.test
ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@acme.test
END:VEVENT
END:VCALENDAR
--b1--
`, "\n", "\r\n")
	if err := smtp.SendMail(pf.Addr, nil, "boss@remote.test", []string{"bob@acme.test"}, []byte(invite)); err != nil {
		t.Fatalf("Postfix refused the iMIP REQUEST: %v", err)
	}
	pf.WaitLog(t, "to=<bob@acme.test>", "["+sock+"]", "status=sent", "250 2.0.0 <bob@acme.test> delivered")
	pfWaitFor(t, "boss@remote.test's invitation in bob's calendar", func() bool {
		for _, o := range bob.objects(bobCal) {
			if strings.Contains(o, "UID:pf-review-1@remote.test") {
				return true
			}
		}
		return false
	})

	// alice deletes the meeting: Postfix gets the CANCEL, bob's copy is
	// cancelled.
	if code, _, body := alice.do("DELETE", event, ""); code != http.StatusNoContent && code != http.StatusOK {
		t.Fatalf("DELETE %s: %d\n%s", event, code, body)
	}
	ms = pf.Wait(t, "the iMIP CANCEL to someone@remote.test", func(ms []postfixtest.Message) bool {
		return slices.ContainsFunc(ms, func(m postfixtest.Message) bool { return pfIsIMIP(t, m, "CANCEL", uid) })
	})
	for _, m := range ms {
		if pfIsIMIP(t, m, "CANCEL", uid) {
			checkDKIM("iMIP CANCEL", m.Data)
		}
	}
	pfWaitFor(t, "bob's copy to be cancelled", func() bool {
		return bobHas(func(o string) bool { return strings.Contains(o, "STATUS:CANCELLED") })
	})

	// Submission through Roost to a remote address reaches Postfix.
	msg := "From: Alice <alice@acme.test>\r\nTo: <partner@remote.test>\r\nSubject: Offer via Postfix\r\n" +
		"Date: Thu, 01 Jan 2026 12:00:00 +0000\r\nMessage-ID: <offer-pf@acme.test>\r\n\r\nHello over there.\r\n"
	if err := submitTLS(subAddr, "alice", "alice-pw", "alice@acme.test", []string{"partner@remote.test"}, msg); err != nil {
		t.Fatalf("submit: %v", err)
	}
	ms = pf.Wait(t, "alice's submitted message", func(ms []postfixtest.Message) bool {
		return slices.ContainsFunc(ms, func(m postfixtest.Message) bool {
			return m.From == "alice@acme.test" && strings.Join(m.To, ",") == "partner@remote.test"
		})
	})
	for _, m := range ms {
		if m.From != "alice@acme.test" || strings.Join(m.To, ",") != "partner@remote.test" {
			continue
		}
		if pfHeader(t, m.Data, "Message-ID") != "<offer-pf@acme.test>" || !strings.HasSuffix(m.Data, "\r\n\r\nHello over there.\r\n") {
			t.Fatalf("submitted message at Postfix:\n%s", m.Data)
		}
		if dkimName != "" && pfHeader(t, m.Data, "DKIM-Signature") == "" {
			t.Fatalf("no DKIM-Signature although acme.test has a key:\n%s", m.Data)
		}
		checkDKIM("submission", m.Data)
	}
	// Roost's queue is empty: everything was accepted by Postfix.
	pfWaitFor(t, "Roost's queue to drain", func() bool {
		return strings.Count(strings.TrimSpace(admin("", "queue", "list")), "\n") == 0
	})
	// Nothing else went out: one REQUEST, one CANCEL (the reply and the
	// incoming invitation sent nothing), the submitted message, no bounce.
	ms, err = pf.Messages()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		for _, m := range ms {
			t.Logf("at the sink: from <%s> to %v\n%s", m.From, m.To, m.Data)
		}
		t.Fatalf("Postfix received %d messages from Roost, want 3", len(ms))
	}
}

// pfProperty returns the first property line (unfolded) of an iCalendar
// object with the name whose line contains value.
func pfProperty(ics, name, value string) string {
	for _, l := range strings.Split(strings.ReplaceAll(strings.ReplaceAll(ics, "\r\n ", ""), "\r\n\t", ""), "\r\n") {
		if (strings.HasPrefix(l, name+";") || strings.HasPrefix(l, name+":")) && strings.Contains(l, value) {
			return l
		}
	}
	return ""
}

// pfWaitFor polls cond until it holds, for up to a minute.
func pfWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
