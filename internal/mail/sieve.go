package mail

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/sieve"
	"github.com/roost-mail/roost/internal/store"
)

// SieveOptions bound Sieve scripts and their actions. Zero fields take
// their defaults.
type SieveOptions struct {
	MaxScriptBytes int // one script; default 64 KiB (store props allow 1 MiB)
	MaxScripts     int // scripts per user; default 32
	MaxRedirects   int // redirect actions per run; default 4
	// VacationDefault is the vacation period when the script gives none
	// (RFC 5230 §4.1 suggests 7 days); VacationMin is the shortest period
	// honoured (:seconds is RFC 6131). Defaults 7 days and 1 hour.
	VacationDefault time.Duration
	VacationMin     time.Duration
}

func (o SieveOptions) withDefaults() SieveOptions {
	if o.MaxScriptBytes <= 0 {
		o.MaxScriptBytes = 64 << 10
	}
	if o.MaxScripts <= 0 {
		o.MaxScripts = 32
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = 4
	}
	if o.VacationDefault <= 0 {
		o.VacationDefault = 7 * 24 * time.Hour
	}
	if o.VacationMin <= 0 {
		o.VacationMin = time.Hour
	}
	return o
}

func (o SieveOptions) limits() sieve.Limits {
	return sieve.Limits{MaxScriptBytes: o.MaxScriptBytes}
}

// vacationReply is a vacation action still to be carried out.
type vacationReply struct {
	v sieve.Vacation
}

// Store property keys of Sieve scripts.
const (
	propScriptPrefix = "sieve/script/"
	propActive       = "sieve/active"
)

// runSieve runs the user's active script and turns its actions into a
// plan. Without a script, or when the script fails, the plan is to keep
// the message in the Inbox.
func (d *Deliverer) runSieve(ctx context.Context, u *store.User, st *store.Store, env Envelope, msg *message, fl folderList, inbox *store.Folder, props map[string]string) (plan, error) {
	keep := plan{stores: []storeOp{{folderID: inbox.ID}}}
	name := props[propActive]
	text, ok := props[propScriptPrefix+name]
	if name == "" || !ok {
		return keep, nil
	}
	opts := d.Sieve.withDefaults()
	log := d.log().With("user", u.Login, "tenant", u.Tenant, "script", name)
	script, err := sieve.Parse([]byte(text), opts.limits())
	if err != nil {
		log.Warn("active sieve script does not parse; keeping the message", "err", err)
		return keep, nil
	}
	sm := &sieveMessage{m: msg, env: env, boxes: func(n string) bool { return fl.lookup(n) != nil }}
	res, err := sieve.Run(script, sm, sieve.Env{MaxRedirects: opts.MaxRedirects, Now: d.now()})
	if err != nil {
		// RFC 5228 §2.10.6: an error at run time means keep.
		log.Warn("sieve script failed; keeping the message", "err", err)
		return keep, nil
	}
	var p plan
	add := func(id int64, flags []string) {
		for _, s := range p.stores {
			if s.folderID == id {
				return // RFC 5228 §2.10.3: the same mailbox once
			}
		}
		p.stores = append(p.stores, storeOp{folderID: id, flags: cleanFlags(flags)})
	}
	for _, a := range res.Actions {
		switch a := a.(type) {
		case sieve.Keep:
			add(inbox.ID, a.Flags)
		case sieve.FileInto:
			f := fl.lookup(a.Mailbox)
			if f == nil && a.Create {
				f, err = d.createPath(ctx, st.ID, &fl, a.Mailbox)
				if err != nil {
					log.Warn("fileinto :create failed; filing into the Inbox", "mailbox", a.Mailbox, "err", err)
				}
			}
			if f == nil {
				// RFC 5228 §4.1 lets an implementation save into the
				// default mailbox when the named one does not exist.
				log.Info("fileinto a missing mailbox; filing into the Inbox", "mailbox", a.Mailbox)
				f = inbox
			}
			add(f.ID, a.Flags)
		case sieve.Discard:
		case sieve.Redirect:
			p.redirects = append(p.redirects, a.Address)
		case sieve.Reject:
			// RFC 5429 §2.1/§2.2: in LMTP the refusal is made in protocol
			// for reject and ereject alike.
			reason := strings.TrimSpace(a.Reason)
			if reason == "" {
				reason = "rejected"
			}
			return plan{}, &RejectError{Reason: reason}
		case sieve.Vacation:
			p.vacation = &vacationReply{v: a}
			p.replied = true
		}
	}
	return p, nil
}

