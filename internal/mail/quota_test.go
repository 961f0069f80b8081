package mail_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
)

func i64(n int64) *int64 { return &n }

func TestQuotaMonitor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	on := true
	// alice over warn (100 B), bob over soft (100 B), carol under.
	if _, err := e.db.UpdateUser(sys, "alice", store.UserUpdate{QuotaOverride: &on, QuotaWarn: i64(100), QuotaSoft: i64(1 << 20), QuotaHard: i64(2 << 20)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.UpdateUser(sys, "bob", store.UserUpdate{QuotaOverride: &on, QuotaWarn: i64(50), QuotaSoft: i64(100)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateUser(sys, "acme", store.User{Login: "carol", Email: "carol@acme.test", Active: true}); err != nil {
		t.Fatal(err)
	}
	body := "From: s@example.org\nSubject: filler\n\n" + strings.Repeat("x", 400) + "\n"
	for _, u := range []string{"alice", "bob", "carol"} {
		if res := e.deliver("s@example.org", u+"@acme.test", body); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	q := &mail.QuotaMonitor{Store: e.db, Log: testLog(), Hostname: "mx.acme.test"}
	if err := q.CheckOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	inbox := e.special("alice", store.SpecialInbox)
	items := e.items(inbox)
	if len(items) != 2 {
		t.Fatalf("alice has %d messages, want filler + warning", len(items))
	}
	w := e.content(inbox, items[1].UID)
	for _, want := range []string{"Subject: Your mailbox is nearly full\r\n", "Dear Alice Example,", "Your mailbox alice has",
		"Warning level:                100 B", "Send limit (soft quota):      1.0 MB", "Receive limit (hard quota):   2.0 MB", "To: \"Alice Example\" <alice@acme.test>"} {
		if !strings.Contains(w, want) {
			t.Errorf("warning lacks %q:\n%s", want, w)
		}
	}
	if strings.Contains(w, "${") {
		t.Errorf("unreplaced variable:\n%s", w)
	}
	bi := e.special("bob", store.SpecialInbox)
	bitems := e.items(bi)
	if len(bitems) != 2 || !strings.Contains(e.content(bi, bitems[1].UID), "you can no longer send mail") {
		t.Fatalf("bob: %d messages, want the soft-quota warning", len(bitems))
	}
	if e.inboxCount("carol") != 1 {
		t.Fatal("carol (no quota) was warned")
	}
	// Once per day per level.
	if err := q.CheckOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.inboxCount("alice") != 2 || e.inboxCount("bob") != 2 {
		t.Fatal("warned twice in a day")
	}
}

func TestQuotaTemplateAndTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	on := true
	if _, err := e.db.UpdateUser(sys, "alice", store.UserUpdate{QuotaOverride: &on, QuotaWarn: i64(100)}); err != nil {
		t.Fatal(err)
	}
	tmpl := "Subject: Quota ${KOPANO_QUOTA_NAME} in ${KOPANO_QUOTA_COMPANY}\n\nHi ${KOPANO_QUOTA_FULLNAME}: ${KOPANO_QUOTA_STORE_SIZE} of ${KOPANO_QUOTA_WARN_SIZE}, soft ${KOPANO_QUOTA_SOFT_SIZE}, hard ${KOPANO_QUOTA_HARD_SIZE}.\n"
	if err := e.db.SetTenantProps(sys, "acme", map[string]*string{mail.TemplateKey(mail.LevelWarn): &tmpl}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateUser(sys, "acme", store.User{Login: "boss", Email: "boss@acme.test", Active: true, Admin: store.AdminTenant}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.UpdateTenant(sys, "acme", store.TenantUpdate{QuotaWarn: i64(200)}); err != nil {
		t.Fatal(err)
	}
	body := "From: s@example.org\nSubject: filler\n\n" + strings.Repeat("x", 400) + "\n"
	e.deliver("s@example.org", "alice@acme.test", body)
	q := &mail.QuotaMonitor{Store: e.db, Log: testLog()}
	if err := q.CheckOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	inbox := e.special("alice", store.SpecialInbox)
	items := e.items(inbox)
	if len(items) != 2 {
		t.Fatalf("alice has %d messages", len(items))
	}
	w := e.content(inbox, items[1].UID)
	if !strings.Contains(w, "Subject: Quota alice in acme\r\n") || !strings.Contains(w, "Hi Alice Example: ") ||
		!strings.Contains(w, " of 100 B, soft unlimited, hard unlimited.") {
		t.Fatalf("template not used:\n%s", w)
	}
	bi := e.special("boss", store.SpecialInbox)
	bitems := e.items(bi)
	if len(bitems) != 1 {
		t.Fatalf("tenant admin has %d messages, want the tenant warning", len(bitems))
	}
	if c := e.content(bi, bitems[0].UID); !strings.Contains(c, "Tenant acme has reached its warning level") || !strings.Contains(c, "Warning level:            200 B") {
		t.Fatalf("tenant warning:\n%s", c)
	}
	q.CheckOnce(context.Background())
	if len(e.items(bi)) != 1 {
		t.Fatal("tenant admin warned twice in a day")
	}
}

func TestRender(t *testing.T) {
	s, b := mail.Render("Subject: a ${X} b\nline ${X}\n", map[string]string{"X": "1"})
	if s != "a 1 b" || b != "line 1\n" {
		t.Fatalf("%q %q", s, b)
	}
}

// Run checks at once and then every interval until its context ends.
func TestQuotaMonitorRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	on := true
	if _, err := e.db.UpdateUser(sys, "alice", store.UserUpdate{QuotaOverride: &on, QuotaWarn: i64(10)}); err != nil {
		t.Fatal(err)
	}
	e.deliver("s@example.org", "alice@acme.test", "Subject: filler\n\n"+strings.Repeat("x", 100)+"\n")
	q := &mail.QuotaMonitor{Store: e.db, Log: testLog()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx, time.Hour) }()
	deadline := time.Now().Add(30 * time.Second)
	for e.inboxCount("alice") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("Run sent no warning")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}

// A mailbox over its hard quota refuses mail, but still gets the warning
// (as Kopano's monitor delivers it).
func TestQuotaWarningReachesFullMailbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := "From: s@example.org\nSubject: filler\n\n" + strings.Repeat("x", 400) + "\n"
	if res := e.deliver("s@example.org", "alice@acme.test", body); res.Err != nil {
		t.Fatal(res.Err)
	}
	on := true
	if _, err := e.db.UpdateUser(sys, "alice", store.UserUpdate{QuotaOverride: &on, QuotaWarn: i64(50), QuotaSoft: i64(100), QuotaHard: i64(200)}); err != nil {
		t.Fatal(err)
	}
	if res := e.deliver("s@example.org", "alice@acme.test", body); !errors.Is(res.Err, store.ErrOverQuota) {
		t.Fatalf("delivery to a full mailbox: %v", res.Err)
	}
	q := &mail.QuotaMonitor{Store: e.db, Log: testLog(), Hostname: "mx.acme.test"}
	if err := q.CheckOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	inbox := e.special("alice", store.SpecialInbox)
	items := e.items(inbox)
	if len(items) != 2 || !strings.Contains(e.content(inbox, items[1].UID), "Subject: ") {
		t.Fatalf("alice has %d messages, want filler + hard-quota warning", len(items))
	}
}
