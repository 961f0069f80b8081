package mail

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

//go:embed quotamail/*.mail
var quotaTemplates embed.FS

// Quota levels, as the template names use them.
const (
	LevelWarn    = "warning"
	LevelSoft    = "soft"
	LevelHard    = "hard"
	LevelCompany = "company"
)

// TemplateKey returns the tenant property that overrides the template of
// a level: "template/userwarning", "template/usersoft",
// "template/userhard", "template/companywarning".
func TemplateKey(level string) string {
	switch level {
	case LevelCompany:
		return "template/companywarning"
	default:
		return "template/user" + level
	}
}

func defaultTemplate(level string) string {
	name := strings.TrimPrefix(TemplateKey(level), "template/")
	b, err := quotaTemplates.ReadFile("quotamail/" + name + ".mail")
	if err != nil {
		panic("quota template missing: " + name) // embedded at build time
	}
	return string(b)
}

// QuotaMonitor is kopano-monitor: it warns users over their warning, soft
// or hard quota and the administrators of tenants over their warning
// quota, with a mail in their Inbox built from a template, at most once
// per day per level.
type QuotaMonitor struct {
	Store store.Backend
	Log   *slog.Logger
	// From is the From field of warnings; "" = "Roost" <postmaster@Hostname>.
	From     string
	Hostname string
	// Every is how often a warning is repeated while the level holds;
	// 0 = 24 hours.
	Every time.Duration
	Now   func() time.Time
}

func (q *QuotaMonitor) log() *slog.Logger {
	if q.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return q.Log
}

