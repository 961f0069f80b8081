package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/testenv"
)

// moveSeed is how many messages alice has before TestShardedStoreMove
// moves her store.
const moveSeed = 10000

// TestShardedStoreMove moves alice's store (10,000 messages) from
// backend node-a to node-b behind the frontend node-c, with PostgreSQL
// and versitygw, while a client appends through the frontend in a loop,
// LMTP delivers to her through the frontend and another client IDLEs:
//
//   - `roost admin store move alice --to node-b --json` switches the home
//     node; a draining node, a frontend and an unknown node are refused;
//   - the IDLE client is told BYE [UNAVAILABLE], the appending client
//     reconnects through the frontend and lands on node-b (its log),
//     node-a logs that it ended alice's sessions;
//   - every acknowledged APPEND and LMTP delivery is in the Inbox exactly
//     once;
//   - a QRESYNC SELECT with the UIDVALIDITY and HIGHESTMODSEQ read before
//     the move reports no VANISHED and FETCHes only the messages that
//     arrived during the test: UIDs and MODSEQs did not change.
//
// The longest pause the appending client saw and the move's time are
// logged (docs/benchmarks.md).
func TestShardedStoreMove(t *testing.T) {
	testenv.PostgresDSN(t)
	bin := roostBinary(t)
	nodes := startShard(t, bin)
	a, b, front := nodes[0], nodes[1], nodes[2]
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node-a log:\n%s\nnode-b log:\n%s\nfrontend log:\n%s", tail(a.proc.out.String()), tail(b.proc.out.String()), tail(front.proc.out.String()))
		}
	})

	// 10,000 messages straight into the store, as the nodes would write
	// them (small messages stay inline in PostgreSQL).
	start := time.Now()
	seedStore(t, a.dsn, "alice", moveSeed)
	t.Logf("seeded %d messages in %s", moveSeed, time.Since(start).Round(time.Millisecond))

	// The state a client synchronised before the move.
	before := qresyncState(t, front.imap)
	if before.exists != moveSeed {
		t.Fatalf("alice has %d messages, want %d", before.exists, moveSeed)
	}

	// Targets that cannot take the store are refused.
	adminCLI(t, bin, front.dir, "node", "drain", "node-a")
	for _, c := range []struct{ to, want string }{
		{"node-a", "draining"}, {"node-c", "backend role"}, {"node-x", "not in the node registry"},
	} {
		out, err := exec.Command(bin, "admin", "--data", front.dir, "store", "move", "bob", "--to", c.to).CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("store move bob --to %s: %v %s; want an error naming %q", c.to, err, out, c.want)
		}
	}
	adminCLI(t, bin, front.dir, "node", "undrain", "node-a")
	waitFor(t, 20*time.Second, "node-a undrained", func() bool { return readyz(a.http) == 200 })

	// The load: an IDLE session, a client appending in a loop, LMTP
	// delivering in a loop, all through the frontend.
	idleBye := make(chan string, 1)
	go idleUntilBye(front.imap, idleBye)
	var (
		mu        sync.Mutex
		appended  = map[string]uint32{} // Message-ID → UID, acknowledged
		lmtpAcked = map[string]bool{}
		failures  []string
		maxPause  time.Duration
		gaps      []time.Duration
		byes      atomic.Int64
	)
	fail := func(s string) {
		mu.Lock()
		failures = append(failures, s)
		mu.Unlock()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		last := time.Time{}
		appendLoop(front.imap, stop, func(id string, uid uint32) {
			now := time.Now()
			mu.Lock()
			appended[id] = uid
			if !last.IsZero() {
				gaps = append(gaps, now.Sub(last))
				maxPause = max(maxPause, now.Sub(last))
			}
			mu.Unlock()
			last = now
		}, func() { byes.Add(1) }, fail)
	})
	wg.Go(func() {
		lmtpLoop(front.lmtp, "alice@example.test", stop, func(id string) {
			mu.Lock()
			lmtpAcked[id] = true
			mu.Unlock()
		}, fail)
	})
	time.Sleep(2 * time.Second)
	mu.Lock()
	appendsBefore := len(appended)
	mu.Unlock()

	// An LMTP transaction the frontend routed to node-a (at RCPT) before
	// the switch, whose DATA comes after it.
	inflight := lmtpOpen(t, front.lmtp, "alice@example.test")

	moveStart := time.Now()
	out := adminCLI(t, bin, front.dir, "--json", "store", "move", "alice", "--to", "node-b")
	var m moveView
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("store move --json: %v\n%s", err, out)
	}
	moveWall := time.Since(moveStart)
	if m.From != "node-a" || m.To != "node-b" || m.Messages < moveSeed {
		t.Errorf("move = %+v", m)
	}
	var byeAt time.Duration
	select {
	case l := <-idleBye:
		byeAt = time.Since(moveStart)
		if !strings.HasPrefix(l, "* BYE [UNAVAILABLE]") {
			t.Errorf("the IDLE session was told %q, want BYE [UNAVAILABLE]", l)
		}
	case <-time.After(20 * time.Second):
		t.Error("the IDLE session on node-a was not ended after the move")
	}
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("move: %d messages switched in %.3fs (server), %s with the admin command; IDLE session told BYE %s after the command started; "+
		"%d APPENDs (%d before the move), %d LMTP deliveries, %d BYEs to the appending client; longest pause between two acknowledged APPENDs %s (median %s)",
		m.Messages, m.Seconds, moveWall.Round(time.Millisecond), byeAt.Round(time.Millisecond),
		len(appended), appendsBefore, len(lmtpAcked), byes.Load(), maxPause.Round(time.Millisecond), median(gaps).Round(100*time.Microsecond))
	if len(failures) > 0 {
		t.Errorf("client errors: %v", failures)
	}
	if len(appended) <= appendsBefore || len(lmtpAcked) == 0 {
		t.Errorf("the load stopped: %d APPENDs (%d before the move), %d deliveries", len(appended), appendsBefore, len(lmtpAcked))
	}
	if byes.Load() == 0 {
		t.Error("the appending client was never told BYE: its session was not moved")
	}
	if !logHasSoon(a.proc.out, "home node moved", "user=alice", "home=node-b") {
		t.Error("node-a did not log ending alice's sessions")
	}
	if !logHasSoon(b.proc.out, "logged in", "user=alice", "via=127.0.0.4") {
		t.Error("node-b has no session of alice after the move")
	}
	if !logHasSoon(front.proc.out, "logged in, proxied", "user=alice", "backend="+b.imap) {
		t.Error("the frontend did not proxy alice to node-b after the move")
	}

	// The transaction in flight completes on node-a: the same store.
	if l := inflight("<inflight@move.test>"); !strings.HasPrefix(l, "250") {
		t.Errorf("the LMTP transaction in flight during the move: %q", l)
	} else {
		lmtpAcked["<inflight@move.test>"] = true
	}

	// Every acknowledged message exactly once.
	after := qresyncAfter(t, front.imap, before)
	count := map[string]int{}
	for _, id := range after.ids {
		count[id]++
	}
	for id, uid := range appended {
		if count[id] != 1 {
			t.Errorf("appended %s (UID %d) is there %d times", id, uid, count[id])
		}
	}
	for id := range lmtpAcked {
		if count[id] != 1 {
			t.Errorf("delivered %s is there %d times", id, count[id])
		}
	}
	for id, n := range count {
		if n > 1 && id != "<seed@move.test>" { // the seed's copies share it
			t.Errorf("%s is there %d times", id, n)
		}
	}
	// The QRESYNC resync: nothing vanished, and what it FETCHed is what
	// arrived during the test, all above the UIDNEXT of before.
	if len(after.vanished) > 0 {
		t.Errorf("QRESYNC reported VANISHED %v", after.vanished)
	}
	if after.uidValidity != before.uidValidity {
		t.Errorf("UIDVALIDITY %d after the move, %d before", after.uidValidity, before.uidValidity)
	}
	newMsgs := after.exists - before.exists
	if len(after.fetched) != newMsgs || newMsgs < len(appended)+len(lmtpAcked) {
		t.Errorf("QRESYNC FETCHed %d messages; %d arrived (%d APPENDs and %d deliveries acknowledged)",
			len(after.fetched), newMsgs, len(appended), len(lmtpAcked))
	}
	for _, uid := range after.fetched {
		if uid < before.uidNext {
			t.Errorf("QRESYNC FETCHed UID %d, which was there before (UIDNEXT %d)", uid, before.uidNext)
			break
		}
	}
}

