package mime

import "slices"

// boundaryTrie holds the active multipart boundaries so that one walk
// over a line finds the longest boundary it starts with, whatever the
// number of open multiparts: parsing stays linear in the message size.
type boundaryTrie struct {
	root trieNode
	n    int // active boundaries
}

type trieNode struct {
	keys   []byte // sorted
	kids   []*trieNode
	frames []*frame // multiparts whose boundary ends here, innermost last
	refs   int      // boundaries through or ending at this node
}

func (n *trieNode) child(c byte) *trieNode {
	if i, ok := slices.BinarySearch(n.keys, c); ok {
		return n.kids[i]
	}
	return nil
}

func (t *boundaryTrie) add(b string, f *frame) {
	n := &t.root
	n.refs++
	for i := 0; i < len(b); i++ {
		j, ok := slices.BinarySearch(n.keys, b[i])
		if !ok {
			n.keys = slices.Insert(n.keys, j, b[i])
			n.kids = slices.Insert(n.kids, j, &trieNode{})
		}
		n = n.kids[j]
		n.refs++
	}
	n.frames = append(n.frames, f)
	t.n++
}

func (t *boundaryTrie) remove(b string, f *frame) {
	// Find the path first so a missing entry leaves the trie intact.
	path := make([]*trieNode, 0, len(b)+1)
	n := &t.root
	path = append(path, n)
	for i := 0; i < len(b); i++ {
		if n = n.child(b[i]); n == nil {
			return
		}
		path = append(path, n)
	}
	k := slices.Index(n.frames, f)
	if k < 0 {
		return
	}
	n.frames = slices.Delete(n.frames, k, k+1)
	t.n--
	for i, p := range path {
		p.refs--
		if p.refs == 0 && i > 0 {
			parent := path[i-1]
			j, _ := slices.BinarySearch(parent.keys, b[i-1])
			parent.keys = slices.Delete(parent.keys, j, j+1)
			parent.kids = slices.Delete(parent.kids, j, j+1)
			return
		}
	}
}

// match returns the multipart whose boundary is the longest one that s
// starts with (RFC 2046 §5.1.1 compares only the beginning of the line),
// the innermost on a tie, and the boundary's length.
func (t *boundaryTrie) match(s []byte) (*frame, int) {
	var best *frame
	bestLen := 0
	n := &t.root
	for i := 0; i < len(s); i++ {
		if n = n.child(s[i]); n == nil {
			break
		}
		if len(n.frames) > 0 {
			best, bestLen = n.frames[len(n.frames)-1], i+1
		}
	}
	return best, bestLen
}
