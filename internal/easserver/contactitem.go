package easserver

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/vcard"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

// maxCard bounds a stored vCard read for a device.
const maxCard = 4 << 20

// readCard reads and parses a contact item; nil (no error) when it is not
// a readable vCard (stored by another client in a form Roost cannot
// read).
func (c *call) readCard(itemID int64) (*vcard.Card, error) {
	rc, err := c.s.o.Store.OpenItem(c.ctx, itemID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxCard))
	if err != nil {
		return nil, fmt.Errorf("read contact %d: %w", itemID, err)
	}
	cards, err := vcard.Decode(b, vcard.Limits{})
	if err != nil || len(cards) == 0 {
		return nil, nil
	}
	return cards[0], nil
}

// contactData renders a contact item as ApplicationData.
func (c *call) contactData(card *vcard.Card, o bodyOptions) *wbxml.Node {
	fields, note := eas.ContactData(card)
	ad := wbxml.El(eas.AirSync, "ApplicationData").Add(fields...)
	p := o.choose()
	if p.typ != 1 && p.typ != 2 {
		p.typ = 1
	}
	data := note
	if p.typ == 2 && note != "" {
		data = "<html><body><pre>" + html.EscapeString(note) + "</pre></body></html>"
	}
	b := wbxml.El(eas.AirSyncBase, "Body", asb("Type", fmt.Sprint(p.typ)), asb("EstimatedDataSize", fmt.Sprint(len(data))))
	if p.truncate > 0 && len(data) > p.truncate {
		b.Add(asb("Truncated", "1"))
		data = cut(data, p.truncate)
	}
	if data != "" {
		b.Add(asb("Data", data))
	}
	return ad.Add(b)
}

// noteOf returns the note a device sent (airsyncbase:Body, or 12.1's
// contacts:Body) and whether it sent one.
func noteOf(ad *wbxml.Node) (string, bool) {
	if b := ad.Child("Body"); b != nil {
		if b.Page == eas.AirSyncBase {
			if b.ChildText("Truncated") == "1" {
				return "", false // the device has only part: keep ours
			}
			s := b.ChildText("Data")
			if b.ChildText("Type") == "2" {
				s = htmlToText(s)
			}
			return s, true
		}
		return b.Content(), true
	}
	return "", false
}

func newContactName() (uid, name string) {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	uid = h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	return uid, uid + ".vcf"
}

// addContact stores a contact the device created; its UID.
func (c *call) addContact(f *store.Folder, ad *wbxml.Node) (uint32, error) {
	card := &vcard.Card{}
	card.SetText("VERSION", "3.0")
	uid, name := newContactName()
	card.SetText("UID", uid)
	note, has := noteOf(ad)
	eas.ApplyContact(card, ad, note, has)
	card.SetRev(c.s.o.Now())
	b, err := vcard.Marshal(card)
	if err != nil {
		return 0, err
	}
	it, err := c.s.o.Store.AppendItem(c.ctx, f.ID, store.NewItem{Content: bytes.NewReader(b), Name: name, ObjectUID: uid})
	if err != nil {
		return 0, err
	}
	return it.UID, nil
}

// changeContact writes the device's fields into a stored contact,
// keeping what the device does not know of. The item gets a new UID
// (store.ReplaceItem): the device is told Delete and Add at its next
// Sync. ErrNotFound if the item is gone.
func (c *call) changeContact(f *store.Folder, uid uint32, ad *wbxml.Node) error {
	it, err := c.s.o.Store.ItemByUID(c.ctx, f.ID, uid)
	if err != nil {
		return err
	}
	card, err := c.readCard(it.ID)
	if err != nil {
		return err
	}
	if card == nil {
		card = &vcard.Card{}
		card.SetText("VERSION", "3.0")
	}
	if card.UID() == "" {
		u, _ := newContactName()
		card.SetText("UID", u)
	}
	note, has := noteOf(ad)
	eas.ApplyContact(card, ad, note, has)
	card.SetRev(c.s.o.Now())
	b, err := vcard.Marshal(card)
	if err != nil {
		return err
	}
	_, err = c.s.o.Store.ReplaceItem(c.ctx, it.ID, store.NewItem{Content: bytes.NewReader(b), ObjectUID: card.UID()})
	if errors.Is(err, store.ErrConflict) {
		return store.ErrNotFound
	}
	return err
}