// seedStore fills login's Inbox with n small messages: one appended
// through a store handle of the test on the cluster's database (the way
// the nodes write), then n-1 copies of its row written in one
// transaction, as n deliveries would leave them: a UID and MODSEQ each,
// a journal entry each, the folder's and store's counters and the
// content's reference count. The store has no bulk insert, and 10,000
// single-message transactions take 20 to 80 s on the shared test machine;
// the test reads every message back over IMAP, so a seed the nodes could
// not serve fails it.
func seedStore(t *testing.T, dsn, login string, n int) {
	t.Helper()
	blobs, err := fs.New(filepath.Join(t.TempDir(), "blobs")) // unused: the message is inline
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Options{Driver: "postgres", DSN: dsn, Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := db.Principal(testenv.Sys, login)
	if err != nil {
		t.Fatal(err)
	}
	as := store.WithPrincipal(ctx, p)
	inbox := testenv.Folder(t, as, db, login, store.SpecialInbox)
	msg := fmt.Sprintf("From: seed@example.test\r\nTo: %s@example.test\r\nSubject: seed\r\nMessage-ID: <seed@move.test>\r\n\r\nseed message\r\n", login)
	it, err := db.AppendItem(as, inbox.ID, store.NewItem{Content: strings.NewReader(msg)})
	if err != nil {
		t.Fatal(err)
	}
	sdb, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	tx, err := sdb.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	k := int64(n - 1)
	var last, uid0 int64
	steps := []struct {
		q    string
		args []any
		dst  []any
	}{
		{`UPDATE stores SET modseq = modseq + $1, messages = messages + $1, size = size + $1 * $2 WHERE id = $3 RETURNING modseq`,
			[]any{k, it.Size, it.StoreID}, []any{&last}},
		{`UPDATE folders SET uidnext = uidnext + $1, messages = messages + $1, size = size + $1 * $2, highestmodseq = $3 WHERE id = $4 RETURNING uidnext - $1`,
			[]any{k, it.Size, &last, inbox.ID}, []any{&uid0}},
	}
	for _, st := range steps {
		for i, a := range st.args {
			if p, ok := a.(*int64); ok {
				st.args[i] = *p
			}
		}
		if err := tx.QueryRowContext(ctx, st.q, st.args...).Scan(st.dst...); err != nil {
			t.Fatalf("seed: %s: %v", st.q, err)
		}
	}
	for _, q := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO items (store_id, folder_id, uid, modseq, flags, size, blob, internal_date, thread_id)
			SELECT store_id, folder_id, $1 + g - 1, $2 + g - 1, flags, size, blob, internal_date, thread_id FROM items, generate_series(1, $3) g WHERE id = $4`,
			[]any{uid0, last - k + 1, k, it.ID}},
		{`INSERT INTO changes (store_id, seq, kind, folder_id, item_id, uid, time, actor)
			SELECT store_id, modseq, 'item-created', folder_id, id, uid, internal_date, '' FROM items WHERE folder_id = $1 AND uid >= $2`,
			[]any{inbox.ID, uid0}},
		{`UPDATE blobs SET refs = refs + $1 WHERE id = $2`, []any{k, string(it.Blob)}},
	} {
		if _, err := tx.ExecContext(ctx, q.q, q.args...); err != nil {
			t.Fatalf("seed: %s: %v", q.q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// mailboxState is what a QRESYNC client knows of alice's Inbox.
type mailboxState struct {
	uidValidity, uidNext uint32
	highestModSeq        uint64
	exists               int
	vanished             []string
	fetched              []uint32 // UIDs FETCHed by the QRESYNC SELECT
	ids                  []string // Message-IDs of every message
}

var (
	reUIDValidity = regexp.MustCompile(`\[UIDVALIDITY (\d+)\]`)
	reUIDNext     = regexp.MustCompile(`\[UIDNEXT (\d+)\]`)
	reHighest     = regexp.MustCompile(`\[HIGHESTMODSEQ (\d+)\]`)
	reExists      = regexp.MustCompile(`^\* (\d+) EXISTS`)
	reFetchUID    = regexp.MustCompile(`^\* \d+ FETCH \(.*UID (\d+)`)
	reMessageID   = regexp.MustCompile(`(?i)Message-ID: *(<[^>]+>)`)
)

// qresyncState logs in through addr, enables QRESYNC and reads the
// Inbox's UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and size.
func qresyncState(t *testing.T, addr string) mailboxState {
	t.Helper()
	c := imapLogin(t, addr)
	defer c.conn.Close()
	c.cmd("e1", "ENABLE QRESYNC")
	var st mailboxState
	for _, l := range c.lines("s1", "SELECT INBOX") {
		st.scan(l)
	}
	return st
}

// qresyncAfter SELECTs the Inbox with the QRESYNC parameters of before
// and reads every message's Message-ID.
func qresyncAfter(t *testing.T, addr string, before mailboxState) mailboxState {
	t.Helper()
	c := imapLogin(t, addr)
	defer c.conn.Close()
	c.cmd("e1", "ENABLE QRESYNC")
	var st mailboxState
	for _, l := range c.lines("s1", fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d))", before.uidValidity, before.highestModSeq)) {
		st.scan(l)
		if strings.HasPrefix(l, "* VANISHED") {
			st.vanished = append(st.vanished, strings.TrimSpace(l))
		}
		if m := reFetchUID.FindStringSubmatch(l); m != nil {
			uid, _ := strconv.ParseUint(m[1], 10, 32)
			st.fetched = append(st.fetched, uint32(uid))
		}
	}
	for _, l := range c.lines("f1", "UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])") {
		if m := reMessageID.FindStringSubmatch(l); m != nil {
			st.ids = append(st.ids, m[1])
		}
	}
	if len(st.ids) != st.exists {
		t.Errorf("read %d Message-IDs of %d messages", len(st.ids), st.exists)
	}
	return st
}

func (st *mailboxState) scan(l string) {
	if m := reUIDValidity.FindStringSubmatch(l); m != nil {
		v, _ := strconv.ParseUint(m[1], 10, 32)
		st.uidValidity = uint32(v)
	}
	if m := reUIDNext.FindStringSubmatch(l); m != nil {
		v, _ := strconv.ParseUint(m[1], 10, 32)
		st.uidNext = uint32(v)
	}
	if m := reHighest.FindStringSubmatch(l); m != nil {
		st.highestModSeq, _ = strconv.ParseUint(m[1], 10, 64)
	}
	if m := reExists.FindStringSubmatch(l); m != nil {
		st.exists, _ = strconv.Atoi(m[1])
	}
}

// lines sends a command and returns its untagged responses, literals
// joined to their line, failing the test unless it ends OK.
func (c *imapConn) lines(tag, command string) []string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(120 * time.Second))
	c.send(tag + " " + command)
	var out []string
	for {
		l, err := readIMAPLine(c.r)
		if err != nil {
			c.t.Fatalf("%s: %v", command, err)
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				c.t.Fatalf("%s: %s", command, l)
			}
			return out
		}
		out = append(out, l)
	}
}

var reLiteral = regexp.MustCompile(`\{(\d+)\}\r\n$`)

// readIMAPLine reads a response line with its literals inlined.
func readIMAPLine(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		m := reLiteral.FindStringSubmatch(l)
		if m == nil {
			b.WriteString(strings.TrimRight(l, "\r\n"))
			return b.String(), nil
		}
		b.WriteString(l)
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return b.String(), err
		}
		b.Write(buf)
	}
}

// idleUntilBye logs in through addr, IDLEs on the Inbox and reports the
// BYE line the server ends the session with.
func idleUntilBye(addr string, bye chan<- string) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		bye <- "dial: " + err.Error()
		return
	}
	defer c.Close()
	r := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(120 * time.Second))
	fmt.Fprintf(c, "i1 LOGIN alice secret-pw\r\ni2 SELECT INBOX\r\ni3 IDLE\r\n")
	for {
		l, err := readIMAPLine(r)
		if err != nil {
			bye <- "read: " + err.Error()
			return
		}
		if strings.HasPrefix(l, "* BYE") {
			bye <- l
			return
		}
		if strings.HasPrefix(l, "i1 NO") || strings.HasPrefix(l, "i2 NO") || strings.HasPrefix(l, "i3 NO") {
			bye <- l
			return
		}
	}
}

// appendLoop is a client appending to alice's Inbox through addr in a
// loop, as a mail client does: told BYE, or cut off before an answer, it
// reconnects and goes on with a new message (an unanswered APPEND may or
// may not have been stored, so it is not counted). Each acknowledged
// APPEND is reported with its Message-ID and UID (APPENDUID); a tagged NO
// or BAD, or a connection that cannot be opened, is a failure.
func appendLoop(addr string, stop <-chan struct{}, acked func(id string, uid uint32), bye func(), fail func(string)) {
	reAppendUID := regexp.MustCompile(`\[APPENDUID \d+ (\d+)\]`)
	var (
		c   net.Conn
		r   *bufio.Reader
		seq int
	)
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	connect := func() bool {
		for attempt := 0; attempt < 20; attempt++ {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			br := bufio.NewReader(conn)
			fmt.Fprintf(conn, "l1 LOGIN alice secret-pw\r\n")
			ok := false
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					break
				}
				if strings.HasPrefix(l, "l1 ") {
					ok = strings.HasPrefix(l, "l1 OK")
					if !ok {
						fail("LOGIN: " + strings.TrimSpace(l))
					}
					break
				}
			}
			if !ok {
				conn.Close()
				time.Sleep(100 * time.Millisecond)
				continue
			}
			c, r = conn, br
			return true
		}
		fail("could not log in through the frontend")
		return false
	}
	// one APPENDs a message; retry is true when the session ended first.
	one := func() (retry bool) {
		seq++
		id := fmt.Sprintf("<append-%d@move.test>", seq)
		msg := fmt.Sprintf("From: alice@example.test\r\nTo: alice@example.test\r\nSubject: appended %d\r\nMessage-ID: %s\r\n\r\nappended during the move\r\n", seq, id)
		tag := fmt.Sprintf("a%d", seq)
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := fmt.Fprintf(c, "%s APPEND INBOX {%d}\r\n", tag, len(msg)); err != nil {
			return true
		}
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return true
			}
			switch {
			case strings.HasPrefix(l, "* BYE"):
				bye()
				return true
			case strings.HasPrefix(l, "+"):
				if _, err := io.WriteString(c, msg+"\r\n"); err != nil {
					return true
				}
			case strings.HasPrefix(l, tag+" OK"):
				var uid uint32
				if m := reAppendUID.FindStringSubmatch(l); m != nil {
					v, _ := strconv.ParseUint(m[1], 10, 32)
					uid = uint32(v)
				}
				acked(id, uid)
				return false
			case strings.HasPrefix(l, tag+" "):
				fail("APPEND: " + strings.TrimSpace(l))
				return false
			}
		}
	}
	if !connect() {
		return
	}
	for {
		select {
		case <-stop:
			return
		default:
		}
		if one() {
			c.Close()
			c = nil
			if !connect() {
				return
			}
		}
	}
}

// lmtpLoop delivers to rcpt through addr in a loop, one transaction per
// message on one connection, reconnecting when it closes; each 250 is
// reported with the message's Message-ID. A 5xx is a failure; a 4xx is
// retried with a new message, as an MTA retries.
func lmtpLoop(addr, rcpt string, stop <-chan struct{}, acked func(id string), fail func(string)) {
	var (
		c   net.Conn
		r   *bufio.Reader
		seq int
	)
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	reply := func() (string, error) {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return "", err
			}
			if len(l) < 4 || l[3] != '-' {
				return l, nil
			}
		}
	}
	step := func(send, want string) (string, bool) {
		if send != "" {
			if _, err := io.WriteString(c, send+"\r\n"); err != nil {
				return "", false
			}
		}
		l, err := reply()
		if err != nil {
			return "", false
		}
		if !strings.HasPrefix(l, want) {
			if strings.HasPrefix(l, "5") {
				fail(fmt.Sprintf("LMTP %q: %s", send, strings.TrimSpace(l)))
			}
			return l, false
		}
		return l, true
	}
	for {
		select {
		case <-stop:
			return
		default:
		}
		if c == nil {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			c, r = conn, bufio.NewReader(conn)
			c.SetDeadline(time.Now().Add(60 * time.Second))
			if _, ok := step("", "220"); !ok {
				c.Close()
				c = nil
				continue
			}
			if _, ok := step("LHLO move.test", "250"); !ok {
				c.Close()
				c = nil
				continue
			}
		}
		seq++
		id := fmt.Sprintf("<lmtp-%d@move.test>", seq)
		c.SetDeadline(time.Now().Add(60 * time.Second))
		ok := true
		for _, s := range [][2]string{{"MAIL FROM:<dave@remote.test>", "250"}, {"RCPT TO:<" + rcpt + ">", "250"}, {"DATA", "354"}} {
			if _, ok = step(s[0], s[1]); !ok {
				break
			}
		}
		if ok {
			msg := fmt.Sprintf("From: dave@remote.test\r\nTo: %s\r\nSubject: delivered %d\r\nMessage-ID: %s\r\n\r\ndelivered during the move\r\n.", rcpt, seq, id)
			if _, ok = step(msg, "250"); ok {
				acked(id)
			}
		}
		if !ok {
			c.Close()
			c = nil
		}
	}
}

// median is the middle of ds (0 for none).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// lmtpOpen starts an LMTP transaction to rcpt through addr up to the
// recipient's reply; the function it returns sends the message with the
// given Message-ID and returns the recipient's reply to DATA.
func lmtpOpen(t *testing.T, addr, rcpt string) func(id string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(120 * time.Second))
	r := bufio.NewReader(c)
	step := func(send, want string) string {
		t.Helper()
		if send != "" {
			fmt.Fprintf(c, "%s\r\n", send)
		}
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("LMTP after %q: %v", send, err)
			}
			if len(l) < 4 || l[3] != '-' {
				if !strings.HasPrefix(l, want) {
					t.Fatalf("LMTP after %q: %q, want %s", send, l, want)
				}
				return l
			}
		}
	}
	step("", "220")
	step("LHLO move.test", "250")
	step("MAIL FROM:<dave@remote.test>", "250")
	step("RCPT TO:<"+rcpt+">", "250")
	return func(id string) string {
		step("DATA", "354")
		return step(fmt.Sprintf("From: dave@remote.test\r\nTo: %s\r\nSubject: in flight\r\nMessage-ID: %s\r\n\r\nrouted before the move, sent after it\r\n.", rcpt, id), "")
	}
}

// tail is the end of a long log.
func tail(s string) string {
	if len(s) > 20000 {
		return "…" + s[len(s)-20000:]
	}
	return s
}
