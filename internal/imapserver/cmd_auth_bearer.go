package imapserver

import (
	"errors"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/proto/sasl"
)

// authBearer runs SASL OAUTHBEARER (RFC 7628) or XOAUTH2 with the
// configured token verifier. A refused token gets OAUTHBEARER's JSON
// error challenge first (RFC 7628 §3.2.2), which the client answers
// with %x01, then the tagged NO.
func (s *session) authBearer(a *imap.AuthenticateCmd) (imap.Code, error) {
	resp := a.InitialResponse
	if !a.HasInitialResponse {
		var err error
		if resp, err = s.challenge(nil); err != nil {
			return "", err
		}
	}
	parse := sasl.ParseOAuthBearer
	if a.Mechanism == "XOAUTH2" {
		parse = sasl.ParseXOAuth2
	}
	b, err := parse(resp)
	if err != nil {
		return "", bad(imap.CodeParse, "Malformed "+a.Mechanism+" response")
	}
	p, err := s.o.VerifyToken(s.srv.ctx, b.Token, b.AuthzID, s.conn().RemoteAddr())
	if (err == nil && p == nil) || errors.Is(err, directory.ErrBadCredentials) {
		if _, cerr := s.challenge(sasl.ErrorChallenge("invalid_token", "", "")); cerr != nil {
			var re *respError
			if !errors.As(cerr, &re) { // a cancel is the expected answer
				return "", cerr
			}
		}
	}
	return s.enter(b.AuthzID, p, err)
}

// authGSSAPI runs SASL GSSAPI (RFC 4752): the directory's exchange
// answers each client response with a challenge until it is done.
func (s *session) authGSSAPI(a *imap.AuthenticateCmd) (imap.Code, error) {
	ex := s.o.GSSAPI(s.conn().RemoteAddr())
	resp := a.InitialResponse
	if !a.HasInitialResponse {
		var err error
		if resp, err = s.challenge(nil); err != nil {
			return "", err
		}
	}
	for range maxSASLSteps {
		chal, p, done, err := ex.Next(s.srv.ctx, resp)
		if err != nil || done {
			return s.enter("", p, err)
		}
		if resp, err = s.challenge(chal); err != nil {
			return "", err
		}
	}
	return "", bad(imap.CodeParse, "Too many GSSAPI steps")
}

// maxSASLSteps bounds the round trips of a multi-step mechanism.
const maxSASLSteps = 8
