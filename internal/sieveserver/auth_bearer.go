package sieveserver

import (
	"errors"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/proto/sasl"
)

// authBearer runs AUTHENTICATE "OAUTHBEARER" (RFC 7628) or "XOAUTH2"
// with the configured token verifier; initial is the optional initial
// response. A refused token gets OAUTHBEARER's error challenge (RFC 7628
// §3.2.3), which the client answers with %x01, then NO.
func (sess *session) authBearer(mech string, initial []string) response {
	var resp []byte
	var ok bool
	if len(initial) == 1 {
		resp, ok = decode64(initial[0])
	} else {
		var r response
		resp, ok, r = sess.challenge("")
		if r.kind != "" {
			return r
		}
	}
	if !ok {
		return no("", "invalid base64")
	}
	parse := sasl.ParseOAuthBearer
	if mech == "XOAUTH2" {
		parse = sasl.ParseXOAuth2
	}
	b, err := parse(resp)
	if err != nil {
		return no("", "invalid "+mech+" response")
	}
	p, err := sess.s.o.VerifyToken(sess.s.ctx, b.Token, b.AuthzID, sess.c.RemoteAddr())
	if err != nil || p == nil {
		if err == nil || errors.Is(err, directory.ErrBadCredentials) {
			// The client's answer (%x01, or "*") does not matter.
			_, _, r := sess.challenge(string(sasl.ErrorChallenge("invalid_token", "", "")))
			if r.kind == "BYE" || sess.quit {
				return r
			}
		}
		sess.auth++
		r := sess.authFailure(b.AuthzID, err)
		if sess.auth >= maxAuthFailures {
			r.kind = "BYE"
		}
		return r
	}
	return sess.enter(p)
}

// authGSSAPI runs AUTHENTICATE "GSSAPI" (RFC 4752): the directory's
// exchange answers each response with a challenge until it is done.
func (sess *session) authGSSAPI(initial []string) response {
	ex := sess.s.o.GSSAPI(sess.c.RemoteAddr())
	var resp []byte
	var ok bool
	var r response
	if len(initial) == 1 {
		resp, ok = decode64(initial[0])
	} else if resp, ok, r = sess.challenge(""); r.kind != "" {
		return r
	}
	for range 8 {
		if !ok {
			return no("", "invalid base64")
		}
		chal, p, done, err := ex.Next(sess.s.ctx, resp)
		if err != nil || (done && p == nil) {
			sess.auth++
			r := sess.authFailure("", err)
			if sess.auth >= maxAuthFailures {
				r.kind = "BYE"
			}
			return r
		}
		if done {
			return sess.enter(p)
		}
		if resp, ok, r = sess.challenge(string(chal)); r.kind != "" {
			return r
		}
	}
	return no("", "too many GSSAPI steps")
}
