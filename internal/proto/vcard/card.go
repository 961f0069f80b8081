package vcard

import (
	"fmt"
	"io"
	"strings"

	"github.com/roost-mail/roost/internal/proto/contentline"
)

// Card is one BEGIN:VCARD … END:VCARD block (RFC 6350 §6.1.1).
type Card struct {
	contentline.Props
}

// SetText replaces the named property by one with the given text.
func (c *Card) SetText(name, text string) {
	p := &Property{Name: name}
	p.SetText(text)
	c.Set(p)
}

// Decode parses a stream of vCards (a .vcf file may hold many).
func Decode(b []byte, lim Limits) ([]*Card, error) {
	lim = lim.withDefaults()
	var (
		cards []*Card
		cur   *Card
	)
	err := dialect.Unfold(b, lim.line(), func(line string) error {
		p, err := dialect.ParseLine(line, lim.line(), true)
		if err != nil {
			return err
		}
		switch p.Name {
		case "BEGIN":
			if !strings.EqualFold(p.Value, "VCARD") {
				return fmt.Errorf("%w: BEGIN:%s", errSyntax, p.Value)
			}
			if cur != nil {
				return fmt.Errorf("%w: nested BEGIN:VCARD", errSyntax)
			}
			if len(cards) >= lim.MaxCards {
				return &LimitError{Limit: LimitCards, Max: lim.MaxCards}
			}
			cur = &Card{}
		case "END":
			if cur == nil || !strings.EqualFold(p.Value, "VCARD") {
				return fmt.Errorf("%w: END:%s", errSyntax, p.Value)
			}
			cards = append(cards, cur)
			cur = nil
		default:
			if cur == nil {
				return fmt.Errorf("%w: property %s outside a vCard", errSyntax, p.Name)
			}
			if len(cur.Props) >= lim.MaxProps {
				return &LimitError{Limit: LimitProps, Max: lim.MaxProps}
			}
			cur.Props = append(cur.Props, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("%w: vCard not closed", errSyntax)
	}
	return cards, nil
}

// Encode writes the cards with CRLF line ends and lines folded at 75
// octets.
func Encode(w io.Writer, cards ...*Card) error {
	b, err := Marshal(cards...)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Marshal returns the encoding of the cards, as Encode writes it.
func Marshal(cards ...*Card) ([]byte, error) {
	var b, line []byte
	var err error
	for _, c := range cards {
		b = contentline.AppendFolded(b, []byte("BEGIN:VCARD"))
		for _, p := range c.Props {
			if strings.EqualFold(p.Name, "BEGIN") || strings.EqualFold(p.Name, "END") {
				return nil, fmt.Errorf("vcard: property named %s", p.Name)
			}
			if line, err = dialect.AppendLine(line[:0], p); err != nil {
				return nil, err
			}
			b = contentline.AppendFolded(b, line)
		}
		b = contentline.AppendFolded(b, []byte("END:VCARD"))
	}
	return b, nil
}
