package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// OOFOptions are the server-wide autoresponder settings of Kopano's
// /etc/kopano/autorespond (§5.1.3).
type OOFOptions struct {
	// TimeLimit is the least time between two replies to the same sender
	// (TIMELIMIT); 0 = one day.
	TimeLimit time.Duration
	// CC also answers mail that names the user only in Cc
	// (AUTORESPOND_CC).
	CC bool
	// NoRecip answers mail that does not name the user in To or Cc at all,
	// e.g. through a group or Bcc (AUTORESPOND_NORECIP).
	NoRecip bool
}

// OOF is a user's out-of-office setting.
type OOF struct {
	Enabled bool
	Subject string
	Message string
	// From and Until bound when replies go out; zero = open.
	From  time.Time
	Until time.Time
}

// Store property keys of out-of-office.
const (
	propOOFEnabled = "oof/enabled"
	propOOFSubject = "oof/subject"
	propOOFMessage = "oof/message"
	propOOFFrom    = "oof/from"
	propOOFUntil   = "oof/until"
)

// Bounds on out-of-office texts.
const (
	maxOOFSubject = 998
	maxOOFMessage = 64 << 10
)

// DefaultOOFSubject is the subject of a reply when the user set none.
const DefaultOOFSubject = "Out of Office"

// SetOOF saves a user's out-of-office setting (`roost admin user oof`,
// the web client). ctx carries the acting principal: the user, a tenant
// admin or a system admin.
func SetOOF(ctx context.Context, b store.Backend, login string, o OOF) error {
	if len(o.Subject) > maxOOFSubject || strings.ContainsAny(o.Subject, "\r\n") {
		return fmt.Errorf("out-of-office subject must be one line of at most %d bytes: %w", maxOOFSubject, store.ErrInvalid)
	}
	if len(o.Message) > maxOOFMessage {
		return fmt.Errorf("out-of-office message is longer than %d bytes: %w", maxOOFMessage, store.ErrInvalid)
	}
	if !o.From.IsZero() && !o.Until.IsZero() && o.Until.Before(o.From) {
		return fmt.Errorf("out-of-office ends before it starts: %w", store.ErrInvalid)
	}
	st, err := b.UserStore(ctx, login)
	if err != nil {
		return err
	}
	str := func(s string) *string { return &s }
	ts := func(t time.Time) *string {
		if t.IsZero() {
			return str("")
		}
		return str(t.UTC().Format(time.RFC3339))
	}
	en := "0"
	if o.Enabled {
		en = "1"
	}
	return b.SetStoreProps(ctx, st.ID, map[string]*string{
		propOOFEnabled: &en, propOOFSubject: str(o.Subject), propOOFMessage: str(o.Message),
		propOOFFrom: ts(o.From), propOOFUntil: ts(o.Until),
	})
}

// GetOOF reads a user's out-of-office setting.
func GetOOF(ctx context.Context, b store.Backend, login string) (OOF, error) {
	st, err := b.UserStore(ctx, login)
	if err != nil {
		return OOF{}, err
	}
	props, err := b.StoreProps(ctx, st.ID)
	if err != nil {
		return OOF{}, err
	}
	return oofFromProps(props), nil
}

func oofFromProps(p map[string]string) OOF {
	o := OOF{Enabled: p[propOOFEnabled] == "1", Subject: p[propOOFSubject], Message: p[propOOFMessage]}
	o.From, _ = time.Parse(time.RFC3339, p[propOOFFrom])
	o.Until, _ = time.Parse(time.RFC3339, p[propOOFUntil])
	return o
}

// errNoReply is returned by oofCheck with the reason no reply is sent.
type errNoReply string

func (e errNoReply) Error() string { return string(e) }

// oofCheck applies Kopano's autoresponder rules (§5.1.3) that do not need
// the reply history; it returns nil when a reply may go out.
func (d *Deliverer) oofCheck(u *store.User, o OOF, env Envelope, msg *message) error {
	now := d.now()
	switch {
	case !o.Enabled:
		return errNoReply("out-of-office is off")
	case u.Email == "":
		return errNoReply("user has no address")
	case !o.From.IsZero() && now.Before(o.From):
		return errNoReply("out-of-office has not started")
	case !o.Until.IsZero() && !now.Before(o.Until):
		return errNoReply("out-of-office has ended")
	case systemLocal(env.To):
		return errNoReply("message to a mail system address")
	}
	mine := userAddresses(u)
	if why := autoReplyBlocked(env, msg, mine); why != "" {
		return errNoReply(why)
	}
	switch {
	case d.OOF.NoRecip:
	case anyIn(msg.addresses("To"), mine):
	case d.OOF.CC && anyIn(msg.addresses("Cc"), mine):
	default:
		return errNoReply("user not named in To")
	}
	return nil
}

// outOfOffice sends the out-of-office reply when the rules allow it, once
// per sender per TimeLimit.
func (d *Deliverer) outOfOffice(ctx context.Context, u *store.User, st *store.Store, env Envelope, msg *message, props map[string]string) {
	o := oofFromProps(props)
	log := d.log().With("user", u.Login, "tenant", u.Tenant)
	if err := d.oofCheck(u, o, env, msg); err != nil {
		var nr errNoReply
		if errors.As(err, &nr) && o.Enabled {
			log.Debug("no out-of-office reply", "why", string(nr))
		}
		return
	}
	limit := d.OOF.TimeLimit
	if limit <= 0 {
		limit = 24 * time.Hour
	}
	ok, err := d.Store.RecordOnce(ctx, st.ID, recordKey("oof/", env.From), limit)
	if err != nil {
		log.Warn("out-of-office: reply history", "err", err)
		return
	}
	if !ok {
		log.Debug("no out-of-office reply", "why", "answered this sender within TIMELIMIT")
		return
	}
	subject := o.Subject
	if subject == "" {
		subject = DefaultOOFSubject
	}
	b := buildReply(replySpec{from: formatAddress(u.FullName, u.Email), to: env.From, subject: subject,
		body: o.Message, orig: msg, host: d.Hostname, date: d.now()})
	if d.send(ctx, "out-of-office reply", "", []string{env.From}, b) {
		log.Info("out-of-office reply sent", "to", env.From)
	}
}
