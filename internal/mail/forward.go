package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrForwardLoop is Forward's answer to a message that already went
// through the group: it is not sent again.
var ErrForwardLoop = errors.New("mail loop: the message already went through this group")

// Forward sends a message addressed to a group (addr) on to the group's
// contact members (to: addresses outside, through Outbound), as Kopano
// delivers a distribution list to its contacts. The envelope sender
// stays *from (nil: the message's Return-Path, as pipe delivery has
// it); a Delivered-To field naming the group is added, and a
// message that already carries one is not sent again (ErrForwardLoop),
// so two groups that contain each other's addresses do not loop. A
// message the spam verdict calls spam is not sent out. With
// no Outbound it logs and returns nil; an error of Outbound (the queue
// refused the message) is returned, for the caller to fail the
// recipient temporarily.
func (d *Deliverer) Forward(ctx context.Context, fromp *string, addr string, to []string, open func() (io.ReadCloser, error)) error {
	if len(to) == 0 {
		return nil
	}
	msg, err := d.load(open)
	if err != nil {
		return fmt.Errorf("forward to the contacts of %s: read message: %w", addr, err)
	}
	defer msg.close()
	from := returnPath(msg)
	if fromp != nil {
		from = *fromp
	}
	me := strings.ToLower(strings.TrimSpace(addr))
	for _, v := range msg.header("Delivered-To") {
		if strings.EqualFold(strings.TrimSpace(v), me) {
			d.log().Warn("not forwarding to the group's contacts: mail loop", "group", addr)
			return ErrForwardLoop
		}
	}
	if d.Outbound == nil {
		d.log().Info("no outbound configured: not forwarding to the group's contacts", "group", addr, "to", strings.Join(to, ","))
		return nil
	}
	// Spam is not sent on: it would make Roost a spam relay for
	// whoever writes to a group with contacts (the users still get it,
	// filed in Junk).
	if d.spamVerdict(ctx, msg) {
		d.log().Info("not forwarding spam to the group's contacts", "group", addr, "contacts", len(to))
		return nil
	}
	b, err := msg.bytes()
	if err != nil {
		return fmt.Errorf("forward to the contacts of %s: read message: %w", addr, err)
	}
	out := make([]byte, 0, len(b)+len(me)+16)
	out = append(out, "Delivered-To: "+me+"\r\n"...)
	out = append(out, b...)
	if err := d.Outbound.Send(ctx, from, to, out); err != nil {
		return fmt.Errorf("forward to the contacts of %s: %w", addr, err)
	}
	d.log().Info("forwarded to the group's contacts", "group", addr, "contacts", len(to))
	return nil
}
