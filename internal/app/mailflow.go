package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/sieveserver"
	"github.com/roost-mail/roost/internal/store"
)

// newDeliverer builds the delivery pipeline that LMTP, `roost deliver` and
// the admin API share, from the configuration. out sends replies and
// redirects (the outbound queue); nil logs and skips them.
func newDeliverer(cfg *config.Config, b store.Backend, log *slog.Logger, out mail.Outbound) (*mail.Deliverer, error) {
	d := &mail.Deliverer{Store: b, Log: log.With("proto", "delivery"), Outbound: out, Hostname: cfg.Hostname(),
		MaxMessageBytes: cfg.MaxMessageBytes(),
		Spam: mail.SpamOptions{Checker: strings.Fields(cfg.SpamChecker),
			CheckerTimeout: time.Duration(cfg.SpamCheckerTimeout) * time.Second, RspamdURL: cfg.SpamRspamdURL},
		OOF: mail.OOFOptions{TimeLimit: time.Duration(cfg.AutorespondTimelimit) * time.Second,
			CC: cfg.AutorespondCC, NoRecip: cfg.AutorespondNorecip},
		Sieve: sieveLimits(cfg),
	}
	for _, h := range cfg.SpamHeaders {
		t, err := mail.ParseHeaderTest(h)
		if err != nil {
			return nil, fmt.Errorf("spam_headers: %w", err)
		}
		d.Spam.Headers = append(d.Spam.Headers, t)
	}
	timeout := time.Duration(cfg.DeliveryHookTimeout) * time.Second
	for _, e := range cfg.PublicDelivery {
		who, folder, _ := strings.Cut(e, "=")
		d.Hooks = append(d.Hooks, mail.Hook{Name: "public:" + strings.TrimSpace(who), Recipients: []string{strings.TrimSpace(who)},
			PublicFolder: strings.Trim(strings.TrimSpace(folder), "/")})
	}
	if cmd := strings.Fields(cfg.DeliveryHookCommand); len(cmd) > 0 {
		d.Hooks = append(d.Hooks, mail.Hook{Name: "command", Command: cmd, Timeout: timeout})
	}
	if cfg.DeliveryHookURL != "" {
		d.Hooks = append(d.Hooks, mail.Hook{Name: "url", URL: cfg.DeliveryHookURL, Timeout: timeout})
	}
	return d, nil
}

// learnOptions configures spam and ham learning (kopano-spamd).
func learnOptions(cfg *config.Config) mail.LearnOptions {
	return mail.LearnOptions{RspamdURL: cfg.SpamLearnRspamdURL, Password: cfg.SpamLearnRspamdPassword,
		SpamCommand: strings.Fields(cfg.SpamLearnSpamCommand), HamCommand: strings.Fields(cfg.SpamLearnHamCommand),
		Queue: cfg.SpamLearnQueue, Timeout: time.Duration(cfg.SpamLearnTimeout) * time.Second}
}

func sieveLimits(cfg *config.Config) mail.SieveOptions {
	return mail.SieveOptions{MaxScriptBytes: cfg.SieveMaxScriptSize << 10, MaxScripts: cfg.SieveMaxScripts,
		MaxRedirects: cfg.SieveMaxRedirects}
}

// listenManageSieve opens the ManageSieve listener (RFC 5804).
func (s *server) listenManageSieve(cfg *config.Config, tlsConf *tls.Config, authn *directory.Authenticator) error {
	o := sieveserver.Options{Store: s.db, Scripts: &mail.Scripts{Store: s.db, Limits: sieveLimits(cfg)},
		Logger: s.log, TLS: tlsConf, Hostname: cfg.Hostname(), AllowPlaintextAuth: cfg.AllowPlaintextAuth,
		MaxConnectionsPerIP: cfg.MaxConnectionsPerIP,
		Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
			return authn.Authenticate(directory.WithAuthInfo(ctx, "managesieve", ""), login, pw, remote, "")
		}, VerifyToken: saslBearer(cfg, authn, "sieve"), GSSAPI: saslGSSAPI(authn, "sieve")}
	s.shardSieve(cfg, &o) // shard.go
	srv := sieveserver.New(o)
	s.setStreamServers(srv, nil, nil) // move.go
	return s.serveTCP(cfg.Listener("managesieve"), "managesieve", srv, false, srv.Serve)
}

// quotaJob runs the quota monitor (kopano-monitor) every
// quota_monitor_interval minutes; 0 switches it off.
func (s *server) quotaJob(ctx context.Context, cfg *config.Config) {
	defer s.wg.Done()
	if cfg.QuotaMonitorInterval <= 0 {
		return
	}
	q := &mail.QuotaMonitor{Store: s.db, Log: s.log.With("proto", "quota-monitor"), Hostname: cfg.Hostname(),
		From: cfg.QuotaWarningFrom}
	// The node holding the lease runs the monitor (cluster.go); the first
	// run waits for the first heartbeat to have taken it.
	first := time.NewTimer(time.Duration(cfg.NodeHeartbeat)*time.Second + time.Second)
	defer first.Stop()
	t := time.NewTicker(time.Duration(cfg.QuotaMonitorInterval) * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-first.C:
		case <-t.C:
		}
		if !s.node.holds(jobQuota) {
			continue
		}
		if err := q.CheckOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("quota check failed", "err", err)
		}
	}
}
