package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// maxUnixSocketPath is the longest unix socket path every supported OS
// accepts (sun_path is 104 bytes on the BSDs and macOS, 108 on Linux).
const maxUnixSocketPath = 103

// maxPEMFile bounds the certificate and key files read during validation, so
// that a mistaken path (a device, a huge log) cannot stall startup.
const maxPEMFile = 1 << 20

// maxExceptIDs bounds unix_except_user_uids and unix_except_group_gids.
const maxExceptIDs = 10000

// validate adds a problem for every invalid value in c. Keys already marked
// bad by decode keep their default and are not checked again.
func (c *Config) validate(p *problems) {
	if p.ok("data_dir") {
		if c.DataDir == "" {
			p.add("data_dir", "must not be empty")
		} else {
			checkPathChars(p, "data_dir", c.DataDir)
		}
	}
	if p.ok("database") {
		checkDatabase(p, c.Database)
	}
	c.checkCluster(p)
	if p.ok("roles") {
		if len(c.Roles) == 0 {
			p.add("roles", `must list at least one role, e.g. ["all"]`)
		}
		checkList(p, "roles", c.Roles, allRoles)
	}

	c.checkKerberos(p)
	c.checkListeners(p)
	c.checkSockets(p)
	c.checkTLS(p)
	c.checkOIDC(p)

	if p.ok("server_name") && c.ServerName != "" && !validHostname(c.ServerName) {
		p.add("server_name", "%q is not a valid host name", c.ServerName)
	}
	if p.ok("public_hostname") && c.PublicHostname != "" && !validHostname(c.PublicHostname) {
		p.add("public_hostname", "%q is not a valid host name", c.PublicHostname)
	}
	if p.ok("public_ports") {
		if _, err := c.PublicPortMap(); err != nil {
			p.add("public_ports", "%v", err)
		}
	}
	if p.ok("loginname_format") {
		checkLoginnameFormat(p, c.LoginnameFormat)
	}
	if p.ok("user_plugin") {
		switch c.UserPlugin {
		case "db":
		case "ldap":
			c.checkLDAP(p)
		case "unix":
			c.checkUnix(p)
		default:
			p.add("user_plugin", "%q is not a user plugin; want \"db\", \"ldap\" or \"unix\"", c.UserPlugin)
		}
	}
	if p.ok("default_store_locale") {
		checkEnum(p, "default_store_locale", c.DefaultStoreLocale, allLocales)
	}

	checkMin(p, "softdelete_lifetime", c.SoftdeleteLifetime, 0)
	if checkMin(p, "activesync_min_pin_length", c.ActiveSyncMinPINLength, 1) && c.ActiveSyncMinPINLength > 16 {
		p.add("activesync_min_pin_length", "%d is longer than devices accept; at most 16", c.ActiveSyncMinPINLength)
	}
	if checkMin(p, "activesync_max_failed_pins", c.ActiveSyncMaxFailedPINs, 0) && c.ActiveSyncMaxFailedPINs != 0 &&
		(c.ActiveSyncMaxFailedPINs < 4 || c.ActiveSyncMaxFailedPINs > 16) {
		p.add("activesync_max_failed_pins", "%d is out of range; 0 (off) or 4 to 16", c.ActiveSyncMaxFailedPINs)
	}
	checkMin(p, "activesync_max_inactivity_lock", c.ActiveSyncMaxInactivity, 0)
	checkMin(p, "quota_warn", c.QuotaWarn, 0)
	checkMin(p, "quota_soft", c.QuotaSoft, 0)
	checkMin(p, "quota_hard", c.QuotaHard, 0)
	checkMin(p, "companyquota_warn", c.CompanyQuotaWarn, 0)
	checkMin(p, "quota_messages", c.QuotaMessages, 0)
	c.checkQuotaOrder(p)

	if p.ok("log_level") {
		if _, ok := parseLogLevel(c.LogLevel); !ok {
			p.add("log_level", "%q is not a log level; want one of %s, or a Kopano level 0-6", c.LogLevel, quoteList(logLevels))
		}
	}
	if p.ok("log_file") {
		checkLogFile(p, c.LogFile)
	}
	if p.ok("log_levels") {
		for _, e := range c.LogLevels {
			sub, lv, ok := strings.Cut(e, "=")
			sub = strings.TrimSpace(sub)
			if _, valid := parseLogLevel(strings.TrimSpace(lv)); !ok || sub == "" || !valid {
				p.add("log_levels", "%q is not 'subsystem=level' with a level of %s or 0-6", e, quoteList(logLevels))
			} else if !slices.Contains(LogSubsystems, sub) {
				// A misspelt subsystem would otherwise change nothing, silently.
				p.add("log_levels", "%q: %q is not a subsystem; want one of %s", e, sub, quoteList(LogSubsystems))
			}
		}
	}
	if p.ok("audit_log_file") && c.AuditLogFile != "" && c.AuditLogFile != "syslog" && checkPathChars(p, "audit_log_file", c.AuditLogFile) {
		if fi, err := os.Stat(c.AuditLogFile); err == nil && fi.IsDir() {
			p.add("audit_log_file", "%q is a directory", c.AuditLogFile)
		}
	}
	if p.ok("log_format") {
		checkEnum(p, "log_format", c.LogFormat, logFormats)
	}

	checkMin(p, "spam_checker_timeout", c.SpamCheckerTimeout, 1)
	if p.ok("spam_learn_rspamd_password") && c.SpamLearnRspamdPassword != "" && c.SpamLearnRspamdURL == "" {
		p.add("spam_learn_rspamd_password", "is set without spam_learn_rspamd_url")
	}
	checkMin(p, "spam_learn_queue", c.SpamLearnQueue, 1)
	checkMin(p, "spam_learn_timeout", c.SpamLearnTimeout, 1)
	for _, k := range []struct{ key, v string }{{"spam_rspamd_url", c.SpamRspamdURL}, {"spam_learn_rspamd_url", c.SpamLearnRspamdURL}} {
		if p.ok(k.key) && k.v != "" {
			if u, err := url.Parse(k.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.add(k.key, "%q is not an http:// or https:// URL", k.v)
			}
		}
	}
	checkMin(p, "autorespond_timelimit", c.AutorespondTimelimit, 0)
	checkMin(p, "sieve_max_script_size", c.SieveMaxScriptSize, 1)
	checkMin(p, "sieve_max_scripts", c.SieveMaxScripts, 1)
	checkMin(p, "sieve_max_redirects", c.SieveMaxRedirects, 0)
	checkMin(p, "search_workers", c.SearchWorkers, 1)
	checkMin(p, "search_max_attachment_size", c.SearchMaxAttachmentSize, 1)
	checkMin(p, "search_max_text", c.SearchMaxText, 1)
	checkMin(p, "search_document_timeout", c.SearchDocumentTimeout, 1)
	checkMin(p, "delivery_hook_timeout", c.DeliveryHookTimeout, 1)
	checkMin(p, "quota_monitor_interval", c.QuotaMonitorInterval, 0)
	checkMin(p, "archive_interval", c.ArchiveInterval, 0)
	checkMin(p, "archive_after", c.ArchiveAfter, 0)
	checkMin(p, "archive_min_size", c.ArchiveMinSize, 0)
	checkMin(p, "archive_stub_after", c.ArchiveStubAfter, 0)
	checkMin(p, "archive_remove_after", c.ArchiveRemoveAfter, 0)
	for _, f := range c.ArchiveExcludeFolders {
		if slices.Contains(strings.Split(strings.Trim(f, "/"), "/"), "") {
			p.add("archive_exclude_folders", "%q has an empty level", f)
		}
	}
	if c.ArchiveStubAfter > 0 && c.ArchiveStubAfter < c.ArchiveAfter {
		p.add("archive_stub_after", "must be at least 'archive_after' (%d), or 0", c.ArchiveAfter)
	}
	if c.ArchiveRemoveAfter > 0 && c.ArchiveRemoveAfter < c.ArchiveAfter {
		p.add("archive_remove_after", "must be at least 'archive_after' (%d), or 0", c.ArchiveAfter)
	}
	checkMin(p, "dav_max_resource_size", c.DAVMaxResourceSize, 1)
	checkMin(p, "queue_workers", c.QueueWorkers, 1)
	checkMin(p, "queue_retry_base", c.QueueRetryBase, 1)
	checkMin(p, "queue_retry_max", c.QueueRetryMax, 1)
	checkMin(p, "queue_lifetime", c.QueueLifetime, 1)
	checkMin(p, "queue_delay_warning", c.QueueDelayWarning, 1)
	checkMin(p, "queue_claim_lease", c.QueueClaimLease, 10)
	checkMin(p, "submission_max_recipients", c.SubmissionMaxRcpts, 1)
	if p.ok("smtp_server") && c.SMTPServer != "" {
		if _, _, err := net.SplitHostPort(c.RelayAddr()); err != nil || strings.ContainsAny(c.SMTPServer, " /") {
			p.add("smtp_server", "%q is not 'host' or 'host:port'", c.SMTPServer)
		}
	}
	if p.ok("smtp_tls") {
		checkEnum(p, "smtp_tls", c.SMTPTLS, []string{"starttls", "tls", "none"})
	}
	if p.ok("smtp_username") && c.SMTPUsername != "" && c.SMTPServer == "" {
		p.add("smtp_username", "is set but smtp_server is empty: direct MX delivery does not authenticate")
	}
	if p.ok("smtp_password") && c.SMTPPassword != "" && c.SMTPUsername == "" {
		p.add("smtp_password", "is set without smtp_username")
	}
	if p.ok("queue_retry_max") && p.ok("queue_retry_base") && c.QueueRetryMax < c.QueueRetryBase {
		p.add("queue_retry_max", "%d minutes is below queue_retry_base (%d)", c.QueueRetryMax, c.QueueRetryBase)
	}
	checkMin(p, "dav_max_results", c.DAVMaxResults, 100)
	checkMin(p, "dav_max_instances", c.DAVMaxInstances, 10)
	checkMin(p, "dav_auth_cache_ttl", c.DAVAuthCacheTTL, 0)
	checkMin(p, "auth_cache_size", c.AuthCacheSize, 0)
	checkMin(p, "auth_cache_ttl", c.AuthCacheTTL, 0)
	if checkMin(p, "password_argon2_threads", c.PasswordArgon2Threads, 1) && c.PasswordArgon2Threads > 255 {
		p.add("password_argon2_threads", "%d is more than the maximum of 255", c.PasswordArgon2Threads)
	}
	if checkMin(p, "password_argon2_time", c.PasswordArgon2Time, 1) && c.PasswordArgon2Time > 16 {
		p.add("password_argon2_time", "%d is more than the maximum of 16", c.PasswordArgon2Time)
	}
	if p.ok("password_argon2_threads") && checkMin(p, "password_argon2_memory", c.PasswordArgon2Memory, 8*c.PasswordArgon2Threads) &&
		c.PasswordArgon2Memory > 1<<22 {
		p.add("password_argon2_memory", "%d KiB is more than the maximum of %d (4 GiB)", c.PasswordArgon2Memory, 1<<22)
	}
	checkMin(p, "dav_schedule_inbox_days", c.DAVInboxDays, 0)
	if checkMin(p, "jmap_send_delay", c.JMAPSendDelay, 0) && c.JMAPSendDelay > 600 {
		p.add("jmap_send_delay", "%d seconds is more than the maximum of 600", c.JMAPSendDelay)
	}
	if p.ok("jmap_push_allowed_networks") {
		for _, n := range c.JMAPPushAllowedNetworks {
			if _, err := netip.ParsePrefix(n); err != nil {
				p.add("jmap_push_allowed_networks", "%q is not a network in CIDR notation", n)
			}
		}
	}
	if p.ok("proxy_protocol_trusted") {
		for _, n := range c.ProxyProtocolTrusted {
			if _, err := ParseNetwork(n); err != nil {
				p.add("proxy_protocol_trusted", "%q is neither an IP address nor a network in CIDR notation", n)
			}
		}
	}
	if p.ok("spam_headers") {
		for _, h := range c.SpamHeaders {
			if name, val, ok := strings.Cut(h, ":"); !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(val) == "" {
				p.add("spam_headers", "%q is not 'Field: value'", h)
			}
		}
	}
	if p.ok("public_delivery") {
		for _, e := range c.PublicDelivery {
			if who, folder, ok := strings.Cut(e, "="); !ok || strings.TrimSpace(who) == "" || strings.Trim(folder, " /") == "" {
				p.add("public_delivery", "%q is not 'address=Folder/Path'", e)
			}
		}
	}
	for key, cmd := range map[string]string{"spam_checker": c.SpamChecker, "delivery_hook_command": c.DeliveryHookCommand,
		"spam_learn_spam_command": c.SpamLearnSpamCommand, "spam_learn_ham_command": c.SpamLearnHamCommand} {
		if f := strings.Fields(cmd); p.ok(key) && len(f) > 0 && !filepath.IsAbs(f[0]) {
			p.add(key, "%q: give the program's absolute path", f[0])
		}
	}
	if p.ok("delivery_hook_url") && c.DeliveryHookURL != "" {
		if u, err := url.Parse(c.DeliveryHookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add("delivery_hook_url", "%q is not an http:// or https:// URL", c.DeliveryHookURL)
		}
	}
	if p.ok("quota_warning_from") && c.QuotaWarningFrom != "" {
		if _, err := mail.ParseAddress(c.QuotaWarningFrom); err != nil {
			p.add("quota_warning_from", "%q is not a mail address: %v", c.QuotaWarningFrom, err)
		}
	}
	if p.ok("sieve_max_script_size") && c.SieveMaxScriptSize > 1024 {
		p.add("sieve_max_script_size", "%d KB is more than the store keeps in one property (1024 KB)", c.SieveMaxScriptSize)
	}
	checkMin(p, "max_connections_per_ip", c.MaxConnectionsPerIP, 0)
	checkMin(p, "max_connections_per_user", c.MaxConnectionsPerUser, 0)
	// RFC 5321 §4.5.3.1.6: an SMTP text line may be 1000 octets; the upper
	// bound keeps one connection from buffering unbounded memory.
	if checkMin(p, "max_line_length", c.MaxLineLength, 1000) && c.MaxLineLength > 16<<20 {
		p.add("max_line_length", "%d is more than the maximum of %d bytes", c.MaxLineLength, 16<<20)
	}
	if checkMin(p, "max_message_size", c.MaxMessageSize, 1) && c.MaxMessageSize > 1<<20 {
		p.add("max_message_size", "%d is more than the maximum of %d MB", c.MaxMessageSize, 1<<20)
	}

	if p.ok("disabled_features") {
		checkList(p, "disabled_features", c.DisabledFeatures, allFeatures)
	}
}