// Run checks every interval (0 = one hour) until ctx ends.
func (q *QuotaMonitor) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := q.CheckOnce(ctx); err != nil && ctx.Err() == nil {
			q.log().Warn("quota check failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// CheckOnce checks every tenant and user once and sends the warnings due.
// It goes on past a failing user or tenant and returns the errors joined.
func (q *QuotaMonitor) CheckOnce(ctx context.Context) error {
	ctx = store.SystemContext(ctx)
	tenants, err := q.Store.ListTenants(ctx)
	if err != nil {
		return fmt.Errorf("list tenants: %w", err)
	}
	var errs []error
	for _, t := range tenants {
		if err := ctx.Err(); err != nil {
			return err
		}
		users, err := q.Store.ListUsers(ctx, t.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: list users: %w", t.Name, err))
			continue
		}
		for _, u := range users {
			if err := q.checkUser(ctx, t, u); err != nil {
				errs = append(errs, fmt.Errorf("user %s: %w", u.Login, err))
			}
		}
		if err := q.checkTenant(ctx, t, users); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (q *QuotaMonitor) every() time.Duration {
	if q.Every > 0 {
		return q.Every
	}
	return 24 * time.Hour
}

func (q *QuotaMonitor) checkUser(ctx context.Context, t *store.Tenant, u *store.User) error {
	if u.StoreID == 0 {
		return nil // no store yet: nothing stored
	}
	qs, err := q.Store.StoreQuota(ctx, u.StoreID)
	if err != nil {
		return err
	}
	level := ""
	switch {
	case qs.Quota.Hard > 0 && qs.Size > qs.Quota.Hard:
		level = LevelHard
	case qs.Quota.Soft > 0 && qs.Size > qs.Quota.Soft:
		level = LevelSoft
	case qs.Quota.Warn > 0 && qs.Size > qs.Quota.Warn:
		level = LevelWarn
	default:
		return nil
	}
	ok, err := q.Store.RecordOnce(ctx, u.StoreID, "quota/"+level, q.every())
	if err != nil || !ok {
		return err
	}
	vars := map[string]string{
		"KOPANO_QUOTA_NAME":       u.Login,
		"KOPANO_QUOTA_FULLNAME":   cmpOr(u.FullName, u.Login),
		"KOPANO_QUOTA_COMPANY":    t.Name,
		"KOPANO_QUOTA_STORE_SIZE": FormatSize(qs.Size),
		"KOPANO_QUOTA_WARN_SIZE":  limitSize(qs.Quota.Warn),
		"KOPANO_QUOTA_SOFT_SIZE":  limitSize(qs.Quota.Soft),
		"KOPANO_QUOTA_HARD_SIZE":  limitSize(qs.Quota.Hard),
	}
	if err := q.send(ctx, t.Name, level, u, vars); err != nil {
		return err
	}
	q.log().Info("quota warning sent", "user", u.Login, "tenant", t.Name, "level", level, "size", qs.Size)
	return nil
}

func (q *QuotaMonitor) checkTenant(ctx context.Context, t *store.Tenant, users []*store.User) error {
	tu, err := q.Store.TenantUsage(ctx, t.Name)
	if err != nil {
		return err
	}
	if tu.QuotaWarn <= 0 || tu.Size <= tu.QuotaWarn {
		return nil
	}
	admins := slices.Clone(t.Admins)
	for _, u := range users {
		if u.Admin >= store.AdminTenant && u.Active && !slices.Contains(admins, u.Login) {
			admins = append(admins, u.Login)
		}
	}
	if len(admins) == 0 {
		q.log().Warn("tenant over its warning quota has no administrator to warn", "tenant", t.Name, "size", tu.Size)
		return nil
	}
	vars := map[string]string{
		"KOPANO_QUOTA_NAME":       t.Name,
		"KOPANO_QUOTA_FULLNAME":   t.Name,
		"KOPANO_QUOTA_COMPANY":    t.Name,
		"KOPANO_QUOTA_STORE_SIZE": FormatSize(tu.Size),
		"KOPANO_QUOTA_WARN_SIZE":  limitSize(tu.QuotaWarn),
		"KOPANO_QUOTA_SOFT_SIZE":  limitSize(0),
		"KOPANO_QUOTA_HARD_SIZE":  limitSize(0),
	}
	var errs []error
	for _, login := range admins {
		a, err := q.Store.GetUser(ctx, login)
		if err != nil {
			errs = append(errs, fmt.Errorf("admin %s: %w", login, err))
			continue
		}
		st, err := q.Store.UserStore(ctx, a.Login)
		if err != nil {
			errs = append(errs, fmt.Errorf("admin %s: %w", login, err))
			continue
		}
		ok, err := q.Store.RecordOnce(ctx, st.ID, "quota/company/"+t.Name, q.every())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		if err := q.send(ctx, t.Name, LevelCompany, a, vars); err != nil {
			errs = append(errs, fmt.Errorf("admin %s: %w", login, err))
			continue
		}
		q.log().Info("tenant quota warning sent", "tenant", t.Name, "admin", a.Login, "size", tu.Size)
	}
	return errors.Join(errs...)
}

// Render fills a template: the first "Subject:" line is the subject, the
// rest the body; ${VAR} are replaced (Kopano's ECQuotaMonitor rules).
func Render(tmpl string, vars map[string]string) (subject, body string) {
	var b strings.Builder
	for _, line := range strings.SplitAfter(tmpl, "\n") {
		if s, ok := strings.CutPrefix(line, "Subject:"); ok && subject == "" {
			subject = strings.TrimSpace(s)
			continue
		}
		b.WriteString(line)
	}
	body = strings.TrimLeft(b.String(), "\r\n")
	for k, v := range vars {
		subject = strings.ReplaceAll(subject, "${"+k+"}", v)
		body = strings.ReplaceAll(body, "${"+k+"}", v)
	}
	return oneLine(subject), body
}

func (q *QuotaMonitor) send(ctx context.Context, tenant, level string, to *store.User, vars map[string]string) error {
	tmpl := ""
	if props, err := q.Store.TenantProps(ctx, tenant); err != nil {
		q.log().Warn("quota template override unreadable; using the default", "tenant", tenant, "err", err)
	} else {
		tmpl = props[TemplateKey(level)]
	}
	if strings.TrimSpace(tmpl) == "" {
		tmpl = defaultTemplate(level)
	}
	subject, body := Render(tmpl, vars)
	now := time.Now()
	if q.Now != nil {
		now = q.Now()
	}
	host := cmpOr(q.Hostname, "localhost")
	from := cmpOr(q.From, formatAddress("Roost", "postmaster@"+host))
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\n",
		from, formatAddress(to.FullName, cmpOr(to.Email, to.Login)), mime.QEncoding.Encode("utf-8", subject),
		now.Format(time.RFC1123Z), newMessageID(host))
	b.WriteString("Auto-Submitted: auto-generated\r\nImportance: high\r\nX-Priority: 1\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	inbox, err := Inbox(ctx, q.Store, to.Login)
	if err != nil {
		return err
	}
	if _, err := q.Store.AppendItem(ctx, inbox, store.NewItem{Content: strings.NewReader(b.String()), OverQuota: true}); err != nil {
		return fmt.Errorf("store %s warning: %w", level, err)
	}
	return nil
}

// FormatSize writes a size with its unit, as Kopano's templates show it.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func limitSize(n int64) string {
	if n <= 0 {
		return "unlimited"
	}
	return FormatSize(n)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
