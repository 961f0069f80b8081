package imapserver

import (
	"bufio"
	"errors"
	"io"
)

// inflater decompresses the client's half of a COMPRESS=DEFLATE
// connection: a raw deflate stream (RFC 1951).
//
// compress/flate's reader is not used because it hands out decoded bytes
// only at the end of a stored block, when its window fills, or at the end
// of the stream. A zlib client that flushes with Z_SYNC_FLUSH ends every
// write with an empty stored block and works with it; one that uses
// Z_PARTIAL_FLUSH (isync's mbsync does) ends with an empty fixed block
// instead, and the command would sit in the decoder until the next one
// arrived. This decoder returns what it has decoded as soon as decoding
// more would have to wait for the network.
//
// It follows the structure of zlib's puff.c: bit-at-a-time canonical
// Huffman decoding, which is plenty for client commands and uploads.
type inflater struct {
	br *bufio.Reader

	bitbuf uint64
	nbits  uint

	win    [1 << 15]byte
	wpos   int  // next write position in win
	filled bool // the window has wrapped: every distance is valid

	inBlock  bool
	final    bool // the block being read is the last one
	stored   int  // bytes left in a stored block, or -1 in a Huffman block
	lit, dst *huffman

	copyLen, copyDist int
	err               error
}

const winMask = 1<<15 - 1

var errInflate = errors.New("invalid deflate data")

func newInflater(br *bufio.Reader) *inflater { return &inflater{br: br, stored: -1} }

// available reports whether n bits can be had without waiting.
func (z *inflater) available(n uint) bool {
	return z.nbits+8*uint(z.br.Buffered()) >= n
}

func (z *inflater) bits(n uint) (uint32, error) {
	for z.nbits < n {
		b, err := z.br.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		z.bitbuf |= uint64(b) << z.nbits
		z.nbits += 8
	}
	v := uint32(z.bitbuf & (1<<n - 1))
	z.bitbuf >>= n
	z.nbits -= n
	return v, nil
}

func (z *inflater) put(b byte) {
	z.win[z.wpos] = b
	z.wpos = (z.wpos + 1) & winMask
	if z.wpos == 0 {
		z.filled = true
	}
}

// Read returns decoded bytes. It blocks only when it has none to return.
func (z *inflater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if z.copyLen > 0 {
			b := z.win[(z.wpos-z.copyDist)&winMask]
			z.put(b)
			p[n] = b
			n++
			z.copyLen--
			continue
		}
		if z.err != nil {
			break
		}
		// Decoding on might wait for input: hand out what there is first.
		if n > 0 && (!z.inBlock || !z.available(48)) {
			break
		}
		if !z.inBlock {
			if z.final {
				z.err = io.EOF
				continue
			}
			z.err = z.header()
			continue
		}
		if z.stored >= 0 {
			if z.stored == 0 {
				z.inBlock = false
				continue
			}
			v, err := z.bits(8)
			if err != nil {
				z.err = err
				continue
			}
			z.put(byte(v))
			p[n] = byte(v)
			n++
			z.stored--
			continue
		}
		z.err = z.symbol(p, &n)
	}
	if n > 0 {
		return n, nil
	}
	return 0, z.err
}

// symbol decodes one literal/length symbol (and its distance).
func (z *inflater) symbol(p []byte, n *int) error {
	sym, err := z.decode(z.lit)
	if err != nil {
		return err
	}
	switch {
	case sym < 256:
		z.put(byte(sym))
		p[*n] = byte(sym)
		*n++
		return nil
	case sym == 256:
		z.inBlock = false
		return nil
	}
	sym -= 257
	if sym >= 29 {
		return errInflate
	}
	e, err := z.bits(uint(lenExtra[sym]))
	if err != nil {
		return err
	}
	length := int(lenBase[sym]) + int(e)
	ds, err := z.decode(z.dst)
	if err != nil {
		return err
	}
	if ds >= 30 {
		return errInflate
	}
	e, err = z.bits(uint(distExtra[ds]))
	if err != nil {
		return err
	}
	dist := int(distBase[ds]) + int(e)
	if !z.filled && dist > z.wpos {
		return errInflate
	}
	z.copyLen, z.copyDist = length, dist
	return nil
}

