package sieve

import (
	"net/mail"
	"strings"
)

// test evaluates one test.
func (r *runner) test(t *Test) (bool, error) {
	if err := r.charge(1); err != nil {
		return false, err
	}
	n := t.n
	if n == nil {
		return false, &Error{Pos: t.Pos, Msg: "test " + t.Name + " was not validated: run only scripts that Parse returned"}
	}
	switch t.Name {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "not":
		ok, err := r.test(t.Tests[0])
		return !ok, err
	case "allof", "anyof":
		// Short-circuit as RFC 5228 §5.2 and §5.3 allow.
		all := t.Name == "allof"
		for _, s := range t.Tests {
			ok, err := r.test(s)
			if err != nil {
				return false, err
			}
			if ok != all {
				return !all, nil
			}
		}
		return all, nil
	case "size":
		lim := n.pos[0].Num
		size := r.msg.Size()
		if size < 0 {
			size = 0
		}
		if n.tags["over"] != nil {
			return uint64(size) > lim, nil
		}
		return uint64(size) < lim, nil
	case "exists":
		names, err := r.list(n.pos[0])
		if err != nil {
			return false, err
		}
		for _, h := range names {
			if len(r.msg.Header(h)) == 0 {
				return false, nil
			}
		}
		return true, nil
	case "mailboxexists":
		names, err := r.list(n.pos[0])
		if err != nil {
			return false, err
		}
		mc, ok := r.msg.(MailboxChecker)
		if !ok {
			return false, nil
		}
		for _, name := range names {
			if !mc.MailboxExists(name) {
				return false, nil
			}
		}
		return true, nil
	}
	m := newMatcher(r, n)
	keysArg := n.pos[len(n.pos)-1]
	keys, err := r.list(keysArg)
	if err != nil {
		return false, err
	}
	var values []string
	switch t.Name {
	case "header":
		names, err := r.list(n.pos[0])
		if err != nil {
			return false, err
		}
		for _, h := range names {
			values = append(values, r.msg.Header(h)...)
		}
	case "address", "envelope":
		names, err := r.list(n.pos[0])
		if err != nil {
			return false, err
		}
		values = r.addresses(t.Name == "envelope", names, n)
	case "string":
		values, err = r.list(n.pos[0])
		if err != nil {
			return false, err
		}
		if m.typ == mCount {
			// RFC 5229 §5: :count counts the non-empty strings.
			var nonEmpty []string
			for _, v := range values {
				if v != "" {
					nonEmpty = append(nonEmpty, v)
				}
			}
			values = nonEmpty
		}
	case "hasflag":
		if len(n.pos) == 2 {
			for _, name := range n.pos[0].values() {
				values = append(values, r.getFlags(name)...)
			}
		} else {
			values = r.flags
		}
		keys = parseFlags(keys)
	case "date", "currentdate":
		values, err = r.dateValues(t.Name == "currentdate", n)
		if err != nil {
			return false, err
		}
	case "body":
		values = r.body(n)
		m.caps = false // RFC 5173 §6: body does not set match variables
	}
	return m.any(values, keys)
}

type addr struct {
	local, domain string
	ok            bool // parsed; else raw holds the text
	raw           string
}

func splitAddr(s string) addr {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return addr{local: s, ok: true, raw: s}
	}
	return addr{local: s[:at], domain: s[at+1:], ok: true, raw: s}
}

// parseAddrs reads an address list header value; what does not parse is
// kept whole so :all can still compare it (RFC 5228 §5.1).
func parseAddrs(v string) []addr {
	if list, err := mail.ParseAddressList(v); err == nil {
		out := make([]addr, 0, len(list))
		for _, a := range list {
			out = append(out, splitAddr(a.Address))
		}
		return out
	}
	var out []addr
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if a, err := mail.ParseAddress(part); err == nil {
			out = append(out, splitAddr(a.Address))
		} else {
			out = append(out, addr{raw: part})
		}
	}
	return out
}

// addresses gives the address parts an address or envelope test compares.
func (r *runner) addresses(envelope bool, names []string, n *node) []string {
	var list []addr
	for _, h := range names {
		if envelope {
			var v string
			switch strings.ToLower(h) {
			case "from":
				v = r.msg.EnvelopeFrom()
			case "to":
				v = r.msg.EnvelopeTo()
			default:
				continue
			}
			if v == "" {
				// The null reverse-path: every part is "".
				list = append(list, addr{ok: true})
				continue
			}
			list = append(list, splitAddr(strings.Trim(v, "<>")))
			continue
		}
		for _, v := range r.msg.Header(h) {
			list = append(list, parseAddrs(v)...)
		}
	}
	sep := r.env.SubaddressSeparator
	var out []string
	for _, a := range list {
		switch {
		case n.tags["localpart"] != nil:
			if a.ok {
				out = append(out, a.local)
			}
		case n.tags["domain"] != nil:
			if a.ok {
				out = append(out, a.domain)
			}
		case n.tags["user"] != nil:
			// RFC 5233 §4: the part before the separator.
			if a.ok {
				user, _, _ := strings.Cut(a.local, sep)
				out = append(out, user)
			}
		case n.tags["detail"] != nil:
			// RFC 5233 §4: no separator means no detail to match.
			if a.ok {
				if _, detail, found := strings.Cut(a.local, sep); found {
					out = append(out, detail)
				}
			}
		default:
			if a.ok && a.domain != "" {
				out = append(out, a.local+"@"+a.domain)
			} else if a.ok {
				out = append(out, a.local)
			} else {
				out = append(out, a.raw)
			}
		}
	}
	return out
}

// body gives the texts the body test compares (RFC 5173 §5).
func (r *runner) body(n *node) []string {
	if n.tags["raw"] != nil {
		return []string{r.msg.RawBody()}
	}
	var types []string
	if a := n.tags["content"]; a != nil {
		types, _ = r.list(a)
	} else {
		types = []string{"text"}
	}
	var out []string
	for _, p := range r.msg.BodyParts() {
		ct := strings.ToLower(p.ContentType)
		main, _, _ := strings.Cut(ct, "/")
		for _, t := range types {
			t = strings.ToLower(strings.TrimSpace(t))
			if t == "" || t == ct || (!strings.Contains(t, "/") && t == main) {
				out = append(out, p.Text)
				break
			}
		}
	}
	return out
}