// redirect sends the message on (RFC 5228 §4.2), keeping the envelope
// sender. A Delivered-To field naming the user is added; a message that
// already carries it for this user is not redirected again (loop).
func (d *Deliverer) redirect(ctx context.Context, u *store.User, env Envelope, msg *message, to string) {
	out, loop, err := deliveredOnce(msg, u.Email)
	switch {
	case err != nil:
		d.log().Warn("redirect: read message", "user", u.Login, "err", err)
		return
	case loop:
		d.log().Warn("not redirecting: mail loop", "user", u.Login, "to", to)
		return
	}
	if d.send(ctx, "redirect", env.From, []string{to}, out) {
		d.log().Info("redirected", "user", u.Login, "to", to)
	}
}

// sendVacation carries out a vacation action (RFC 5230 §4.5, §4.6, §5).
func (d *Deliverer) sendVacation(ctx context.Context, u *store.User, st *store.Store, env Envelope, msg *message, vr *vacationReply) {
	v := vr.v
	log := d.log().With("user", u.Login, "tenant", u.Tenant)
	mine := userAddresses(u)
	for _, a := range v.Addresses {
		mine[strings.ToLower(strings.TrimSpace(a))] = true
	}
	if u.Email == "" {
		log.Debug("no vacation reply", "why", "user has no address")
		return
	}
	if why := autoReplyBlocked(env, msg, mine); why != "" {
		log.Debug("no vacation reply", "why", why)
		return
	}
	// RFC 5230 §4.5: answer only mail that names one of the user's
	// addresses in a recipient field.
	if !anyIn(msg.addresses("To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"), mine) {
		log.Debug("no vacation reply", "why", "user not named in a recipient field")
		return
	}
	opts := d.Sieve.withDefaults()
	period := opts.VacationDefault
	if v.PeriodSet {
		period = max(v.Period, opts.VacationMin)
	}
	ok, err := d.Store.RecordOnce(ctx, st.ID, recordKey("vacation/"+v.Handle+"/", env.From), period)
	if err != nil {
		log.Warn("vacation: response history", "err", err)
		return
	}
	if !ok {
		log.Debug("no vacation reply", "why", "answered this sender within the period")
		return
	}
	// RFC 5230 §4.4: :from must not forge another person's address; one
	// of the user's own (or :addresses) is used as given, else the user's
	// primary address.
	from := formatAddress(u.FullName, u.Email)
	if v.From != "" {
		if a, err := mail.ParseAddress(v.From); err == nil && mine[strings.ToLower(a.Address)] {
			from = oneLine(v.From)
		} else {
			log.Info("vacation :from is not one of the user's addresses; using the primary address", "from", v.From)
		}
	}
	subject := v.Subject
	if subject == "" {
		subject = "Auto: " + decodedSubject(msg)
	}
	b := buildReply(replySpec{from: from, to: env.From, subject: subject, body: v.Reason, mime: v.Mime,
		orig: msg, host: d.Hostname, date: d.now()})
	if d.send(ctx, "vacation reply", "", []string{env.From}, b) {
		log.Info("vacation reply sent", "to", env.From)
	}
}

// checkScript parses a script with the configured limits.
func checkScript(text []byte, opts SieveOptions) error {
	if _, err := sieve.Parse(text, opts.limits()); err != nil {
		return &ScriptError{Err: err}
	}
	return nil
}

// ScriptError is a script that does not parse or validate.
type ScriptError struct{ Err error }

func (e *ScriptError) Error() string { return fmt.Sprintf("invalid script: %v", e.Err) }
func (e *ScriptError) Unwrap() error { return e.Err }

// IMAP flag bounds (as the store enforces them).
const (
	maxFlags   = 64
	maxFlagLen = 255
)

// cleanFlags keeps the flags a script set that IMAP can hold: RFC 5232 §3
// says invalid flags (\Recent, atoms with specials) are ignored, and a
// flag must never make delivery fail.
func cleanFlags(flags []string) []string {
	var out []string
	for _, f := range flags {
		if len(out) == maxFlags {
			break
		}
		if f == "" || len(f) > maxFlagLen {
			continue
		}
		ok := true
		for i := 0; i < len(f); i++ {
			c := f[i]
			if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"]`, c) >= 0 || (c == '\\' && i != 0) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if f[0] == '\\' {
			switch strings.ToLower(f) {
			case `\seen`, `\answered`, `\flagged`, `\deleted`, `\draft`:
			default:
				continue // \Recent and unknown system flags
			}
		}
		if !slices.ContainsFunc(out, func(x string) bool { return strings.EqualFold(x, f) }) {
			out = append(out, f)
		}
	}
	return out
}