// checkMin reports whether key is usable and at least lo, adding a problem
// when it is below.
func checkMin(p *problems, key string, v, lo int) bool {
	if !p.ok(key) {
		return false
	}
	if v < lo {
		p.add(key, "%d is less than the minimum of %d", v, lo)
		return false
	}
	return true
}

func checkEnum(p *problems, key, v string, allowed []string) {
	if !slices.Contains(allowed, v) {
		p.add(key, "%q is not allowed; want one of %s", v, quoteList(allowed))
	}
}

func checkList(p *problems, key string, vs, allowed []string) {
	for _, v := range vs {
		if !slices.Contains(allowed, v) {
			p.add(key, "%q is not allowed; want any of %s", v, quoteList(allowed))
		}
	}
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// checkPathChars rejects control characters, which are never intended in a
// path and would garble logs.
func checkPathChars(p *problems, key, path string) bool {
	if strings.ContainsFunc(path, unicode.IsControl) {
		p.add(key, "path %q contains control characters", path)
		return false
	}
	return true
}

func checkDatabase(p *problems, db string) {
	const want = `want "" (SQLite in data_dir), "sqlite:///path/file.db" or "postgres://user:password@host/dbname"`
	switch {
	case db == "":
	case strings.HasPrefix(db, "sqlite://"):
		path, _, _ := strings.Cut(strings.TrimPrefix(db, "sqlite://"), "?")
		if path == "" {
			p.add("database", "%q names no file; %s", db, want)
		} else {
			checkPathChars(p, "database", path)
		}
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		if _, err := url.Parse(db); err != nil {
			// The URL may hold a password: report the reason, not the URL.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			p.add("database", "invalid PostgreSQL URL: %v", err)
		}
	default:
		scheme, _, ok := strings.Cut(db, "://")
		if !ok {
			p.add("database", "not a URL; %s", want)
		} else {
			p.add("database", "unsupported scheme %q; %s", scheme, want)
		}
	}
}

func (c *Config) checkListeners(p *problems) {
	used := map[string]string{} // normalised address → key
	for _, f := range fields() {
		if !strings.HasSuffix(f.Key, "_listen") || !p.ok(f.Key) {
			continue
		}
		addr := listenAddr(fieldByKey(c, f.Key).String())
		if addr == "" {
			continue
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			p.add(f.Key, `invalid address %q: want host:port such as "127.0.0.1:143" or ":143", or "off"`, addr)
			continue
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			p.add(f.Key, "invalid port %q in %q: want a number from 0 to 65535", port, addr)
			continue
		}
		if strings.ContainsFunc(host, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			p.add(f.Key, "invalid host %q in %q", host, addr)
			continue
		}
		if n == 0 {
			continue // a port chosen by the system never collides
		}
		norm := net.JoinHostPort(strings.ToLower(host), strconv.FormatUint(n, 10))
		if other, dup := used[norm]; dup {
			p.add(f.Key, "address %q is already used by %s", addr, other)
			continue
		}
		used[norm] = f.Key
	}
}

func (c *Config) checkSockets(p *problems) {
	if !p.ok("data_dir") {
		return
	}
	check := func(key, set, path, role string) bool {
		if !p.ok(key) || !checkPathChars(p, key, set) {
			return false
		}
		if c.HasRole(role) && len(path) > maxUnixSocketPath {
			if set == "" {
				p.add(key, "the default path %q is %d bytes, longer than the %d a unix socket path may have; set %s to a shorter path", path, len(path), maxUnixSocketPath, key)
			} else {
				p.add(key, "path is %d bytes, longer than the %d a unix socket path may have", len(path), maxUnixSocketPath)
			}
			return false
		}
		return true
	}
	lmtpOK := check("lmtp_socket", c.LMTPSocketPath, c.LMTPSocket(), "lmtp")
	adminOK := check("admin_socket", c.AdminSocketPath, c.AdminSocket(), "admin")
	if lmtpOK && adminOK && c.LMTPSocket() == c.AdminSocket() {
		p.add("admin_socket", "same path as lmtp_socket")
	}
}

func (c *Config) checkTLS(p *problems) {
	const cert, key = "ssl_certificate_file", "ssl_private_key_file"
	if p.ok(cert, key) {
		switch {
		case c.SSLCertificateFile != "" && c.SSLPrivateKeyFile == "":
			p.add(key, "must be set when ssl_certificate_file is set")
		case c.SSLCertificateFile == "" && c.SSLPrivateKeyFile != "":
			p.add(cert, "must be set when ssl_private_key_file is set")
		case c.SSLCertificateFile != "":
			certOK := checkFile(p, cert, c.SSLCertificateFile)
			keyOK := checkFile(p, key, c.SSLPrivateKeyFile)
			if certOK && keyOK {
				if _, err := tls.LoadX509KeyPair(c.SSLCertificateFile, c.SSLPrivateKeyFile); err != nil {
					k := key
					if strings.Contains(err.Error(), "certificate input") {
						k = cert
					}
					p.add(k, "%v", err)
				}
			}
		}
	}
	const ccert, ckey = "ssl_client_certificate_file", "ssl_client_key_file"
	if p.ok(ccert, ckey) {
		switch {
		case c.SSLClientCertificateFile != "" && c.SSLClientKeyFile == "":
			p.add(ckey, "must be set when ssl_client_certificate_file is set")
		case c.SSLClientCertificateFile == "" && c.SSLClientKeyFile != "":
			p.add(ccert, "must be set when ssl_client_key_file is set")
		case c.SSLClientCertificateFile != "" && c.SSLCAFile == "":
			p.add(ccert, "needs ssl_ca_file (to check the backends' certificates)")
		case c.SSLClientCertificateFile != "":
			if checkFile(p, ccert, c.SSLClientCertificateFile) && checkFile(p, ckey, c.SSLClientKeyFile) {
				if _, err := tls.LoadX509KeyPair(c.SSLClientCertificateFile, c.SSLClientKeyFile); err != nil {
					p.add(ccert, "%v", err)
				}
			}
		}
	}
	if p.ok("lmtp_require_client_certificate") && c.LMTPRequireClientCert && c.SSLCAFile == "" {
		p.add("lmtp_require_client_certificate", "needs ssl_ca_file")
	}
	if p.ok("ssl_ca_file") && c.SSLCAFile != "" && checkFile(p, "ssl_ca_file", c.SSLCAFile) {
		data, err := os.ReadFile(c.SSLCAFile)
		switch {
		case err != nil:
			p.add("ssl_ca_file", "%v", err)
		case !x509.NewCertPool().AppendCertsFromPEM(data):
			p.add("ssl_ca_file", "%q holds no PEM certificate", c.SSLCAFile)
		}
	}
}

// checkFile reports whether path is a regular file of a sane size, adding a
// problem when it is not.
func checkFile(p *problems, key, path string) bool {
	if !checkPathChars(p, key, path) {
		return false
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.add(key, "file %q does not exist", path)
	case err != nil:
		p.add(key, "%v", err)
	case !fi.Mode().IsRegular():
		p.add(key, "%q is not a regular file", path)
	case fi.Size() > maxPEMFile:
		p.add(key, "%q is %d bytes, too large for a PEM file", path, fi.Size())
	default:
		return true
	}
	return false
}

func checkLogFile(p *problems, f string) {
	switch {
	case f == "":
		p.add("log_file", `must not be empty; use "-" for standard error`)
	case f == "-", f == "syslog":
	case checkPathChars(p, "log_file", f):
		if fi, err := os.Stat(f); err == nil && fi.IsDir() {
			p.add("log_file", "%q is a directory", f)
		}
	}
}

// checkLoginnameFormat allows the Kopano placeholders %u (user) and %c
// (company, i.e. tenant), and %% for a literal percent sign.
func checkLoginnameFormat(p *problems, f string) {
	hasUser := false
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		if i+1 == len(f) {
			p.add("loginname_format", "%q ends in a lone %%; write %%%% for a percent sign", f)
			return
		}
		i++
		switch f[i] {
		case 'u':
			hasUser = true
		case 'c', '%':
		default:
			p.add("loginname_format", "%q has unknown placeholder %%%c; want %%u (user), %%c (tenant) or %%%%", f, f[i])
			return
		}
	}
	if !hasUser {
		p.add("loginname_format", "%q must contain %%u, the user name", f)
	}
}

