package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// Spam and ham learning (kopano-spamd's job). The Learner follows the
// change journal of every store, so that it sees what any protocol did
// (IMAP MOVE and COPY, JMAP, ActiveSync): a message placed in the Junk
// folder is trained as spam, a message moved out of Junk (not to Trash) as
// ham. Training runs asynchronously, through rspamd's controller
// (/learnspam, /learnham) or a program, with retries and a bounded queue,
// at most once per message and direction (store.RecordOnce).

// LearnOptions configure the Learner.
type LearnOptions struct {
	// RspamdURL is the base URL of rspamd's controller worker, e.g.
	// "http://127.0.0.1:11334"; Password its controller password.
	RspamdURL string
	Password  string
	// SpamCommand and HamCommand are programs (argv) that read the message
	// on standard input, e.g. {"sa-learn", "--spam"}; exit status 0 =
	// learned. Used for the directions they are set for, besides rspamd.
	SpamCommand []string
	HamCommand  []string
	// Timeout bounds one learn request or program run; 0 = 60 seconds.
	Timeout time.Duration
	// Queue bounds the messages waiting to be trained; 0 = 1000. When
	// full, further messages are logged and dropped (training is best
	// effort; mail is never held back by it).
	Queue int
	// Retries is how often a failed learn is tried again (with growing
	// pauses from RetryPause, 0 = 5 seconds); 0 = 5.
	Retries    int
	RetryPause time.Duration
}

// Enabled reports whether anything is configured to learn with.
func (o LearnOptions) Enabled() bool {
	return o.RspamdURL != "" || len(o.SpamCommand) > 0 || len(o.HamCommand) > 0
}

// learnRecordKeep is the RecordOnce period of a learned message: the
// records live as long as the store keeps them (90 days).
const learnRecordKeep = store.SpamLearnKeep

// learnKey is the RecordOnce key of a message trained in one direction.
func learnKey(dir string, itemID int64) string { return store.SpamLearnKey(dir, itemID) }

// MarkDeliveredSpam records that the item the spam verdict filed in Junk
// needs no training as spam (it was judged spam already).
func MarkDeliveredSpam(ctx context.Context, b store.Mail, storeID, itemID int64) error {
	_, err := b.RecordOnce(store.SystemContext(ctx), storeID, learnKey("spam", itemID), learnRecordKeep)
	return err
}

// Learner trains the spam filter from users' moves into and out of Junk.
type Learner struct {
	Store store.Backend
	Opts  LearnOptions
	Log   *slog.Logger
	// Client is the HTTP client for rspamd; nil = a default one.
	Client *http.Client

	mu      sync.Mutex
	cursor  map[int64]uint64 // per store: journal Seq read up to
	pending map[int64]uint64 // stores with unread changes, and the newest Seq heard
	wake    chan struct{}
	jobs    chan learnJob
}

type learnJob struct {
	storeID, itemID int64
	dir             string // "spam" or "ham"
	at              time.Time
}

// learnSettle is how long a change rests before it is trained: delivery
// marks spam it files in Junk just after storing it (MarkDeliveredSpam).
const learnSettle = 2 * time.Second

func (l *Learner) log() *slog.Logger {
	if l.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Log
}

func (l *Learner) init() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wake == nil {
		l.cursor = map[int64]uint64{}
		l.pending = map[int64]uint64{}
		l.wake = make(chan struct{}, 1)
		q := l.Opts.Queue
		if q <= 0 {
			q = 1000
		}
		l.jobs = make(chan learnJob, q)
	}
}

// Notify is called for every committed journal entry (sqlstore
// OnChange). It returns at once. Changes committed before the first
// notification of a store (while the server was down) are not looked at.
func (l *Learner) Notify(storeID int64, seq uint64) {
	l.init()
	l.mu.Lock()
	if _, ok := l.cursor[storeID]; !ok && seq > 0 {
		l.cursor[storeID] = seq - 1
	}
	if seq > l.pending[storeID] {
		l.pending[storeID] = seq
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run reads the journal of notified stores and trains until ctx ends.
func (l *Learner) Run(ctx context.Context) {
	l.init()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.work(ctx)
	}()
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		}
		for {
			l.mu.Lock()
			var storeID int64
			var found bool
			for id := range l.pending {
				storeID, found = id, true
				delete(l.pending, id)
				break
			}
			since := l.cursor[storeID]
			l.mu.Unlock()
			if !found {
				break
			}
			next, err := l.scan(ctx, storeID, since)
			l.mu.Lock()
			if next > l.cursor[storeID] {
				l.cursor[storeID] = next
			}
			if err != nil {
				// Try again with the next notification of the store.
				l.pending[storeID] = next
			}
			l.mu.Unlock()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				l.log().Warn("spam learning: reading the change journal failed", "store", storeID, "err", err)
				break
			}
		}
	}
}

// scan reads a store's journal after since and queues what to train.
func (l *Learner) scan(ctx context.Context, storeID int64, since uint64) (uint64, error) {
	sys := store.SystemContext(ctx)
	var roles map[int64]string
	fromJunk := map[int64]bool{} // items deleted from Junk in what was read
	for {
		chs, err := l.Store.Changes(sys, storeID, since, 1000)
		if err != nil {
			return since, err
		}
		if len(chs) == 0 {
			return since, nil
		}
		for _, c := range chs {
			if c.Kind == store.ChangeFolderCreated || c.Kind == store.ChangeFolderUpdated || c.Kind == store.ChangeFolderDeleted {
				roles = nil // a special folder may have changed
				continue
			}
			if c.Kind != store.ChangeItemCreated && c.Kind != store.ChangeItemDeleted {
				continue
			}
			if roles == nil {
				if roles, err = l.roles(sys, storeID); err != nil {
					return since, err
				}
			}
			role := roles[c.FolderID]
			switch {
			case c.Kind == store.ChangeItemDeleted && role == store.SpecialJunk:
				fromJunk[c.ItemID] = true
			case c.Kind == store.ChangeItemDeleted:
				delete(fromJunk, c.ItemID)
			case role == store.SpecialJunk && !fromJunk[c.ItemID]:
				l.enqueue(learnJob{storeID: storeID, itemID: c.ItemID, dir: "spam", at: c.Time})
			case role != store.SpecialJunk && fromJunk[c.ItemID]:
				delete(fromJunk, c.ItemID)
				if role != store.SpecialTrash {
					l.enqueue(learnJob{storeID: storeID, itemID: c.ItemID, dir: "ham", at: c.Time})
				}
			}
		}
		since = chs[len(chs)-1].Seq
	}
}

