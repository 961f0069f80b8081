package ical

import (
	"fmt"
	"github.com/roost-mail/roost/internal/proto/contentline"
	"io"
	"strings"
)

// Component names of RFC 5545 §3.6.
const (
	VCalendar = "VCALENDAR"
	VEvent    = "VEVENT"
	VTodo     = "VTODO"
	VJournal  = "VJOURNAL"
	VFreeBusy = "VFREEBUSY"
	VTimezone = "VTIMEZONE"
	Standard  = "STANDARD"
	Daylight  = "DAYLIGHT"
	VAlarm    = "VALARM"
)

// Component is one BEGIN/END block (RFC 5545 §3.4, §3.6). Unknown
// components, X- components included, are kept like known ones.
type Component struct {
	Name string // upper case
	contentline.Props
	Children []*Component
}

// Sub returns the child components with the given name, in order.
func (c *Component) Sub(name string) []*Component {
	var cs []*Component
	for _, ch := range c.Children {
		if strings.EqualFold(ch.Name, name) {
			cs = append(cs, ch)
		}
	}
	return cs
}

// UID returns the unescaped UID property, or "".
func (c *Component) UID() string { return c.Text("UID") }

// Decode parses an object that holds exactly one top-level component,
// normally a VCALENDAR.
func Decode(b []byte, lim Limits) (*Component, error) {
	cs, err := DecodeAll(b, lim)
	if err != nil {
		return nil, err
	}
	if len(cs) != 1 {
		return nil, fmt.Errorf("%w: %d top-level components, want 1", errSyntax, len(cs))
	}
	return cs[0], nil
}

// DecodeAll parses a stream of top-level components.
func DecodeAll(b []byte, lim Limits) ([]*Component, error) {
	return decode(b, lim.withDefaults(), false)
}

func decode(b []byte, lim Limits, bareParams bool) ([]*Component, error) {
	var (
		top   []*Component
		stack []*Component
		count int
	)
	err := dialect.Unfold(b, lim.line(), func(line string) error {
		p, err := dialect.ParseLine(line, lim.line(), bareParams)
		if err != nil {
			return err
		}
		switch p.Name {
		case "BEGIN":
			name := strings.ToUpper(p.Value)
			if !contentline.ValidName(name) {
				return fmt.Errorf("%w: invalid component name %q", errSyntax, p.Value)
			}
			if len(stack) >= lim.MaxDepth {
				return &LimitError{Limit: LimitDepth, Max: lim.MaxDepth}
			}
			if count++; count > lim.MaxComponents {
				return &LimitError{Limit: LimitComponents, Max: lim.MaxComponents}
			}
			c := &Component{Name: name}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.Children = append(parent.Children, c)
			} else {
				top = append(top, c)
			}
			stack = append(stack, c)
		case "END":
			if len(stack) == 0 {
				return fmt.Errorf("%w: END:%s without BEGIN", errSyntax, p.Value)
			}
			if c := stack[len(stack)-1]; !strings.EqualFold(c.Name, p.Value) {
				return fmt.Errorf("%w: END:%s closes %s", errSyntax, p.Value, c.Name)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 0 {
				return fmt.Errorf("%w: property %s outside a component", errSyntax, p.Name)
			}
			c := stack[len(stack)-1]
			if len(c.Props) >= lim.MaxProps {
				return &LimitError{Limit: LimitProps, Max: lim.MaxProps}
			}
			c.Props = append(c.Props, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("%w: %s not closed", errSyntax, stack[len(stack)-1].Name)
	}
	return top, nil
}

// Encode writes c with CRLF line ends and lines folded at 75 octets.
func Encode(w io.Writer, c *Component) error {
	b, err := Marshal(c)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Marshal returns the encoding of c, as Encode writes it.
func Marshal(c *Component) ([]byte, error) {
	return appendComponent(nil, c, nil)
}

func appendComponent(b []byte, c *Component, line []byte) ([]byte, error) {
	name := strings.ToUpper(c.Name)
	if !contentline.ValidName(name) {
		return b, fmt.Errorf("ical: invalid component name %q", c.Name)
	}
	b = contentline.AppendFolded(b, []byte("BEGIN:"+name))
	var err error
	for _, p := range c.Props {
		if strings.EqualFold(p.Name, "BEGIN") || strings.EqualFold(p.Name, "END") {
			return b, fmt.Errorf("ical: property named %s", p.Name)
		}
		line, err = dialect.AppendLine(line[:0], p)
		if err != nil {
			return b, err
		}
		b = contentline.AppendFolded(b, line)
	}
	for _, ch := range c.Children {
		if b, err = appendComponent(b, ch, line); err != nil {
			return b, err
		}
	}
	return contentline.AppendFolded(b, []byte("END:"+name)), nil
}