func (c *Config) checkQuotaOrder(p *problems) {
	type quota struct {
		key string
		mb  int
	}
	qs := []quota{{"quota_warn", c.QuotaWarn}, {"quota_soft", c.QuotaSoft}, {"quota_hard", c.QuotaHard}}
	for i, lo := range qs {
		for _, hi := range qs[i+1:] {
			if !p.ok(lo.key, hi.key) || lo.mb <= 0 || hi.mb <= 0 {
				continue
			}
			if lo.mb > hi.mb {
				p.add(lo.key, "%d MB is above %s (%d MB); want quota_warn <= quota_soft <= quota_hard (0 is no limit)", lo.mb, hi.key, hi.mb)
			}
		}
	}
}

// validHostname accepts DNS names: dot-separated labels of letters, digits,
// hyphens and underscores, none starting or ending with a hyphen.
func validHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
				return false
			}
		}
	}
	return true
}

// checkUnix checks the unix_ keys, which matter only with user_plugin = unix.
func (c *Config) checkUnix(p *problems) {
	for _, f := range []struct{ key, v string }{
		{"unix_passwd_file", c.UnixPasswdFile}, {"unix_shadow_file", c.UnixShadowFile}, {"unix_group_file", c.UnixGroupFile},
	} {
		if p.ok(f.key) && !filepath.IsAbs(f.v) {
			p.add(f.key, "%q is not an absolute path", f.v)
		}
	}
	checkMin(p, "unix_min_user_uid", c.UnixMinUserUID, 0)
	checkMin(p, "unix_min_group_gid", c.UnixMinGroupGID, 0)
	if p.ok("unix_max_user_uid") && c.UnixMaxUserUID < c.UnixMinUserUID {
		p.add("unix_max_user_uid", "%d is below unix_min_user_uid %d", c.UnixMaxUserUID, c.UnixMinUserUID)
	}
	if p.ok("unix_max_group_gid") && c.UnixMaxGroupGID < c.UnixMinGroupGID {
		p.add("unix_max_group_gid", "%d is below unix_min_group_gid %d", c.UnixMaxGroupGID, c.UnixMinGroupGID)
	}
	for _, f := range []struct {
		key string
		ids []int
	}{{"unix_except_user_uids", c.UnixExceptUserUIDs}, {"unix_except_group_gids", c.UnixExceptGroupGIDs}} {
		if !p.ok(f.key) {
			continue
		}
		if len(f.ids) > maxExceptIDs {
			p.add(f.key, "%d ids: at most %d", len(f.ids), maxExceptIDs)
		}
		for _, id := range f.ids {
			if id < 0 {
				p.add(f.key, "%d is not a uid or gid (below 0)", id)
				break
			}
		}
	}
	if p.ok("unix_non_login_shell") {
		for _, sh := range c.UnixNonLoginShells {
			if !filepath.IsAbs(sh) {
				p.add("unix_non_login_shell", "%q is not an absolute path", sh)
			}
		}
	}
	if p.ok("unix_default_domain") && (c.UnixDefaultDomain == "" || strings.ContainsAny(c.UnixDefaultDomain, "@ /") || !strings.Contains(c.UnixDefaultDomain, ".")) {
		p.add("unix_default_domain", "%q: a mail domain such as \"example.com\" is required with user_plugin = \"unix\"", c.UnixDefaultDomain)
	}
	if p.ok("unix_tenant") && c.UnixTenant == "" {
		p.add("unix_tenant", "must not be empty with user_plugin = \"unix\"")
	}
}

