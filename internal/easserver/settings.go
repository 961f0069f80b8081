package easserver

import (
	"errors"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

func se(name, v string) *wbxml.Node { return wbxml.Str(eas.Settings, name, v) }

// settings is Settings ([MS-ASCMD] §2.2.1.16): Oof get and set (the
// same out-of-office state as `roost admin user oof` and Sieve),
// DeviceInformation set and UserInformation get.
func settings(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	resp := wbxml.El(eas.Settings, "Settings", se("Status", "1"))
	for _, n := range req.Children {
		switch n.Name {
		case "Oof":
			r, err := c.oof(n)
			if err != nil {
				return nil, err
			}
			resp.Add(r)
		case "DeviceInformation":
			c.setDeviceInformation(n.Child("Set"))
			if err := c.saveDevice(); err != nil {
				return nil, err
			}
			resp.Add(wbxml.El(eas.Settings, "DeviceInformation", se("Status", "1")))
		case "UserInformation":
			u, err := c.s.o.Store.GetUser(store.SystemContext(c.ctx), c.p.Login)
			if err != nil {
				return nil, err
			}
			addrs := wbxml.El(eas.Settings, "EmailAddresses", se("SmtpAddress", u.Email))
			for _, a := range u.Aliases {
				addrs.Add(se("SmtpAddress", a))
			}
			get := wbxml.El(eas.Settings, "Get")
			if c.version >= "14.1" {
				addrs.Children = append([]*wbxml.Node{se("PrimarySmtpAddress", u.Email)}, addrs.Children...)
				acct := wbxml.El(eas.Settings, "Account")
				if u.FullName != "" {
					acct.Add(se("UserDisplayName", u.FullName))
				}
				get.Add(wbxml.El(eas.Settings, "Accounts", acct.Add(addrs)))
			} else {
				get.Add(addrs)
			}
			resp.Add(wbxml.El(eas.Settings, "UserInformation", se("Status", "1"), get))
		default:
			resp.Add(wbxml.El(eas.Settings, n.Name, se("Status", "2")))
		}
	}
	return resp, nil
}

func (c *call) oof(n *wbxml.Node) (*wbxml.Node, error) {
	r := wbxml.El(eas.Settings, "Oof")
	o, err := mail.GetOOF(c.ctx, c.s.o.Store, c.p.Login)
	if err != nil {
		return nil, err
	}
	if n.Child("Get") != nil {
		state := "0"
		if o.Enabled {
			state = "1"
			if !o.From.IsZero() || !o.Until.IsZero() {
				state = "2"
			}
		}
		get := wbxml.El(eas.Settings, "Get", se("OofState", state))
		if state == "2" {
			if !o.From.IsZero() {
				get.Add(se("StartTime", easTime(o.From)))
			}
			if !o.Until.IsZero() {
				get.Add(se("EndTime", easTime(o.Until)))
			}
		}
		// Roost answers everyone alike: the same message for the three
		// audiences.
		for _, who := range []string{"AppliesToInternal", "AppliesToExternalKnown", "AppliesToExternalUnknown"} {
			get.Add(wbxml.El(eas.Settings, "OofMessage", wbxml.El(eas.Settings, who), se("Enabled", b01(o.Enabled)),
				se("ReplyMessage", o.Message), se("BodyType", "TEXT")))
		}
		return r.Add(se("Status", "1"), get), nil
	}
	set := n.Child("Set")
	if set == nil {
		return r.Add(se("Status", "2")), nil
	}
	switch set.ChildText("OofState") {
	case "0":
		o.Enabled = false
	case "1":
		o.Enabled, o.From, o.Until = true, time.Time{}, time.Time{}
	case "2":
		from, err1 := time.Parse(time.RFC3339, set.ChildText("StartTime"))
		until, err2 := time.Parse(time.RFC3339, set.ChildText("EndTime"))
		if err1 != nil || err2 != nil {
			return r.Add(se("Status", "2")), nil
		}
		o.Enabled, o.From, o.Until = true, from, until
	default:
		return r.Add(se("Status", "2")), nil
	}
	for _, m := range set.All("OofMessage") {
		if m.Child("AppliesToInternal") != nil || o.Message == "" {
			if msg := m.ChildText("ReplyMessage"); msg != "" {
				if strings.EqualFold(m.ChildText("BodyType"), "HTML") {
					msg = htmlToText(msg)
				}
				o.Message = msg
			}
		}
	}
	if o.Enabled && o.Message == "" {
		return r.Add(se("Status", "2")), nil
	}
	if err := mail.SetOOF(c.ctx, c.s.o.Store, c.p.Login, o); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return r.Add(se("Status", "2")), nil
		}
		return nil, err
	}
	return r.Add(se("Status", "1")), nil
}
