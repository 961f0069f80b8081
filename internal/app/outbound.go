package app

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"path/filepath"
	"time"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/mail/urlauth"
	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/smtpserver"
	"github.com/roost-mail/roost/internal/store"
)

// newQueue builds the outbound queue (spooler) from the configuration.
// Local recipients go through del, the same pipeline as LMTP.
func (s *server) newQueue(cfg *config.Config, del *mail.Deliverer) *queue.Queue {
	var relay *queue.Relay
	if a := cfg.RelayAddr(); a != "" {
		relay = &queue.Relay{Addr: a, TLS: cfg.SMTPTLS, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword}
	}
	return queue.New(queue.Options{Store: s.db, Logger: s.log, Hostname: cfg.Hostname(),
		MaxMessageBytes: cfg.MaxMessageBytes(), MaxRecipients: cfg.SubmissionMaxRcpts, Relay: relay,
		Workers: cfg.QueueWorkers, Lease: time.Duration(cfg.QueueClaimLease) * time.Second,
		RetryBase: time.Duration(cfg.QueueRetryBase) * time.Minute, RetryMax: time.Duration(cfg.QueueRetryMax) * time.Minute,
		Lifetime: time.Duration(cfg.QueueLifetime) * time.Hour, DelayWarning: time.Duration(cfg.QueueDelayWarning) * time.Hour,
		ArchiveOnSend: func() bool { return s.cfg.Load().ArchiveOnSend }, ArchiveSent: s.archiveSent,
		Local: func(ctx context.Context, from string, rcpts []string, open func() (io.ReadCloser, error)) []error {
			errs := make([]error, len(rcpts))
			for i, r := range rcpts {
				sys := store.SystemContext(ctx)
				users, err := s.db.Recipients(sys, r)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					errs[i] = err
					continue
				}
				// A group's contact members: the message goes out to
				// them first; if it cannot, the recipient is retried
				// before any member has a copy.
				var contacts []string
				if err != nil || !(len(users) == 1 && users[0].OwnsAddress(r)) {
					var cerr error
					if contacts, cerr = s.db.RecipientContacts(sys, r); cerr != nil {
						errs[i] = cerr
						continue
					}
				}
				if err != nil && len(contacts) == 0 {
					errs[i] = err
					continue
				}
				if _, ferr := del.Forward(ctx, &from, r, contacts, open); ferr != nil {
					errs[i] = ferr
					continue
				}
				for _, res := range del.DeliverMessage(ctx, from, []mail.Recipient{{Addr: r, Users: users}}, open) {
					if res.Err != nil {
						errs[i] = res.Err
					}
				}
			}
			return errs
		}})
}

// listenSubmission opens the SMTP submission listeners (587 with STARTTLS,
// 465 with implicit TLS).
func (s *server) listenSubmission(cfg *config.Config, q *queue.Queue, tlsConf *tls.Config, authn *directory.Authenticator) error {
	srv := smtpserver.NewSubmission(smtpserver.SubmissionOptions{Queue: q, Logger: s.log, Hostname: cfg.Hostname(),
		TLS: tlsConf, AllowPlaintextAuth: cfg.AllowPlaintextAuth, MaxMessageBytes: cfg.MaxMessageBytes(),
		MaxRecipients: cfg.SubmissionMaxRcpts, SpoolDir: filepath.Join(cfg.DataDir, "spool"), SentCopy: cfg.SubmissionSentCopy,
		MaxConnectionsPerIP: cfg.MaxConnectionsPerIP,
		URLs:                &urlauth.Resolver{Store: s.db, MaxBytes: cfg.MaxMessageBytes()},
		Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
			return authn.Authenticate(directory.WithAuthInfo(ctx, "submission", ""), login, pw, remote, "")
		}, VerifyToken: saslBearer(cfg, authn, "smtp"), GSSAPI: saslGSSAPI(authn, "smtp"), OnCommand: s.metrics.verbCommand("submission", smtpVerbs)})
	if err := s.serveTCP(cfg.Listener("submission"), "submission", srv, false, srv.Serve); err != nil {
		return err
	}
	return s.serveTCP(cfg.Listener("submissions"), "submissions", srv, true, srv.Serve)
}

// spoolJob runs the queue's deliveries until ctx ends.
func (s *server) spoolJob(ctx context.Context, q *queue.Queue) {
	defer s.wg.Done()
	if err := q.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Error("outbound queue stopped", "err", err)
	}
}

// imipSender mails iTIP messages (RFC 6047) through the queue: CalDAV
// scheduling with external attendees and resources' automatic answers.
type imipSender struct {
	q    *queue.Queue
	host string
}

func (m imipSender) SendITIP(ctx context.Context, from string, to []string, method string, ics []byte) error {
	return m.q.Send(ctx, from, to, groupware.BuildIMIP(from, to, method, ics, m.host, time.Now()))
}

// imipHook applies incoming iMIP mail to the recipient's calendar.
type imipHook struct{ sched *groupware.Scheduler }

func (h imipHook) MeetingRequest(ctx context.Context, u *store.User, env mail.Envelope, msg []byte) error {
	return h.sched.HandleMail(store.SystemContext(ctx), u, env.From, msg)
}

func newScheduler(s *server, out groupware.Outbound) *groupware.Scheduler {
	return &groupware.Scheduler{Store: s.db, Logger: s.log.With("proto", "itip"), Outbound: out, Zones: &ical.ZoneCache{},
		InboxTTL: inboxTTL(s.cfg.Load())}
}