// checkLDAP checks the ldap_ keys, which matter only with user_plugin = ldap.
func (c *Config) checkLDAP(p *problems) {
	if p.ok("ldap_preset") {
		checkEnum(p, "ldap_preset", c.LDAPPreset, []string{"openldap", "ad"})
	}
	if p.ok("ldap_uri") {
		uris := strings.Fields(c.LDAPURI)
		if len(uris) == 0 {
			p.add("ldap_uri", "must list at least one server with user_plugin = \"ldap\", e.g. \"ldaps://ldap.example.com\"")
		}
		for _, s := range uris {
			u, err := url.Parse(s)
			switch {
			case err != nil:
				p.add("ldap_uri", "%q: %v", s, err)
			case u.Scheme != "ldap" && u.Scheme != "ldaps":
				p.add("ldap_uri", "%q: scheme must be ldap:// or ldaps://", s)
			case u.Host == "":
				p.add("ldap_uri", "%q: no host", s)
			case u.Scheme == "ldaps" && c.LDAPStartTLS:
				p.add("ldap_uri", "%q: ldaps:// is already TLS; ldap_starttls applies to ldap:// only", s)
			}
		}
	}
	if p.ok("ldap_search_base") && strings.TrimSpace(c.LDAPSearchBase) == "" {
		p.add("ldap_search_base", "must not be empty with user_plugin = \"ldap\"")
	}
	if p.ok("ldap_bind_passwd") && c.LDAPBindUser != "" && c.LDAPBindPasswd == "" {
		p.add("ldap_bind_passwd", "must be set with ldap_bind_user (an empty password would be an unauthenticated bind)")
	}
	for _, k := range []struct{ key, v string }{
		{"ldap_user_search_filter", c.LDAPUserSearchFilter}, {"ldap_group_search_filter", c.LDAPGroupSearchFilter},
		{"ldap_dynamicgroup_search_filter", c.LDAPDynGroupFilter}, {"ldap_company_search_filter", c.LDAPCompanyFilter},
		{"ldap_addresslist_search_filter", c.LDAPAddrListFilter}, {"ldap_contact_search_filter", c.LDAPContactFilter},
	} {
		if p.ok(k.key) && k.v != "" {
			f := strings.TrimSpace(k.v)
			if !strings.HasPrefix(f, "(") || !strings.HasSuffix(f, ")") || strings.Count(f, "(") != strings.Count(f, ")") {
				p.add(k.key, "%q is not an LDAP filter in parentheses", k.v)
			}
		}
	}
	if p.ok("ldap_groupmembers_attribute_type") && c.LDAPGroupMembersType != "" {
		checkEnum(p, "ldap_groupmembers_attribute_type", c.LDAPGroupMembersType, []string{"dn", "text"})
	}
	for _, k := range []struct{ key, v string }{
		{"ldap_company_view_attribute_type", c.LDAPCompanyViewType}, {"ldap_company_admin_attribute_type", c.LDAPCompanyAdminType},
	} {
		if p.ok(k.key) && k.v != "" {
			checkEnum(p, k.key, k.v, []string{"dn", "text"})
		}
	}
	if p.ok("ldap_company_scope") && c.LDAPCompanyScope != "" {
		checkEnum(p, "ldap_company_scope", c.LDAPCompanyScope, []string{"sub", "one"})
	}
	if p.ok("ldap_group_security_attribute_type") && c.LDAPGroupSecurityType != "" {
		checkEnum(p, "ldap_group_security_attribute_type", c.LDAPGroupSecurityType, []string{"boolean", "ads"})
	}
	if p.ok("ldap_sendas_attribute_type") {
		checkEnum(p, "ldap_sendas_attribute_type", c.LDAPSendasType, []string{"dn", "text"})
	}
	if p.ok("ldap_page_size") {
		checkMin(p, "ldap_page_size", c.LDAPPageSize, 1)
	}
	checkMin(p, "ldap_sync_interval", c.LDAPSyncInterval, 0)
	checkMin(p, "ldap_quota_multiplier", c.LDAPQuotaMultiplier, 1)
	if p.ok("ldap_bind_user") && c.LDAPBindUser != "" && !strings.Contains(c.LDAPBindUser, "=") {
		p.add("ldap_bind_user", "%q is not a DN, e.g. \"cn=roost,dc=example,dc=com\"", c.LDAPBindUser)
	}
	for _, a := range []struct{ key, v string }{
		{"ldap_user_unique_attribute", c.LDAPUserUniqueAttribute}, {"ldap_loginname_attribute", c.LDAPLoginnameAttribute},
		{"ldap_emailaddress_attribute", c.LDAPEmailAttribute}, {"ldap_emailaliases_attribute", c.LDAPEmailAliasesAttr},
		{"ldap_fullname_attribute", c.LDAPFullnameAttribute}, {"ldap_nonactive_attribute", c.LDAPNonactiveAttribute},
		{"ldap_isadmin_attribute", c.LDAPIsadminAttribute}, {"ldap_groupname_attribute", c.LDAPGroupnameAttribute},
		{"ldap_group_unique_attribute", c.LDAPGroupUniqueAttr},
		{"ldap_group_emailaddress_attribute", c.LDAPGroupEmailAttribute}, {"ldap_groupmembers_attribute", c.LDAPGroupMembersAttr},
		{"ldap_groupmembers_relation_attribute", c.LDAPGroupMembersRelAttr}, {"ldap_group_security_attribute", c.LDAPGroupSecurityAttr},
		{"ldap_group_hidden_attribute", c.LDAPGroupHiddenAttr}, {"ldap_sendas_attribute", c.LDAPSendasAttribute},
		{"ldap_sendas_relation_attribute", c.LDAPSendasRelAttr}, {"ldap_quotaoverride_attribute", c.LDAPQuotaOverrideAttr},
		{"ldap_warnquota_attribute", c.LDAPWarnQuotaAttr}, {"ldap_softquota_attribute", c.LDAPSoftQuotaAttr},
		{"ldap_hardquota_attribute", c.LDAPHardQuotaAttr}, {"ldap_enabled_features_attribute", c.LDAPEnabledFeaturesAttr},
		{"ldap_disabled_features_attribute", c.LDAPDisabledFeatAttr}, {"ldap_user_server_attribute", c.LDAPUserServerAttr},
		{"ldap_companyname_attribute", c.LDAPCompanyNameAttr}, {"ldap_addresslist_name_attribute", c.LDAPAddrListNameAttr},
		{"ldap_addresslist_filter_attribute", c.LDAPAddrListFilterAttr}, {"ldap_dynamicgroup_name_attribute", c.LDAPDynGroupNameAttr}, {"ldap_dynamicgroup_filter_attribute", c.LDAPDynGroupFilterAttr},
		{"ldap_dynamicgroup_unique_attribute", c.LDAPDynGroupUniqueAttr}, {"ldap_dynamicgroup_search_base_attribute", c.LDAPDynGroupBaseAttr}, {"ldap_addresslist_search_base_attribute", c.LDAPAddrListBaseAttr},
		{"ldap_company_unique_attribute", c.LDAPCompanyUniqueAttr}, {"ldap_company_view_attribute", c.LDAPCompanyViewAttr},
		{"ldap_company_view_relation_attribute", c.LDAPCompanyViewRelAttr}, {"ldap_company_admin_attribute", c.LDAPCompanyAdminAttr},
		{"ldap_company_admin_relation_attribute", c.LDAPCompanyAdminRelAttr},
		{"ldap_userdefault_quotaoverride_attribute", c.LDAPUDefQuotaOverAttr}, {"ldap_userdefault_warnquota_attribute", c.LDAPUDefWarnQuotaAttr},
		{"ldap_userdefault_softquota_attribute", c.LDAPUDefSoftQuotaAttr}, {"ldap_userdefault_hardquota_attribute", c.LDAPUDefHardQuotaAttr},
	} {
		if p.ok(a.key) && a.v != "" && !validLDAPAttr(a.v) {
			p.add(a.key, "%q is not an LDAP attribute name", a.v)
		}
	}
	if p.ok("ldap_nonactive_value") && c.LDAPNonactiveValue != "" && c.LDAPNonactiveAttribute == "" {
		p.add("ldap_nonactive_value", "needs ldap_nonactive_attribute")
	}
	checkMin(p, "ldap_network_timeout", c.LDAPNetworkTimeout, 1)
	checkMin(p, "ldap_auth_cache_ttl", c.LDAPAuthCacheTTL, 0)
	checkMin(p, "ldap_nonactive_bitmask", c.LDAPNonactiveBitmask, 0)
	if p.ok("ldap_tenant") && c.LDAPTenant == "" {
		p.add("ldap_tenant", "must not be empty with user_plugin = \"ldap\"")
	}
	if p.ok("ldap_tls_cacert") && c.LDAPTLSCACert != "" && checkFile(p, "ldap_tls_cacert", c.LDAPTLSCACert) {
		data, err := os.ReadFile(c.LDAPTLSCACert)
		if err != nil {
			p.add("ldap_tls_cacert", "%v", err)
		} else if !x509.NewCertPool().AppendCertsFromPEM(data) {
			p.add("ldap_tls_cacert", "%s holds no PEM certificate", c.LDAPTLSCACert)
		}
	}
}

