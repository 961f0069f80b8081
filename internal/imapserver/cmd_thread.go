package imapserver

import (
	"cmp"
	"slices"

	"github.com/roost-mail/roost/internal/proto/imap"
)

// Threading algorithms of RFC 5256 §2.1 (ORDEREDSUBJECT) and §2.2
// (REFERENCES) over the facts SORT collects: base subject (ascii-casemap),
// reply flag, sent date, Message-ID and references. They are pure, so the
// tests feed them messages directly. num maps a message to the number the
// response carries (sequence number or UID).

// sentCompare orders by sent date, then by sequence number (RFC 5256 §2.2:
// "the order in which the two messages appear in the mailbox").
func sentCompare(a, b *sortMsg) int {
	if r := a.date.Compare(b.date); r != 0 {
		return r
	}
	return cmp.Compare(a.idx, b.idx)
}

// threadOrderedSubject is ORDEREDSUBJECT (RFC 5256 §3): messages grouped
// by base subject, each group's messages in sent order as children of its
// first, and the groups in the sent order of their first messages.
func threadOrderedSubject(ms []sortMsg, num func(*sortMsg) uint32) []imap.Thread {
	sorted := make([]*sortMsg, len(ms))
	for i := range ms {
		sorted[i] = &ms[i]
	}
	slices.SortFunc(sorted, func(a, b *sortMsg) int {
		if r := cmp.Compare(a.subject, b.subject); r != 0 {
			return r
		}
		return sentCompare(a, b)
	})
	type group struct {
		root *sortMsg
		t    imap.Thread
	}
	var groups []group
	for i, m := range sorted {
		if i > 0 && sorted[i-1].subject == m.subject {
			g := &groups[len(groups)-1]
			g.t.Children = append(g.t.Children, imap.Thread{Num: num(m)})
			continue
		}
		groups = append(groups, group{root: m, t: imap.Thread{Num: num(m)}})
	}
	slices.SortFunc(groups, func(a, b group) int { return sentCompare(a.root, b.root) })
	out := make([]imap.Thread, len(groups))
	for i, g := range groups {
		out[i] = g.t
	}
	return out
}

// container is a node of the REFERENCES algorithm: a message, or a dummy
// (m == nil) standing for a message that is referenced but not present.
type container struct {
	m        *sortMsg
	parent   *container
	children []*container
}

// isAncestor reports whether a is c or one of c's ancestors.
func (a *container) isAncestorOf(c *container) bool {
	for p := c; p != nil; p = p.parent {
		if p == a {
			return true
		}
	}
	return false
}

func (c *container) unlink() {
	if p := c.parent; p != nil {
		p.children = slices.DeleteFunc(p.children, func(x *container) bool { return x == c })
		c.parent = nil
	}
}

func (c *container) addChild(k *container) {
	k.parent = c
	c.children = append(c.children, k)
}

// first is the message a container sorts and is named by: its own, or for
// a dummy that of its first child (children sorted first, RFC 5256 §2.2
// steps 5 and 7). nil for a dummy without messages.
func (c *container) first() *sortMsg {
	for c != nil && c.m == nil {
		if len(c.children) == 0 {
			return nil
		}
		c = c.children[0]
	}
	if c == nil {
		return nil
	}
	return c.m
}

func containerCompare(a, b *container) int {
	fa, fb := a.first(), b.first()
	switch {
	case fa == nil && fb == nil:
		return 0
	case fa == nil:
		return -1
	case fb == nil:
		return 1
	}
	return sentCompare(fa, fb)
}

// threadReferences is REFERENCES (RFC 5256 §2.2, after Jamie Zawinski's
// algorithm), step by step.
func threadReferences(ms []sortMsg, num func(*sortMsg) uint32) []imap.Thread {
	// (1) Link messages by their references.
	ids := map[string]*container{}
	var all []*container
	get := func(id string) *container {
		c := ids[id]
		if c == nil {
			c = &container{}
			ids[id] = c
			all = append(all, c)
		}
		return c
	}
	for i := range ms {
		m := &ms[i]
		// A message without a Message-ID, or with one an earlier message
		// has, gets a unique one: a container nobody can reference.
		var c *container
		if m.msgID != "" && (ids[m.msgID] == nil || ids[m.msgID].m == nil) {
			c = get(m.msgID)
		} else {
			c = &container{}
			all = append(all, c)
		}
		c.m = m
		// (1.A) Chain the references, parent before child, keeping links
		// that exist and refusing loops.
		var prev *container
		for _, id := range m.refs {
			r := get(id)
			if prev != nil && r.parent == nil && !r.isAncestorOf(prev) {
				prev.addChild(r)
			}
			prev = r
		}
		// (1.B) The last reference is the parent: this message's own
		// references override a link made from a truncated References.
		if c.parent != prev {
			c.unlink()
			if prev != nil && !c.isAncestorOf(prev) {
				prev.addChild(c)
			}
		}
	}
	// (2) The root set; (3) the id table is no longer needed.
	var roots []*container
	for _, c := range all {
		if c.parent == nil {
			roots = append(roots, c)
		}
	}
	// (4) Prune dummies.
	roots = prune(roots, nil)
	// (5) Sort the top level by sent date.
	for _, c := range roots {
		if c.m == nil {
			slices.SortStableFunc(c.children, containerCompare)
		}
	}
	slices.SortStableFunc(roots, containerCompare)
	// (6) Merge threads with the same base subject.
	roots = mergeSubjects(roots)
	// (7) Sort every set of siblings, the deepest first.
	sortTree(roots)
	out := make([]imap.Thread, 0, len(roots))
	for _, c := range roots {
		out = append(out, toThread(c, num))
	}
	return out
}

