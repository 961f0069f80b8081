package pop3server

import (
	"encoding/base64"
	"errors"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/proto/sasl"
)

// maxSASLLine bounds a base64 SASL response line: a bearer message of
// sasl.MaxBearerMessage bytes, encoded.
var maxSASLLine = base64.StdEncoding.EncodedLen(sasl.MaxBearerMessage) + 2

// authBearer runs AUTH OAUTHBEARER (RFC 7628) or XOAUTH2 (RFC 5034
// framing). A refused token gets OAUTHBEARER's error challenge (RFC 7628
// §3.2.2), which the client answers with a dummy %x01, then -ERR [AUTH].
// It reports whether the session ends.
func (ss *session) authBearer(mech, initial string, hasInitial bool) bool {
	if !ss.plaintextOK() {
		return ss.reply("-ERR [AUTH] use STLS first: credentials are not accepted on an unencrypted connection") != nil
	}
	if !hasInitial || initial == "=" {
		if !hasInitial {
			if err := ss.reply("+ "); err != nil {
				return true
			}
			line, err := ss.readLineMax(maxSASLLine)
			if errors.Is(err, errLineTooLong) {
				return ss.badCommand("SASL response too long")
			}
			if err != nil {
				return true
			}
			initial = line
		} else {
			initial = ""
		}
	}
	if initial == "*" {
		return ss.reply("-ERR authentication cancelled") != nil
	}
	raw, err := base64.StdEncoding.DecodeString(initial)
	if err != nil {
		return ss.badCommand("invalid base64 in AUTH")
	}
	parse := sasl.ParseOAuthBearer
	if mech == "XOAUTH2" {
		parse = sasl.ParseXOAuth2
	}
	b, err := parse(raw)
	if err != nil {
		return ss.badCommand("malformed " + mech + " response")
	}
	p, err := ss.srv.o.VerifyToken(ss.ctx, b.Token, b.AuthzID, ss.conn.RemoteAddr())
	if err != nil || p == nil {
		if err == nil || errors.Is(err, directory.ErrBadCredentials) {
			// RFC 7628 §3.2.3: the error challenge, then the client's
			// %x01 (or "*"), then the failure.
			ch := base64.StdEncoding.EncodeToString(sasl.ErrorChallenge("invalid_token", "", ""))
			if err := ss.reply("+ %s", ch); err != nil {
				return true
			}
			if _, err := ss.readLineMax(maxSASLLine); err != nil && !errors.Is(err, errLineTooLong) {
				return true
			}
		}
		return ss.loginFailure(b.AuthzID, err)
	}
	return ss.enter(p)
}

// maxGSSAPILine bounds a GSSAPI response line (a ticket with a large
// PAC is a few KiB; the directory refuses tokens over 64 KiB).
var maxGSSAPILine = base64.StdEncoding.EncodedLen(64<<10) + 2

// authGSSAPI runs AUTH GSSAPI (RFC 4752, RFC 5034 framing): the
// directory's exchange answers each response with a challenge until it
// is done. It reports whether the session ends.
func (ss *session) authGSSAPI(initial string, hasInitial bool) bool {
	ex := ss.srv.o.GSSAPI(ss.conn.RemoteAddr())
	line := initial
	if !hasInitial {
		line = "" // the first challenge is empty; its answer is the AP-REQ
		if err := ss.reply("+ "); err != nil {
			return true
		}
		l, err := ss.readLineMax(maxGSSAPILine)
		if errors.Is(err, errLineTooLong) {
			return ss.badCommand("SASL response too long")
		}
		if err != nil {
			return true
		}
		line = l
	} else if line == "=" {
		line = ""
	}
	for range 8 {
		if line == "*" {
			return ss.reply("-ERR authentication cancelled") != nil
		}
		raw, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return ss.badCommand("invalid base64 in AUTH")
		}
		chal, p, done, err := ex.Next(ss.ctx, raw)
		if err != nil || done {
			if err != nil || p == nil {
				return ss.loginFailure("", err)
			}
			return ss.enter(p)
		}
		if err := ss.reply("+ %s", base64.StdEncoding.EncodeToString(chal)); err != nil {
			return true
		}
		l, err := ss.readLineMax(maxGSSAPILine)
		if errors.Is(err, errLineTooLong) {
			return ss.badCommand("SASL response too long")
		}
		if err != nil {
			return true
		}
		line = l
	}
	return ss.badCommand("too many GSSAPI steps")
}
