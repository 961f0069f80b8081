package imap

// URLAUTH commands (RFC 4467 §7, §9):
//
//	genurlauth = "GENURLAUTH" 1*(SP url-rump SP mechanism)
//	resetkey   = "RESETKEY" [SP mailbox *(SP mechanism)]
//	urlfetch   = "URLFETCH" 1*(SP url-full)

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

// URLFetchCmd is URLFETCH.
type URLFetchCmd struct{ URLs []string }

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
		a.URLs = append(a.URLs, r.astring())
		if r.atEOL() {
			break
		}
	}
	return a
}

func (a *URLFetchCmd) appendArgs(b []byte) []byte {
	for _, u := range a.URLs {
		b = AppendAString(append(b, ' '), u, false)
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
