package smtpserver

import (
	"encoding/base64"
	"errors"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/proto/sasl"
	"github.com/roost-mail/roost/internal/proto/smtp"
	"github.com/roost-mail/roost/internal/store"
)

// authBearer runs AUTH OAUTHBEARER (RFC 7628) or XOAUTH2 with the
// configured token verifier. A refused token gets OAUTHBEARER's error
// challenge (RFC 7628 §3.2.3: 334 with the JSON status), which the
// client answers with %x01, then 535. It reports whether the session
// goes on.
func (ss *subSession) authBearer(mech, initial string, hasInitial bool) bool {
	var resp []byte
	var ok bool
	if hasInitial {
		resp, ok = ss.decodeSASL(initial)
	} else {
		resp, ok = ss.challenge("")
	}
	if !ok {
		return ss.bad < maxSubBad
	}
	parse := sasl.ParseOAuthBearer
	if mech == "XOAUTH2" {
		parse = sasl.ParseXOAuth2
	}
	b, err := parse(resp)
	if err != nil {
		return !ss.fail(501, "5.5.2", "malformed "+mech+" response")
	}
	p, err := ss.o.VerifyToken(ss.srv.ctx, b.Token, b.AuthzID, ss.c.RemoteAddr())
	if err != nil || p == nil {
		if err == nil || errors.Is(err, directory.ErrBadCredentials) {
			ss.reply(334, "", "%s", base64.StdEncoding.EncodeToString(sasl.ErrorChallenge("invalid_token", "", "")))
			ss.w.Flush()
			ss.c.SetReadDeadline(time.Now().Add(ss.o.IdleTimeout))
			if _, err := smtp.ReadLine(ss.r, maxSubAuthLine); err != nil && !errors.Is(err, smtp.ErrLineTooLong) {
				ss.bad = maxSubBad // the connection is gone
				return false
			}
		}
		ss.fails++
		ss.authFailure(b.AuthzID, err)
		if ss.fails >= maxSubAuthFailures {
			ss.reply(421, "4.7.0", "too many failed authentications, closing connection")
			return false
		}
		return true
	}
	ss.enter(p)
	return true
}

// enter makes p the session's authenticated user.
func (ss *subSession) enter(p *store.Principal) {
	ss.p = p
	ss.ctx = store.WithPrincipal(ss.srv.ctx, p)
	ss.log = ss.log.With("user", p.Login, "tenant", p.Tenant)
	ss.log.Info("logged in", "tls", ss.tls)
	ss.reply(235, "2.7.0", "authentication succeeded")
}

// maxGSSAPILine bounds a GSSAPI response line (the directory refuses
// tokens over 64 KiB).
var maxGSSAPILine = base64.StdEncoding.EncodedLen(64<<10) + 2

// authGSSAPI runs AUTH GSSAPI (RFC 4752): the directory's exchange
// answers each response with a challenge until it is done. It reports
// whether the session goes on.
func (ss *subSession) authGSSAPI(initial string, hasInitial bool) bool {
	ex := ss.o.GSSAPI(ss.c.RemoteAddr())
	var resp []byte
	var ok bool
	if hasInitial {
		resp, ok = ss.decodeSASL(initial)
	} else {
		resp, ok = ss.challengeMax(nil, maxGSSAPILine)
	}
	for range 8 {
		if !ok {
			return ss.bad < maxSubBad
		}
		chal, p, done, err := ex.Next(ss.srv.ctx, resp)
		if err != nil || (done && p == nil) {
			ss.fails++
			ss.authFailure("", err)
			if ss.fails >= maxSubAuthFailures {
				ss.reply(421, "4.7.0", "too many failed authentications, closing connection")
				return false
			}
			return true
		}
		if done {
			ss.enter(p)
			return true
		}
		resp, ok = ss.challengeMax(chal, maxGSSAPILine)
	}
	return !ss.fail(501, "5.5.2", "too many GSSAPI steps")
}
