package testenv

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// searchWords is the vocabulary of the index-vs-reading differential
// tests (IMAP SEARCH, JMAP Email/query).
var searchWords = strings.Fields(`account agenda approval budget calendar client contract deadline delivery
design document draft estimate feedback forecast holiday invoice launch ledger meeting milestone network
office payment planning policy product project proposal purchase quarter release report request review
revenue roadmap salary schedule security shipment signature sprint strategy summary supplier support
survey ticket training travel update vendor version warehouse website workshop zebra falcon harbor
lantern marble nectar orchard pepper quartz ribbon saddle timber velvet walnut yogurt anchor beacon
cobalt dolphin ember fossil glacier hazel indigo jasmine kettle lotus meadow nickel onyx pebble`)

// searchHeader is the header block the messages share, lower case.
const searchHeader = "from: user <user@example.org>\r\nto: team <team@example.com>\r\ncc: someone@example.net\r\n" +
	"subject: \r\ndate: mon, 2 mar 2026 10:00:00 +0000\r\nmessage-id: <m@example.org>\r\nmime-version: 1.0\r\n" +
	"content-type: text/plain; charset=utf-8\r\ncontent-type: text/html; charset=utf-8\r\n0123456789"

// SearchWords returns the differential tests' words, without those whose
// substring and whole-word matches could differ (a word inside another
// one, or inside the header block, which TEXT reads).
func SearchWords() []string {
	var out []string
	for _, w := range searchWords {
		ok := !strings.Contains(searchHeader, w)
		for _, o := range searchWords {
			if o != w && strings.Contains(o[1:], w) {
				ok = false
			}
		}
		if ok {
			out = append(out, w)
		}
	}
	return out
}

// SearchMessage returns message i of a differential test's mailbox: a
// subject and a text or HTML body of random words, some with a Cc.
func SearchMessage(r *rand.Rand, i int, words []string) string {
	pick := func(n int) string {
		var b []string
		for range n {
			b = append(b, words[r.IntN(len(words))])
		}
		return strings.Join(b, " ")
	}
	cc := ""
	if i%4 == 0 {
		cc = fmt.Sprintf("Cc: Someone <someone%d@example.net>\r\n", i%5)
	}
	ct, body := "text/plain", pick(15+r.IntN(25))
	if i%5 == 2 {
		// No inline markup between words: a tag becomes a space, and
		// "a <b>b" a double space that BODY "a b" does not find by
		// reading, while the index's phrase does.
		ct, body = "text/html", "<html><body><p>"+body+"</p><p>&amp; more</p></body></html>"
	}
	return fmt.Sprintf("From: User %d <user%d@example.org>\r\nTo: Team <team@example.com>\r\n%sSubject: %s\r\n"+
		"Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <m%d@example.org>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: %s; charset=utf-8\r\n\r\n%s\r\n", i%50, i%50, cc, pick(3), i, ct, body)
}