// validLDAPAttr accepts an attribute description's type: a name (a letter,
// then letters, digits, hyphens) or a numeric OID (RFC 4512 §1.4).
func validLDAPAttr(a string) bool {
	if a == "" {
		return false
	}
	if a[0] >= '0' && a[0] <= '9' {
		for _, r := range a {
			if (r < '0' || r > '9') && r != '.' {
				return false
			}
		}
		return true
	}
	for i, r := range a {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-'):
		default:
			return false
		}
	}
	return true
}

// checkCluster checks the node and blob store keys (docs/cluster.md).
func (c *Config) checkCluster(p *problems) {
	if p.ok("node_name") && c.NodeName != "" && (len(c.NodeName) > 64 || strings.ContainsAny(c.NodeName, " \t\r\n,")) {
		p.add("node_name", "%q: at most 64 characters, without spaces or commas", c.NodeName)
	}
	if p.ok("node_heartbeat") && (c.NodeHeartbeat < 1 || c.NodeHeartbeat > 300) {
		p.add("node_heartbeat", "must be from 1 to 300 seconds")
	}
	if p.ok("drain_grace") && (c.DrainGrace < 0 || c.DrainGrace > 86400) {
		p.add("drain_grace", "must be from 0 to 86400 seconds")
	}
	switch c.BlobStore {
	case "file":
	case "s3":
		if c.S3Endpoint == "" {
			p.add("s3_endpoint", `is required with blob_store = "s3"`)
		} else if strings.Contains(c.S3Endpoint, "/") {
			p.add("s3_endpoint", "%q: want host or host:port, without a scheme or path", c.S3Endpoint)
		}
		if c.S3Bucket == "" {
			p.add("s3_bucket", `is required with blob_store = "s3"`)
		}
		if c.S3AccessKey == "" {
			p.add("s3_access_key", `is required with blob_store = "s3"`)
		}
		if c.S3SecretKey == "" && c.S3SecretKeyFile == "" {
			p.add("s3_secret_key", `is required with blob_store = "s3" (or s3_secret_key_file)`)
		}
	default:
		p.add("blob_store", `%q: want "file" or "s3"`, c.BlobStore)
	}
	if p.ok("s3_bucket") && c.S3Bucket != "" && !validBucket(c.S3Bucket) {
		p.add("s3_bucket", "%q is not a bucket name (3 to 63 lowercase letters, digits, dots and hyphens)", c.S3Bucket)
	}
	if p.ok("s3_prefix") && strings.HasPrefix(c.S3Prefix, "/") {
		p.add("s3_prefix", "%q: a key prefix does not start with '/'", c.S3Prefix)
	}
	if p.ok("s3_region") && strings.Trim(c.S3Region, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		p.add("s3_region", "%q is not a region name such as 'eu-central-1'", c.S3Region)
	}
	if p.ok("s3_secret_key") && strings.ContainsAny(c.S3SecretKey, "\r\n") {
		p.add("s3_secret_key", "contains a line break")
	}
	if p.ok("s3_ca_file") && c.S3CAFile != "" && checkFile(p, "s3_ca_file", c.S3CAFile) {
		if b, err := os.ReadFile(c.S3CAFile); err != nil {
			p.add("s3_ca_file", "%v", err)
		} else if !x509.NewCertPool().AppendCertsFromPEM(b) {
			p.add("s3_ca_file", "%q holds no PEM certificate", c.S3CAFile)
		}
	}
	if p.ok("s3_secret_key_file") && c.S3SecretKeyFile != "" && !filepath.IsAbs(c.S3SecretKeyFile) {
		p.add("s3_secret_key_file", "%q must be an absolute path", c.S3SecretKeyFile)
	}
	if p.ok("node_roles") {
		checkList(p, "node_roles", c.NodeRoles, []string{"frontend", "backend"})
	}
	if p.ok("shard_secret_file") && len(c.NodeRoles) > 0 {
		mtls := c.SSLCAFile != "" && (!c.IsFrontend() || c.SSLClientCertificateFile != "")
		switch {
		case c.ShardSecretFile == "" && !mtls:
			p.add("shard_secret_file", "required with node_roles (or mutual TLS: ssl_ca_file, and on a frontend ssl_client_certificate_file)")
		case c.ShardSecretFile == "":
		case !filepath.IsAbs(c.ShardSecretFile):
			p.add("shard_secret_file", "%q: must be an absolute path", c.ShardSecretFile)
		}
	}
	if p.ok("node_roles") && len(c.NodeRoles) > 0 && c.BlobStore != "s3" {
		// The nodes share one database, whose blob table deduplicates
		// content across all stores: the content must be where every
		// backend finds it.
		p.add("node_roles", "the sharded mode needs blob_store = \"s3\" (one object store for all nodes)")
	}
	if p.ok("http_routing") {
		checkEnum(p, "http_routing", c.HTTPRouting, []string{"proxy", "redirect"})
	}
	for _, k := range []struct{ key, v string }{{"public_url", c.PublicURL}, {"proxy_url", c.ProxyURL}} {
		if !p.ok(k.key) || k.v == "" {
			continue
		}
		u, err := url.Parse(k.v)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil:
			p.add(k.key, "%q is not an http or https URL", k.v)
		case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
			p.add(k.key, "%q: a URL without query or fragment", k.v)
		case k.key == "public_url" && strings.Trim(u.Path, "/") != "":
			p.add(k.key, "%q: the node's own URL has no path", k.v)
		}
	}
	if p.ok("proxy_header") && c.ProxyHeader != "" && c.ProxyHeader != "*" && !validHeaderName(c.ProxyHeader) {
		p.add("proxy_header", "%q is not a header name (or '*')", c.ProxyHeader)
	}
	if p.ok("node_address") && strings.ContainsAny(c.NodeAddress, " \t\r\n,") {
		p.add("node_address", "%q: an address has no spaces or commas", c.NodeAddress)
	}
}