// roles maps the store's folder IDs to their special roles.
func (l *Learner) roles(ctx context.Context, storeID int64) (map[int64]string, error) {
	fs, err := l.Store.ListFolders(ctx, storeID)
	if err != nil {
		return nil, err
	}
	m := make(map[int64]string, len(fs))
	for _, f := range fs {
		if f.Special != "" && !f.Deleted {
			m[f.ID] = f.Special
		}
	}
	return m, nil
}

func (l *Learner) enqueue(j learnJob) {
	if (j.dir == "spam" && l.Opts.RspamdURL == "" && len(l.Opts.SpamCommand) == 0) ||
		(j.dir == "ham" && l.Opts.RspamdURL == "" && len(l.Opts.HamCommand) == 0) {
		return
	}
	select {
	case l.jobs <- j:
	default:
		l.log().Warn("spam learning queue full; message not trained", "store", j.storeID, "item", j.itemID, "as", j.dir)
	}
}

// work trains the queued messages one after the other.
func (l *Learner) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-l.jobs:
			l.train(ctx, j)
		}
	}
}

// train trains one message, at most once per direction.
func (l *Learner) train(ctx context.Context, j learnJob) {
	if wait := time.Until(j.at.Add(learnSettle)); wait > 0 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(wait, learnSettle)):
		}
	}
	sys := store.SystemContext(ctx)
	retries, pause := l.Opts.Retries, l.Opts.RetryPause
	if retries <= 0 {
		retries = 5
	}
	if pause <= 0 {
		pause = 5 * time.Second
	}
	// Record first: at most once per message and direction, even when
	// training fails for good or the server stops halfway.
	first, err := l.Store.RecordOnce(sys, j.storeID, learnKey(j.dir, j.itemID), learnRecordKeep)
	if err != nil {
		l.log().Warn("spam learning: recording failed; message not trained", "store", j.storeID, "item", j.itemID, "as", j.dir, "err", err)
		return
	}
	if !first {
		return
	}
	for attempt := 0; ; attempt++ {
		content, err := l.content(sys, j.itemID)
		if errors.Is(err, store.ErrNotFound) {
			return // gone meanwhile: nothing to train
		}
		if err == nil {
			err = l.learn(ctx, j.dir, content)
			if err == nil {
				l.log().Info("message trained", "store", j.storeID, "item", j.itemID, "as", j.dir)
				return
			}
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			l.log().Warn("spam learning refused the message", "store", j.storeID, "item", j.itemID, "as", j.dir, "err", err)
			return
		}
		if attempt >= retries {
			l.log().Warn("spam learning failed; giving up", "store", j.storeID, "item", j.itemID, "as", j.dir, "err", err)
			return
		}
		l.log().Info("spam learning failed; retrying", "store", j.storeID, "item", j.itemID, "as", j.dir, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause << attempt):
		}
	}
}

// maxLearnBytes bounds a message sent for training; larger messages are
// not trained (filters learn little from them and refuse them anyway).
const maxLearnBytes = 20 << 20

func (l *Learner) content(ctx context.Context, itemID int64) ([]byte, error) {
	rc, err := l.Store.OpenItem(ctx, itemID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxLearnBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxLearnBytes {
		return nil, &permanentError{errors.New("message too large to train")}
	}
	return b, nil
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func (l *Learner) learn(ctx context.Context, dir string, msg []byte) error {
	timeout := l.Opts.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := l.Opts.SpamCommand
	if dir == "ham" {
		cmd = l.Opts.HamCommand
	}
	if len(cmd) > 0 {
		if err := runLearnCommand(ctx, cmd, msg); err != nil {
			return err
		}
	}
	if l.Opts.RspamdURL != "" {
		return l.learnRspamd(ctx, dir, msg)
	}
	return nil
}

func runLearnCommand(ctx context.Context, argv []string, msg []byte) error {
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Stdin = bytes.NewReader(msg)
	var stderr bytes.Buffer
	c.Stderr = &limitedBuffer{b: &stderr, n: 4096}
	c.WaitDelay = time.Second
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", argv[0], err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// learnRspamd posts the message to the controller's /learnspam or
// /learnham. A message rspamd already learned in that class (HTTP 208)
// counts as learned.
func (l *Learner) learnRspamd(ctx context.Context, dir string, msg []byte) error {
	u := strings.TrimRight(l.Opts.RspamdURL, "/") + "/learn" + dir
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(msg))
	if err != nil {
		return &permanentError{err}
	}
	if l.Opts.Password != "" {
		req.Header.Set("Password", l.Opts.Password)
	}
	c := l.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("rspamd learn%s: %w", dir, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusAlreadyReported, resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 4:
		return &permanentError{fmt.Errorf("rspamd learn%s: %s: %s", dir, resp.Status, strings.TrimSpace(string(body)))}
	default:
		return fmt.Errorf("rspamd learn%s: %s: %s", dir, resp.Status, strings.TrimSpace(string(body)))
	}
}
