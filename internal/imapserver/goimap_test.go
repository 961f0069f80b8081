package imapserver_test

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// emersion's go-imap v2 client, a real client written independently of
// this server: IMAP4rev2 by ENABLE, CONDSTORE (SELECT, FETCH CHANGEDSINCE,
// STORE UNCHANGEDSINCE), IDLE, and a QRESYNC resync after its changes.
// (go-imap v2.0.0-beta.8 cannot send SELECT … (QRESYNC …) or parse
// VANISHED, so that step uses the raw test client.)

// syncBuf is a transcript written by the client's reader goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func goClient(t *testing.T, e *env, login string, o *imapclient.Options) *imapclient.Client {
	t.Helper()
	if o == nil {
		o = &imapclient.Options{}
	}
	c, err := imapclient.DialInsecure(e.addr, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(login, password(login)).Wait(); err != nil {
		t.Fatalf("login %s: %v", login, err)
	}
	return c
}

func flagsOf(t *testing.T, c *imapclient.Client, seq uint32) []imap.Flag {
	t.Helper()
	msgs, err := c.Fetch(imap.SeqSetNum(seq), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch flags of %d: %v %v", seq, msgs, err)
	}
	return msgs[0].Flags
}

func TestGoIMAPClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", "inbox")
	for i := range 5 {
		e.deliver(inbox.ID, testMsg(i))
	}

	exists := make(chan uint32, 16)
	var trA syncBuf
	a := goClient(t, e, "alice", &imapclient.Options{
		DebugWriter: &trA,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if !a.Caps().Has(imap.CapIMAP4rev2) || !a.Caps().Has(imap.CapCondStore) || !a.Caps().Has(imap.CapQResync) {
		t.Fatalf("capabilities %v", a.Caps())
	}
	// go-imap enables only IMAP4rev2 (and refuses CONDSTORE client-side);
	// SELECT (CONDSTORE) turns CONDSTORE on (RFC 7162 §3.1.8).
	en, err := a.Enable(imap.CapIMAP4rev2).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !en.Caps.Has(imap.CapIMAP4rev2) {
		t.Fatalf("enabled %v", en.Caps)
	}

	sel, err := a.Select("INBOX", &imap.SelectOptions{CondStore: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 5 || sel.UIDValidity == 0 || sel.UIDNext != 6 || sel.HighestModSeq == 0 {
		t.Fatalf("SELECT: %+v", sel)
	}
	msgs, err := a.Fetch(imap.SeqSetNum(1, 2, 3, 4, 5), &imap.FetchOptions{
		UID: true, Flags: true, ModSeq: true, Envelope: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true}},
	}).Collect()
	if err != nil || len(msgs) != 5 {
		t.Fatalf("fetch: %d messages, %v", len(msgs), err)
	}
	for i, m := range msgs {
		if m.UID != imap.UID(i+1) || m.ModSeq == 0 || m.ModSeq > sel.HighestModSeq || m.Envelope == nil ||
			m.Envelope.Subject != fmt.Sprintf("message %d", i) || m.RFC822Size != int64(len(testMsg(i))) {
			t.Fatalf("message %d: %+v", i+1, m)
		}
		if body := m.FindBodySection(&imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader}); !bytes.HasPrefix(body, []byte("From: Sender")) {
			t.Fatalf("header of %d: %q", i+1, body)
		}
	}
	m0 := sel.HighestModSeq

	// Another session changes flags.
	b := goClient(t, e, "alice", nil)
	if _, err := b.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := b.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Store(imap.UIDSetNum(3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{"$Label1"}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}

	// FETCH CHANGEDSINCE sees exactly those (RFC 7162 §3.1.4.1).
	changed, err := a.Fetch(imap.SeqSetNum(1, 2, 3, 4, 5), &imap.FetchOptions{UID: true, Flags: true, ChangedSince: m0}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var uids []imap.UID
	for _, m := range changed {
		uids = append(uids, m.UID)
		if m.ModSeq <= m0 {
			t.Errorf("changed message %d: MODSEQ %d not above %d", m.UID, m.ModSeq, m0)
		}
	}
	slices.Sort(uids)
	if !slices.Equal(uids, []imap.UID{2, 3}) {
		t.Fatalf("CHANGEDSINCE %d: UIDs %v", m0, uids)
	}
	if f := flagsOf(t, a, 2); !slices.Contains(f, imap.FlagFlagged) {
		t.Fatalf("flags of 2: %v", f)
	}
	// IMAP4rev2 answers: ESEARCH, LIST, STATUS with DELETED and SIZE.
	sd, err := a.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, &imap.SearchOptions{ReturnAll: true, ReturnCount: true}).Wait()
	if err != nil || !slices.Equal(sd.AllUIDs(), []imap.UID{2}) || sd.Count != 1 {
		t.Fatalf("UID SEARCH FLAGGED: %+v %v", sd, err)
	}
	boxes, err := a.List("", "*", nil).Collect()
	if err != nil || !slices.ContainsFunc(boxes, func(d *imap.ListData) bool { return d.Mailbox == "INBOX" }) {
		t.Fatalf("LIST: %v %v", boxes, err)
	}
	st, err := a.Status("INBOX", &imap.StatusOptions{NumMessages: true, NumDeleted: true, Size: true, HighestModSeq: true}).Wait()
	if err != nil || st.NumMessages == nil || *st.NumMessages != 5 || st.NumDeleted == nil || *st.NumDeleted != 0 ||
		st.Size == nil || *st.Size <= 0 || st.HighestModSeq <= m0 {
		t.Fatalf("STATUS: %+v %v", st, err)
	}

	// STORE UNCHANGEDSINCE: message 3 changed after m0, so it is left
	// alone and reported as MODIFIED (RFC 7162 §3.1.3); message 4 did not.
	if err := a.Store(imap.SeqSetNum(3, 4), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}},
		&imap.StoreOptions{UnchangedSince: m0}).Close(); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`OK \[MODIFIED 3\]`).MatchString(trA.String()) {
		t.Fatalf("no [MODIFIED 3] in the transcript:\n%s", lastBytes(trA.String(), 2000))
	}
	if f := flagsOf(t, a, 3); slices.Contains(f, imap.FlagSeen) || !slices.Contains(f, imap.Flag("$Label1")) {
		t.Fatalf("conflicting message changed: %v", f)
	}
	if f := flagsOf(t, a, 4); !slices.Contains(f, imap.FlagSeen) {
		t.Fatalf("non-conflicting message not changed: %v", f)
	}

	// IDLE: an APPEND by the other session is announced.
	for len(exists) > 0 {
		<-exists
	}
	idle, err := a.Idle()
	if err != nil {
		t.Fatal(err)
	}
	msg := testMsg(99)
	ap := b.Append("INBOX", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDraft}})
	if _, err := ap.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := ap.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ap.Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-exists:
		if n != 6 {
			t.Fatalf("EXISTS %d during IDLE, want 6", n)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no EXISTS during IDLE:\n%s", lastBytes(trA.String(), 2000))
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}

	// QRESYNC resync from the state the client had at m0, after the other
	// session expunges message 1 and flags message 5 (RFC 7162 §3.2.5).
	if err := b.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.UIDExpunge(imap.UIDSetNum(1)).Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Store(imap.UIDSetNum(5), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagAnswered}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	r := e.login("alice")
	mustHave(t, r.ok("ENABLE QRESYNC"), "* ENABLED QRESYNC")
	lines := r.ok("SELECT INBOX (QRESYNC (%d %d))", sel.UIDValidity, m0)
	mustHave(t, lines, "* VANISHED (EARLIER) 1")
	mustHave(t, lines, "UID 5", `\Answered`)
	mustHave(t, lines, "UID 2", `\Flagged`)
	mustHave(t, lines, "UID 3", `$Label1`)
	mustHave(t, lines, "UID 4", `\Seen`)
	mustHave(t, lines, "UID 6", `\Draft`)
	mustHave(t, lines, "* 5 EXISTS")
	// And the go-imap session hears of the expunge on its next command.
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(trA.String(), "* 1 EXPUNGE") {
		t.Fatalf("no EXPUNGE for the CONDSTORE session:\n%s", lastBytes(trA.String(), 2000))
	}
	if sel2, err := a.Select("INBOX", &imap.SelectOptions{CondStore: true}).Wait(); err != nil || sel2.NumMessages != 5 || sel2.HighestModSeq <= m0 {
		t.Fatalf("reselect: %+v %v", sel2, err)
	}
	if err := a.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