// validHeaderName reports whether h is an HTTP field name (RFC 9110
// §5.1: a token) of at most 100 characters.
func validHeaderName(h string) bool {
	if h == "" || len(h) > 100 {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// NodePublicURL returns public_url, or the URL of the HTTPS (else the
// HTTP) listener: its host, or server_name when it listens on every
// address; "" when neither listener is on.
func (c *Config) NodePublicURL() string {
	if c.PublicURL != "" {
		return strings.TrimSuffix(c.PublicURL, "/")
	}
	for _, l := range []struct{ name, scheme, port string }{{"https", "https", "443"}, {"http", "http", "80"}} {
		if !c.HasRole("http") {
			break
		}
		host, port, err := net.SplitHostPort(c.Listener(l.name))
		if err != nil {
			continue
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = c.Hostname()
		}
		if port == l.port {
			if strings.Contains(host, ":") {
				host = "[" + host + "]"
			}
			return l.scheme + "://" + host
		}
		return l.scheme + "://" + net.JoinHostPort(host, port)
	}
	return ""
}

// validBucket reports whether b is an S3 bucket name.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	return strings.Trim(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") == ""
}

// NodeID returns node_name, or the host name.
func (c *Config) NodeID() string {
	if c.NodeName != "" {
		return c.NodeName
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "roost"
	}
	return h
}

// NodeAddr returns node_address, or the host of the IMAP (else HTTP)
// listener.
func (c *Config) NodeAddr() string {
	if c.NodeAddress != "" {
		return c.NodeAddress
	}
	for _, l := range []string{c.Listener("imap"), c.Listener("http")} {
		if h, _, err := net.SplitHostPort(l); err == nil && h != "" {
			return h
		}
	}
	return c.NodeID()
}

// checkOIDC checks the oidc_ keys of the provider and the relying party.
func (c *Config) checkOIDC(p *problems) {
	if p.ok("oidc_provider_issuer") && c.OIDCProviderIssuer != "" {
		u, err := url.Parse(c.OIDCProviderIssuer)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
			p.add("oidc_provider_issuer", "%q is not an https URL without path, query or fragment", c.OIDCProviderIssuer)
		}
	}
	if c.OIDCIssuer == "" {
		return
	}
	if p.ok("oidc_issuer") {
		u, err := url.Parse(c.OIDCIssuer)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
			p.add("oidc_issuer", "%q is not an https URL without query or fragment", c.OIDCIssuer)
		}
	}
	if p.ok("oidc_client_id") && c.OIDCClientID == "" {
		p.add("oidc_client_id", "must be set with oidc_issuer")
	}
	if p.ok("oidc_redirect_uri") && c.OIDCRedirectURI != "" {
		u, err := url.Parse(c.OIDCRedirectURI)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Path != "/auth/oidc/callback" {
			p.add("oidc_redirect_uri", "%q is not an https URL ending in /auth/oidc/callback", c.OIDCRedirectURI)
		}
	}
	if p.ok("oidc_scopes") {
		for _, sc := range c.OIDCScopes {
			if sc == "" || strings.ContainsAny(sc, " \"\\") {
				p.add("oidc_scopes", "%q is not a scope (RFC 6749 §3.3)", sc)
			}
		}
	}
	if p.ok("oidc_audiences") && slices.Contains(c.OIDCAudiences, "") {
		p.add("oidc_audiences", "must not contain an empty audience")
	}
	if p.ok("oidc_introspection_url") && c.OIDCIntrospectionURL != "" {
		u, err := url.Parse(c.OIDCIntrospectionURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			p.add("oidc_introspection_url", "%q is not an https URL", c.OIDCIntrospectionURL)
		}
	}
	if p.ok("oidc_login_claim") && c.OIDCLoginClaim == "" {
		p.add("oidc_login_claim", "must name a claim, e.g. \"email\"")
	}
}

