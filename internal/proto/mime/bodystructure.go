package mime

// BodyStructure returns the IMAP BODY (extended == false) or BODYSTRUCTURE
// (extended == true) of p as a value tree (see AppendValue), following
// RFC 9051 §7.5.2:
//
//	multipart:  (body1)(body2)... subtype [params disposition language location]
//	text/*:     type subtype params id description encoding octets lines [md5 disposition language location]
//	message/rfc822, message/global:
//	            type subtype params id description encoding octets envelope body lines [ext as text]
//	other:      type subtype params id description encoding octets [ext as text]
//
// Conventions, matching Dovecot: a text part without a charset parameter
// gets ("charset" "us-ascii") (RFC 2045 §5.2); a multipart without parts
// (its boundary never occurs, or a limit stopped parsing) gets one empty
// text/plain part, since IMAP requires at least one; a message/rfc822 part
// whose message was not parsed (transfer-encoded or over a limit) gets an
// all-NIL envelope and an empty text/plain body; RFC 2231 parameters are
// sent merged in their encoded form as "name*"; languages are always a
// list. Octets and lines are those of the stored bytes.
func BodyStructure(p *Part, extended bool) []any {
	if p.IsMultipart() {
		kids := make(Adjacent, 0, len(p.Children))
		for _, c := range p.Children {
			kids = append(kids, BodyStructure(c, extended))
		}
		if len(kids) == 0 {
			kids = append(kids, emptyBody())
		}
		l := []any{kids, p.SubType}
		if extended {
			l = append(l, paramList(p.Params, false), dispList(p), langList(p), nstring(p.Location))
		}
		return l
	}
	l := []any{
		p.MediaType, p.SubType, paramList(p.Params, p.MediaType == "text"),
		nstring(p.ID), nstring(p.Description), p.Encoding, p.Size(),
	}
	switch {
	case p.IsMessage():
		if p.Message != nil {
			l = append(l, Envelope(p.Message).List(), BodyStructure(p.Message, extended), p.Lines)
		} else {
			l = append(l, (*Env)(nil).List(), emptyBody(), p.Lines)
		}
	case p.MediaType == "text":
		l = append(l, p.Lines)
	}
	if extended {
		l = append(l, nstring(p.MD5), dispList(p), langList(p), nstring(p.Location))
	}
	return l
}

// AppendBodyStructure appends the IMAP text of BodyStructure(p, extended);
// utf8 is as for AppendValue.
func AppendBodyStructure(dst []byte, p *Part, extended, utf8 bool) []byte {
	return AppendValue(dst, BodyStructure(p, extended), utf8)
}

func emptyBody() []any {
	return []any{"text", "plain", []any{"charset", "us-ascii"}, nil, nil, "7bit", int64(0), int64(0)}
}

func paramList(ps Params, text bool) any {
	var l []any
	charset := false
	for _, p := range ps {
		if p.Ext != "" {
			l = append(l, p.Name+"*", p.Ext)
		} else {
			l = append(l, p.Name, p.Value)
		}
		charset = charset || p.Name == "charset"
	}
	if text && !charset {
		l = append(l, "charset", "us-ascii")
	}
	if len(l) == 0 {
		return nil
	}
	return l
}

func dispList(p *Part) any {
	if p.Disposition == "" {
		return nil
	}
	return []any{p.Disposition, paramList(p.DispParams, false)}
}

func langList(p *Part) any {
	if len(p.Language) == 0 {
		return nil
	}
	l := make([]any, len(p.Language))
	for i, t := range p.Language {
		l[i] = t
	}
	return l
}
