package mail

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Forward sends a message addressed to a group (addr) on to the group's
// contact members (to: addresses outside, through Outbound), as Kopano
// delivers a distribution list to its contacts, and returns the
// addresses it was handed to the queue for. The envelope sender stays
// *from (nil: the message's Return-Path, as pipe delivery has it); a
// Delivered-To field naming the group is added. It sends nothing, and
// returns none, for a message that already went through the group (a
// Delivered-To naming it: two groups that contain each other's
// addresses do not loop), for one the spam verdict calls spam, and
// without an Outbound; each is logged. An error of Outbound (the queue
// refused the message) is returned, for the caller to fail the
// recipient temporarily.
func (d *Deliverer) Forward(ctx context.Context, fromp *string, addr string, to []string, open func() (io.ReadCloser, error)) ([]string, error) {
	if len(to) == 0 {
		return nil, nil
	}
	msg, err := d.load(open)
	if err != nil {
		return nil, fmt.Errorf("forward to the contacts of %s: read message: %w", addr, err)
	}
	defer msg.close()
	from := returnPath(msg)
	if fromp != nil {
		from = *fromp
	}
	out, loop, err := deliveredOnce(msg, addr)
	switch {
	case err != nil:
		return nil, fmt.Errorf("forward to the contacts of %s: read message: %w", addr, err)
	case loop:
		d.log().Warn("not forwarding to the group's contacts: mail loop", "group", addr)
		return nil, nil
	case d.Outbound == nil:
		d.log().Info("no outbound configured: not forwarding to the group's contacts", "group", addr, "to", strings.Join(to, ","))
		return nil, nil
	}
	// Spam is not sent on: it would make Roost a spam relay for
	// whoever writes to a group with contacts (the users still get it,
	// filed in Junk).
	if d.spamVerdict(ctx, msg) {
		d.log().Info("not forwarding spam to the group's contacts", "group", addr, "contacts", len(to))
		return nil, nil
	}
	if err := d.Outbound.Send(ctx, from, to, out); err != nil {
		return nil, fmt.Errorf("forward to the contacts of %s: %w", addr, err)
	}
	d.log().Info("forwarded to the group's contacts", "group", addr, "contacts", len(to))
	return to, nil
}

// deliveredOnce is msg with a Delivered-To field naming addr on top, the
// loop guard of redirects and forwards (RFC 5598 §4.3.3's trace use of
// it): loop is true, and out nil, when msg already carries one naming
// addr.
func deliveredOnce(msg *message, addr string) (out []byte, loop bool, err error) {
	me := strings.ToLower(strings.TrimSpace(addr))
	for _, v := range msg.header("Delivered-To") {
		if strings.EqualFold(strings.TrimSpace(v), me) {
			return nil, true, nil
		}
	}
	b, err := msg.bytes()
	if err != nil {
		return nil, false, err
	}
	out = make([]byte, 0, len(b)+len(me)+16)
	out = append(out, "Delivered-To: "+me+"\r\n"...)
	return append(out, b...), false, nil
}
