package imapserver_test

import (
	"bytes"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// sessionSeeds are command sequences for FuzzSession: the commands of
// every group, RFC examples and the bad input of the IMAP issue.
var sessionSeeds = []string{
	"a CAPABILITY\r\nb NOOP\r\n",
	"a LIST \"\" \"*\"\r\nb LSUB \"\" \"*\"\r\nc NAMESPACE\r\n",
	"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"*\" RETURN (CHILDREN STATUS (MESSAGES SIZE))\r\n",
	"a CREATE x/y\r\nb RENAME x z\r\nc DELETE z/y\r\nd SUBSCRIBE z\r\ne STATUS z (MESSAGES UIDNEXT UNSEEN)\r\n",
	"a APPEND INBOX (\\Seen) {20+}\r\nSubject: hi\r\n\r\nbody\r\nb NOOP\r\n",
	"a APPEND INBOX {11+}\r\nSubject: x\r\n {11+}\r\nSubject: y\r\n\r\n",
	"a FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (Subject)] BINARY.SIZE[1])\r\n",
	"a FETCH 1 (BODY[]<0.10> BODY[1.MIME] RFC822.SIZE INTERNALDATE MODSEQ)\r\nb UID FETCH 1:* FLAGS (CHANGEDSINCE 1)\r\n",
	"a STORE 1:* +FLAGS (\\Deleted $x)\r\nb EXPUNGE\r\nc UID EXPUNGE 1:5\r\n",
	"a STORE 1 (UNCHANGEDSINCE 3) FLAGS.SILENT (\\Seen)\r\n",
	"a SEARCH RETURN (MIN MAX COUNT SAVE) OR SEEN (NOT DELETED SUBJECT x)\r\nb FETCH $ UID\r\n",
	"a SEARCH CHARSET UTF-8 TEXT hello SENTSINCE 1-Jan-2000 LARGER 1 UID 1:*\r\n",
	"a COPY 1:* Archive\r\nb MOVE 1 Trash\r\nc UID MOVE 1:* Junk\r\n",
	"a ENABLE QRESYNC\r\nb SELECT INBOX (QRESYNC (1 1 1:9))\r\nc UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)\r\n",
	"a ENABLE IMAP4rev2 UTF8=ACCEPT\r\nb SEARCH ALL\r\nc CREATE \"Ünïcode\"\r\n",
	"a IDLE\r\nDONE\r\nb CHECK\r\nc CLOSE\r\n",
	"a UID SEARCH RETURN (UPDATE COUNT PARTIAL -1:-5) UNSEEN\r\nb STORE 1 +FLAGS (\\Seen)\r\nc SORT RETURN (UPDATE) (ARRIVAL) UTF-8 1:3\r\nd EXPUNGE\r\ne CANCELUPDATE \"a\" \"c\"\r\n",
	"a UID FETCH 1:* (FLAGS) (PARTIAL 2:1)\r\nb SEARCH RETURN (SAVE PARTIAL 1:2) ALL\r\nc FETCH $ UID\r\n",
	"a UNSELECT\r\nb ENABLE UIDONLY\r\nc SELECT INBOX\r\nd FETCH 1 FLAGS\r\ne UID FETCH 1:* (UID FLAGS)\r\nf UID EXPUNGE 1\r\n",
	"a NOTIFY SET STATUS (selected (MessageNew (UID ENVELOPE) MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))\r\nb CREATE n\r\nc SUBSCRIBE n\r\nd IDLE\r\nDONE\r\ne NOTIFY NONE\r\n",
	"a GENURLAUTH \"imap://u@h/INBOX/;UID=1;URLAUTH=user+u\" INTERNAL\r\nb URLFETCH \"imap://u@h/INBOX/;UID=1/;SECTION=1.MIME;URLAUTH=anonymous:internal:00\"\r\nc RESETKEY INBOX INTERNAL\r\n",
	"a GETACL INBOX\r\nb SETACL INBOX bob +lr\r\nc MYRIGHTS INBOX\r\nd LISTRIGHTS INBOX bob\r\ne DELETEACL INBOX bob\r\n",
	"a GETQUOTAROOT INBOX\r\nb GETQUOTA \"\"\r\nc SETQUOTA \"\" (STORAGE 1)\r\n",
	"a SELECT \"Other Users/bob/INBOX\"\r\nb STATUS \"Other Users/eve/INBOX\" (MESSAGES)\r\n",
	"a APPEND INBOX {4294967295}\r\n",
	"a SEARCH " + strings.Repeat("(", 200) + "ALL" + strings.Repeat(")", 200) + "\r\n",
	"a CREATE \"a/../b\"\r\nb CREATE \"a&Jjo\"\r\nc CREATE " + strings.Repeat("x/", 100) + "x\r\n",
	"a UNSELECT\r\nb EXAMINE Sent\r\nc FETCH 1 BODY[]\r\n",
	"a ID (\"name\" \"fuzz\")\r\nb LOGOUT\r\n",
	"a SORT (REVERSE DATE SUBJECT DISPLAYFROM) UTF-8 ALL\r\nb UID SORT RETURN (MIN MAX ALL) (ARRIVAL) US-ASCII 1:*\r\n",
	"a THREAD REFERENCES UTF-8 ALL\r\nb UID THREAD ORDEREDSUBJECT UTF-8 NOT DELETED\r\n",
	"a COMPRESS DEFLATE\r\nb NOOP\r\n",
	// \Recent, MOVE into the selected mailbox, invalid modified UTF-7.
	"a SEARCH RECENT\r\nb SEARCH NEW OLD\r\nc STATUS INBOX (RECENT)\r\nd MOVE 1:* INBOX\r\ne UID MOVE 1:* INBOX\r\n",
	"a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}\r\nb LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*\r\n",
	// OBJECTID, SAVEDATE, PREVIEW, LIST-MYRIGHTS, REPLACE, CATENATE,
	// MESSAGELIMIT and INPROGRESS paths.
	"a FETCH 1:* (EMAILID THREADID SAVEDATE PREVIEW (LAZY))\r\nb UID SEARCH EMAILID M1 THREADID T1 SAVEDSINCE 1-Jan-2000 SAVEDATESUPPORTED\r\n",
	"a STATUS INBOX (MAILBOXID)\r\nb LIST \"\" * RETURN (MYRIGHTS STATUS (MAILBOXID))\r\nc CREATE n\r\n",
	"a UID REPLACE 1 Drafts {5+}\r\nhello\r\nb REPLACE 1 INBOX CATENATE (URL \"/INBOX/;UID=1/;SECTION=1\" TEXT {2+}\r\nhi)\r\n",
	"a APPEND Drafts CATENATE (URL \"/INBOX;UIDVALIDITY=1/;UID=1/;SECTION=HEADER\" TEXT {3+}\r\nabc URL /INBOX/;UID=9) {2+}\r\nhi\r\n",
	"a APPEND INBOX CATENATE (URL \"/INBOX/;UID=1/;PARTIAL=5.3\") CATENATE (TEXT {1+}\r\nx)\r\nb GETQUOTAROOT INBOX\r\n",
}

// fuzzEnv is shared by the iterations of one fuzzing process.
type fuzzEnv struct {
	srv   *imapserver.Server
	mu    sync.Mutex
	panic any
}

var (
	fuzzOnce sync.Once
	fuzzE    *fuzzEnv
)

func newFuzzEnv(t testing.TB) *fuzzEnv {
	fuzzOnce.Do(func() {
		hub := events.NewHub()
		// SQLite whatever ROOST_TEST_BACKEND says: this store outlives every
		// test, and a PostgreSQL schema would outlive the run.
		db := openStoreOn(&keepT{t}, testenv.SQLite, hub)
		fe := &fuzzEnv{}
		fe.srv = imapserver.New(imapserver.Options{
			Store: db, Events: hub, AllowPlaintextAuth: true, MaxMessageBytes: 64 << 10,
			Limits:       imap.Limits{MaxLine: 8 << 10, MaxCommand: 256 << 10},
			Authenticate: authenticator(db),
		})
		fe.srv.SetOnPanic(func(v any) {
			fe.mu.Lock()
			fe.panic = v
			fe.mu.Unlock()
		})
		fe.srv.SetIdlePoll(50 * time.Millisecond)
		inbox := mustFolder(db, "alice", store.SpecialInbox)
		for i := 1; i <= 3; i++ {
			db.AppendItem(sys, inbox.ID, store.NewItem{Content: strings.NewReader(testMsg(i))})
		}
		db.AppendItem(sys, inbox.ID, store.NewItem{Content: strings.NewReader(mimeMsg)})
		bobInbox := mustFolder(db, "bob", store.SpecialInbox)
		db.SetACL(sys, bobInbox.ID, store.UserSubject("alice"), "lrs")
		fuzzE = fe
	})
	return fuzzE
}

// keepT lets the shared store outlive the first test that opens it: its
// temporary directory and cleanup belong to the process, not to a test.
type keepT struct{ testing.TB }

func (k *keepT) TempDir() string {
	dir, err := tempDir()
	if err != nil {
		k.TB.Fatal(err)
	}
	return dir
}

func (k *keepT) Cleanup(func()) {}

func mustFolder(b store.Backend, login, role string) *store.Folder {
	ctx := store.WithPrincipal(sys, mustPrincipal(b, login))
	st, err := b.UserStore(ctx, login)
	if err != nil {
		panic(err)
	}
	fs, err := b.ListFolders(ctx, st.ID)
	if err != nil {
		panic(err)
	}
	for _, f := range fs {
		if f.Special == role {
			return f
		}
	}
	panic("no folder " + role)
}

func mustPrincipal(b store.Backend, login string) *store.Principal {
	p, err := b.Principal(sys, login)
	if err != nil {
		panic(err)
	}
	return p
}

// FuzzSession feeds command sequences to a live, logged-in session over
// net.Pipe: the server must never panic, must end the session when the
// client goes away, and, unless the input leaves it waiting for more
// (a literal, IDLE, an AUTHENTICATE exchange), must keep answering.
func FuzzSession(f *testing.F) {
	for _, s := range sessionSeeds {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, data []byte, sel bool) {
		cli, srvConn := net.Pipe()
		done := fe.srv.ServeConnForTest(srvConn)
		var out bytes.Buffer
		var outMu sync.Mutex
		readDone := make(chan struct{})
		go func() {
			defer close(readDone)
			buf := make([]byte, 32<<10)
			for {
				n, err := cli.Read(buf)
				outMu.Lock()
				out.Write(buf[:n])
				outMu.Unlock()
				if err != nil {
					return
				}
			}
		}()
		script := "l LOGIN alice " + password("alice") + "\r\n"
		if sel {
			script += "s SELECT INBOX\r\n"
		}
		input := append([]byte(script), data...)
		input = append(input, "\r\nzz NOOP\r\n"...)
		go func() {
			cli.SetWriteDeadline(time.Now().Add(5 * time.Second))
			cli.Write(input)
		}()
		answered := func() bool {
			outMu.Lock()
			defer outMu.Unlock()
			return bytes.Contains(out.Bytes(), []byte("\nzz ")) || bytes.Contains(out.Bytes(), []byte("* BYE"))
		}
		waits := bytes.IndexByte(data, '{') >= 0 || containsFold(data, "IDLE") || containsFold(data, "AUTHENTICATE") ||
			containsFold(data, "LOGOUT") || containsFold(data, "COMPRESS") // the rest is not deflate
		wait := 5 * time.Second
		if waits {
			wait = 200 * time.Millisecond
		}
		deadline := time.Now().Add(wait)
		for !answered() && time.Now().Before(deadline) {
			select {
			case <-readDone:
				deadline = time.Now()
			case <-time.After(5 * time.Millisecond):
			}
		}
		if !waits && !answered() {
			outMu.Lock()
			o := out.String()
			outMu.Unlock()
			t.Errorf("session stopped answering; output:\n%s", tail(o))
		}
		if os.Getenv("IMAPTEST_FUZZ_SHOW") != "" {
			outMu.Lock()
			t.Logf("output:\n%s", tail(out.String()))
			outMu.Unlock()
		}
		cli.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("session did not end after the client went away")
		}
		<-readDone
		fe.mu.Lock()
		p := fe.panic
		fe.panic = nil
		fe.mu.Unlock()
		if p != nil {
			t.Fatalf("panic: %v", p)
		}
	})
}

func containsFold(b []byte, s string) bool {
	return bytes.Contains(bytes.ToUpper(b), []byte(s))
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

func tempDir() (string, error) { return os.MkdirTemp("", "imapserver-fuzz-") }