// header reads a block header (RFC 1951 §3.2.3) and its tables.
func (z *inflater) header() error {
	h, err := z.bits(3)
	if err != nil {
		return err
	}
	z.final = h&1 == 1
	switch h >> 1 {
	case 0: // stored (§3.2.4): skip to a byte boundary, LEN, NLEN
		z.bits(z.nbits % 8)
		v, err := z.bits(32)
		if err != nil {
			return err
		}
		if uint16(v) != ^uint16(v>>16) {
			return errInflate
		}
		z.stored = int(uint16(v))
	case 1:
		z.stored = -1
		z.lit, z.dst = fixedLit, fixedDist
	case 2:
		z.stored = -1
		if err := z.dynamic(); err != nil {
			return err
		}
	default:
		return errInflate
	}
	z.inBlock = true
	return nil
}

var clOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// dynamic reads the code tables of a dynamic Huffman block (§3.2.7).
func (z *inflater) dynamic() error {
	v, err := z.bits(14)
	if err != nil {
		return err
	}
	nlen, ndist, ncode := int(v&31)+257, int(v>>5&31)+1, int(v>>10)+4
	if nlen > 286 || ndist > 30 {
		return errInflate
	}
	var lengths [320]uint8
	for i := range ncode {
		l, err := z.bits(3)
		if err != nil {
			return err
		}
		lengths[clOrder[i]] = uint8(l)
	}
	cl, ok := newHuffman(lengths[:19])
	if !ok {
		return errInflate
	}
	for i := 0; i < nlen+ndist; {
		sym, err := z.decode(cl)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var l uint8
		var rep uint32
		switch sym {
		case 16:
			if i == 0 {
				return errInflate
			}
			l = lengths[i-1]
			rep, err = z.bits(2)
			rep += 3
		case 17:
			rep, err = z.bits(3)
			rep += 3
		default:
			rep, err = z.bits(7)
			rep += 11
		}
		if err != nil {
			return err
		}
		if i+int(rep) > nlen+ndist {
			return errInflate
		}
		for range rep {
			lengths[i] = l
			i++
		}
	}
	if lengths[256] == 0 {
		return errInflate
	}
	if z.lit, ok = newHuffman(lengths[:nlen]); !ok {
		return errInflate
	}
	if z.dst, ok = newHuffman(lengths[nlen : nlen+ndist]); !ok {
		return errInflate
	}
	return nil
}

// huffman is a canonical Huffman code: how many codes of each length and
// the symbols in code order.
type huffman struct {
	count  [16]uint16
	symbol []uint16
}

// newHuffman builds a code from code lengths; false if it is
// oversubscribed. Incomplete codes are accepted (a lone distance code is
// legal).
func newHuffman(lengths []uint8) (*huffman, bool) {
	h := &huffman{symbol: make([]uint16, len(lengths))}
	for _, l := range lengths {
		h.count[l]++
	}
	left := 1
	for l := 1; l < 16; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return nil, false
		}
	}
	var offs [16]uint16
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for sym, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(sym)
			offs[l]++
		}
	}
	return h, true
}

func (z *inflater) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, err := z.bits(1)
		if err != nil {
			return 0, err
		}
		code |= int(b)
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+code-first]), nil
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, errInflate
}

var (
	lenBase   = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

	fixedLit, fixedDist = fixedTables()
)

func fixedTables() (*huffman, *huffman) {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	var d [30]uint8
	for i := range d {
		d[i] = 5
	}
	lit, _ := newHuffman(l[:])
	dist, _ := newHuffman(d[:])
	return lit, dist
}
