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