// checkKerberos: principals are service/host@REALM, map entries
// principal@REALM=login.
func (c *Config) checkKerberos(p *problems) {
	if p.ok("kerberos_principals") {
		for _, s := range c.KerberosPrincipals {
			if svc, rest, ok := strings.Cut(s, "/"); !ok || svc == "" || !strings.Contains(rest, "@") {
				p.add("kerberos_principals", "%q is not service/host@REALM", s)
			}
		}
	}
	if p.ok("kerberos_map") {
		if _, err := c.KerberosMapping(); err != nil {
			p.add("kerberos_map", "%v", err)
		}
	}
	if p.ok("kerberos_keytab") && c.KerberosKeytab != "" {
		checkFile(p, "kerberos_keytab", c.KerberosKeytab)
	}
	if p.ok("kerberos_realms") {
		for _, r := range c.KerberosRealms {
			if r == "" || strings.ContainsAny(r, "@/ \t,") {
				p.add("kerberos_realms", "%q is not a realm name", r)
			}
		}
	}
}

// KerberosMapping is kerberos_map as principal → login.
func (c *Config) KerberosMapping() (map[string]string, error) {
	m := map[string]string{}
	for _, e := range c.KerberosMap {
		pr, login, ok := strings.Cut(e, "=")
		pr, login = strings.TrimSpace(pr), strings.TrimSpace(login)
		if !ok || login == "" || !strings.Contains(pr, "@") {
			return nil, fmt.Errorf("%q is not principal@REALM=login", e)
		}
		m[pr] = login
	}
	return m, nil
}

// ParseNetwork reads a network in CIDR notation, or one IP address as
// the network of that address alone.
func ParseNetwork(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return p.Masked(), nil
}
