package imap

import "bytes"

// URLAUTH commands (RFC 4467 §7, §9):
//
//	genurlauth = "GENURLAUTH" 1*(SP url-rump SP mechanism)
//	resetkey   = "RESETKEY" [SP mailbox *(SP mechanism)]
//	urlfetch   = "URLFETCH" 1*(SP url-full)
//
// RFC 5524 §4 (URLAUTH=BINARY) lets each URL carry a parameter list:
//
//	url-fetch-param = url-full / "(" url-full *(SP
//	                  ("BODYPARTSTRUCTURE" / "BINARY" / "BODY")) ")"

// URLMech is a URL with the mechanism to authorise it with.
type URLMech struct {
	URL, Mechanism string // Mechanism upper case
}

// GenURLAuthCmd is GENURLAUTH.
type GenURLAuthCmd struct{ URLs []URLMech }

// ResetKeyCmd is RESETKEY; Mailbox "" resets every key.
type ResetKeyCmd struct {
	Mailbox    string
	Mechanisms []string
}

// URLFetchCmd is URLFETCH. Opts, when not nil, holds one entry per URL.
type URLFetchCmd struct {
	URLs []string
	Opts []URLFetchOpts
}

// URLFetchOpts are the RFC 5524 parameters of one URL; the zero value is
// a plain RFC 4467 URL.
type URLFetchOpts struct {
	Extended          bool   // sent as "(url ...)": answered in the RFC 5524 form
	BodyPartStructure bool   // BODYPARTSTRUCTURE
	Data              string // "", "BINARY" or "BODY"
}

// Opt returns the options of URL i.
func (a *URLFetchCmd) Opt(i int) URLFetchOpts {
	if i < len(a.Opts) {
		return a.Opts[i]
	}
	return URLFetchOpts{}
}

func parseGenURLAuth(r *Reader, _ *Command) Args {
	a := &GenURLAuthCmd{}
	for r.ok() {
		r.sp()
		u := URLMech{URL: r.astring()}
		r.sp()
		u.Mechanism = r.keyword()
		a.URLs = append(a.URLs, u)
		if r.atEOL() {
			break
		}
	}
	return a
}

func (a *GenURLAuthCmd) appendArgs(b []byte) []byte {
	for _, u := range a.URLs {
		b = AppendAString(append(b, ' '), u.URL, false)
		b = append(append(b, ' '), u.Mechanism...)
	}
	return b
}

func parseResetKey(r *Reader, _ *Command) Args {
	a := &ResetKeyCmd{}
	if r.atEOL() {
		return a
	}
	r.sp()
	a.Mailbox = r.mailbox()
	for r.ok() && !r.atEOL() {
		r.sp()
		a.Mechanisms = append(a.Mechanisms, r.keyword())
	}
	return a
}

func (a *ResetKeyCmd) appendArgs(b []byte) []byte {
	if a.Mailbox == "" && len(a.Mechanisms) == 0 {
		return b
	}
	b = AppendMailbox(append(b, ' '), a.Mailbox, false)
	for _, m := range a.Mechanisms {
		b = append(append(b, ' '), m...)
	}
	return b
}

func parseURLFetch(r *Reader, _ *Command) Args {
	a := &URLFetchCmd{}
	for r.ok() {
		r.sp()
		r.charge(listItemCost)
		if r.maybe('(') {
			o := URLFetchOpts{Extended: true}
			a.URLs = append(a.URLs, r.astring())
			for r.ok() && !r.maybe(')') {
				r.sp()
				switch kw := r.keyword(); kw {
				case "BODYPARTSTRUCTURE":
					if o.BodyPartStructure {
						r.fail("duplicate BODYPARTSTRUCTURE")
					}
					o.BodyPartStructure = true
				case "BINARY", "BODY":
					if o.Data != "" {
						r.fail("BINARY and BODY are exclusive")
					}
					o.Data = kw
				default:
					r.fail("unknown URLFETCH parameter %q", kw)
				}
			}
			for len(a.Opts) < len(a.URLs)-1 {
				a.Opts = append(a.Opts, URLFetchOpts{})
			}
			a.Opts = append(a.Opts, o)
		} else {
			a.URLs = append(a.URLs, r.astring())
		}
		if r.atEOL() {
			break
		}
	}
	if a.Opts != nil {
		for len(a.Opts) < len(a.URLs) {
			a.Opts = append(a.Opts, URLFetchOpts{})
		}
	}
	return a
}

func (a *URLFetchCmd) appendArgs(b []byte) []byte {
	for i, u := range a.URLs {
		o := a.Opt(i)
		b = append(b, ' ')
		if !o.Extended {
			b = AppendAString(b, u, false)
			continue
		}
		b = AppendAString(append(b, '('), u, false)
		if o.BodyPartStructure {
			b = append(b, " BODYPARTSTRUCTURE"...)
		}
		if o.Data != "" {
			b = append(append(b, ' '), o.Data...)
		}
		b = append(b, ')')
	}
	return b
}

// GenURLAuth writes "* GENURLAUTH url..." (RFC 4467 §9).
func (w *Writer) GenURLAuth(urls ...string) error {
	b := append(w.line(), "* GENURLAUTH"...)
	for _, u := range urls {
		b = appendQuoted(append(b, ' '), u)
	}
	return w.send(b)
}

// URLFetch writes "* URLFETCH url {n}data", or NIL when ok is false
// (RFC 4467 §9).
func (w *Writer) URLFetch(url string, data []byte, ok bool) error {
	b := AppendAString(append(w.line(), "* URLFETCH "...), url, w.UTF8)
	if !ok {
		return w.send(append(b, " NIL"...))
	}
	return w.send(appendLiteral(append(b, ' '), string(data)))
}

// URLFetchPart is the answer to one RFC 5524 URL.
type URLFetchPart struct {
	BodyPartStructure []byte // a body, already in IMAP syntax; nil: not asked for
	Data              string // "", "BINARY" or "BODY"
	Content           []byte
	NIL               bool // Data could not be produced (BINARY: undecodable)
}

// URLFetchExt writes "* URLFETCH url (BODYPARTSTRUCTURE (...)) (BINARY
// ~{n}data)" (RFC 5524 §6: each metadata item and the data are lists of
// their own), or NIL for the whole answer when p is nil. BINARY data is a
// literal8 when it holds a NUL byte.
func (w *Writer) URLFetchExt(url string, p *URLFetchPart) error {
	b := AppendAString(append(w.line(), "* URLFETCH "...), url, w.UTF8)
	if p == nil {
		return w.send(append(b, " NIL"...))
	}
	if p.BodyPartStructure != nil {
		b = append(b, " (BODYPARTSTRUCTURE "...)
		b = append(append(b, p.BodyPartStructure...), ')')
	}
	if p.Data != "" {
		b = append(append(append(b, " ("...), p.Data...), ' ')
		switch {
		case p.NIL:
			b = append(b, "NIL"...)
		case p.Data == "BINARY" && bytes.IndexByte(p.Content, 0) >= 0:
			b = appendLiteral(append(b, '~'), string(p.Content))
		default:
			b = appendLiteral(b, string(p.Content))
		}
		b = append(b, ')')
	}
	if p.BodyPartStructure == nil && p.Data == "" {
		b = append(b, " ()"...)
	}
	return w.send(b)
}