// prune is step 4: a dummy without children goes; a dummy with children
// is replaced by them, except at the top level when it has more than one.
// parent is the container the list belongs to (nil: the root set).
func prune(list []*container, parent *container) []*container {
	out := list[:0:0]
	for _, c := range list {
		c.children = prune(c.children, c)
		if c.m != nil {
			out = append(out, c)
			continue
		}
		switch {
		case len(c.children) == 0:
		case parent != nil || len(c.children) == 1:
			for _, k := range c.children {
				k.parent = parent
				out = append(out, k)
			}
		default:
			out = append(out, c)
		}
	}
	return out
}

// mergeSubjects is step 6.
func mergeSubjects(roots []*container) []*container {
	subject := func(c *container) string {
		if m := c.first(); m != nil {
			return m.subject
		}
		return ""
	}
	// (6.A, 6.B) One container per subject: a dummy rather than a message,
	// a message that is not a reply rather than one that is.
	table := map[string]*container{}
	for _, c := range roots {
		s := subject(c)
		if s == "" {
			continue
		}
		old := table[s]
		switch {
		case old == nil:
			table[s] = c
		case c.m == nil && old.m != nil:
			table[s] = c
		case old.m != nil && old.m.reply && c.m != nil && !c.m.reply:
			table[s] = c
		}
	}
	// (6.C) Merge every other top-level container into the table's.
	pos := map[*container]int{}
	for i, c := range roots {
		pos[c] = i
	}
	out := slices.Clone(roots)
	for _, c := range roots {
		s := subject(c)
		t := table[s]
		if s == "" || t == nil || t == c {
			continue
		}
		switch {
		case t.m == nil && c.m == nil:
			for _, k := range c.children {
				t.addChild(k)
			}
			c.children = nil
			out[pos[c]] = nil
		case t.m == nil:
			t.addChild(c)
			out[pos[c]] = nil
		case c.m == nil:
			// Not reached (a dummy takes the table's place), but keep the
			// rule: the message goes under the dummy.
			out[pos[t]] = nil
			c.addChild(t)
			table[s] = c
		case !t.m.reply && c.m.reply:
			t.addChild(c)
			out[pos[c]] = nil
		default:
			d := &container{}
			out[pos[t]] = d
			pos[d] = pos[t]
			d.addChild(t)
			d.addChild(c)
			out[pos[c]] = nil
			table[s] = d
		}
	}
	return slices.DeleteFunc(out, func(c *container) bool { return c == nil })
}

// sortTree sorts siblings by sent date, children before their parents, so
// that a dummy sorts by its first child (step 7).
func sortTree(list []*container) {
	for _, c := range list {
		sortTree(c.children)
	}
	slices.SortStableFunc(list, containerCompare)
}

func toThread(c *container, num func(*sortMsg) uint32) imap.Thread {
	var t imap.Thread
	if c.m != nil {
		t.Num = num(c.m)
	}
	for _, k := range c.children {
		t.Children = append(t.Children, toThread(k, num))
	}
	return t
}

// THREAD and UID THREAD, RFC 5256 §3: ORDEREDSUBJECT and REFERENCES.
func (s *session) cmdThread(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.ThreadCmd)
	var alg func([]sortMsg, func(*sortMsg) uint32) []imap.Thread
	switch a.Algorithm {
	case "ORDEREDSUBJECT":
		alg = threadOrderedSubject
	case "REFERENCES":
		alg = threadReferences
	default:
		return "", bad(imap.CodeCannot, "Unsupported threading algorithm")
	}
	ms, _, err := s.collect(a.Charset, a.Keys, need{thread: true})
	if err != nil {
		return "", err
	}
	sel := s.sel
	s.w.Thread(alg(ms, func(m *sortMsg) uint32 {
		if c.UID {
			return sel.msgs[m.idx].uid
		}
		return uint32(m.idx + 1)
	}))
	return "", nil
}
