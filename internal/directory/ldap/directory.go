package ldap

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// Store is what the backend needs of Roost's store: the directory, and
// users found by their external id (sqlstore.DB has both).
type Store interface {
	store.Directory
	UserByExternalID(ctx context.Context, id string) (*store.User, error)
}

// Directory is the LDAP backend. It implements directory.External.
type Directory struct {
	cfg   Config
	store Store
	log   *slog.Logger
	pool  chan *conn
	// busy holds a token per connection in use: at most PoolSize at
	// once, however many clients log in together.
	busy chan struct{}

	mu          sync.Mutex
	preferred   int // index in cfg.URIs of the server that answered last
	unreachable atomic.Bool
	provision   sync.Mutex // one just-in-time provisioning at a time
	syncing     sync.Mutex // one Sync at a time
	companyList []company  // the companies of the running Sync (under syncing)
}

// New returns the backend; it connects lazily, at the first lookup.
func New(cfg Config, st Store, log *slog.Logger) (*Directory, error) {
	if len(cfg.URIs) == 0 {
		return nil, errors.New("ldap: no ldap_uri")
	}
	if cfg.UniqueAttr == "" || cfg.LoginAttr == "" || cfg.Base == "" || cfg.Tenant == "" {
		return nil, errors.New("ldap: unique and login attributes, search base and tenant are required")
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 4
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Directory{cfg: cfg, store: st, log: log, pool: make(chan *conn, cfg.PoolSize),
		busy: make(chan struct{}, cfg.PoolSize)}, nil
}

// Entry is a user as the directory describes it.
type Entry struct {
	DN       string
	ID       string // the unique attribute's value (hex when binary)
	Login    string
	Mail     string
	Aliases  []string
	FullName string
	Active   bool
	Admin    store.AdminLevel
	HasAdmin bool // ldap_isadmin_attribute is configured
	// Tenant is the company the entry is below ("" : ldap_tenant).
	Tenant string
	// Quota and features when their attributes are configured (Has…).
	HasQuota         bool
	QuotaOverride    bool
	Quota            store.Quota
	HasFeatures      bool
	EnabledFeatures  []string
	DisabledFeatures []string
	HasServer        bool
	Server           string
	// sendAsRaw holds the values of ldap_sendas_attribute; the sync
	// maps them to logins once every user exists.
	sendAsRaw []string
}

func (d *Directory) attrs() []string {
	var out []string
	for _, a := range []string{d.cfg.UniqueAttr, d.cfg.LoginAttr, d.cfg.MailAttr, d.cfg.AliasesAttr,
		d.cfg.FullNameAttr, d.cfg.NonactiveAttr, d.cfg.AdminAttr, d.cfg.QuotaOverrideAttr, d.cfg.WarnQuotaAttr,
		d.cfg.SoftQuotaAttr, d.cfg.HardQuotaAttr, d.cfg.EnabledFeaturesAttr, d.cfg.DisabledFeaturesAttr, d.cfg.ServerAttr} {
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// loginFilter matches the entry a login names: its login attribute, or
// for an address its mail or alias attributes. The login is escaped
// (RFC 4515 §3): it is untrusted client input.
func (d *Directory) loginFilter(login string) string {
	v := goldap.EscapeFilter(login)
	f := "(" + d.cfg.LoginAttr + "=" + v + ")"
	if strings.Contains(login, "@") {
		f = "(|" + f + d.addressFilter(login) + ")"
	}
	return "(&" + d.cfg.Filter + f + ")"
}

func (d *Directory) addressFilter(addr string) string {
	v := goldap.EscapeFilter(addr)
	f := ""
	if d.cfg.MailAttr != "" {
		f += "(" + d.cfg.MailAttr + "=" + v + ")"
	}
	if d.cfg.AliasesAttr != "" {
		f += "(" + d.cfg.AliasesAttr + "=" + v + ")"
		if d.cfg.AliasesAttr == "proxyAddresses" {
			f += "(" + d.cfg.AliasesAttr + "=smtp:" + v + ")"
		}
	}
	return "(|" + f + ")"
}

// errNoEntry: the search found nobody.
var errNoEntry = errors.New("no such entry")

// search finds the one entry matching filter on c.
func (d *Directory) search(c *conn, filter string) (*goldap.Entry, error) {
	req := goldap.NewSearchRequest(d.cfg.Base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 2,
		int(d.cfg.Timeout.Seconds()), false, filter, d.attrs(), nil)
	res, err := c.Search(req)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) || (err == nil && len(res.Entries) > 1) {
		return nil, fmt.Errorf("ldap search %s under %q: more than one entry matches; a login or address must name one entry (check ldap_user_search_filter, ldap_loginname_attribute and duplicate addresses)", filter, d.cfg.Base)
	}
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return nil, errNoEntry // the base itself is missing
	}
	if err != nil {
		return nil, fmt.Errorf("ldap search %s: %w", filter, err)
	}
	if len(res.Entries) == 0 {
		return nil, errNoEntry
	}
	return res.Entries[0], nil
}

// entryOf reads what Roost needs of e.
func (d *Directory) entryOf(e *goldap.Entry) (*Entry, error) {
	out := &Entry{DN: e.DN, Active: true, HasAdmin: d.cfg.AdminAttr != ""}
	raw := e.GetRawAttributeValue(d.cfg.UniqueAttr)
	if len(raw) == 0 {
		return nil, fmt.Errorf("ldap entry %q has no %s", e.DN, d.cfg.UniqueAttr)
	}
	out.ID = externalID(d.cfg.UniqueAttr, raw)
	out.Login = e.GetAttributeValue(d.cfg.LoginAttr)
	if out.Login == "" {
		return nil, fmt.Errorf("ldap entry %q has no %s", e.DN, d.cfg.LoginAttr)
	}
	if d.cfg.MailAttr != "" {
		out.Mail = strings.ToLower(e.GetAttributeValue(d.cfg.MailAttr))
	}
	if d.cfg.AliasesAttr != "" {
		for _, a := range e.GetAttributeValues(d.cfg.AliasesAttr) {
			if i := strings.IndexByte(a, ':'); i >= 0 && strings.EqualFold(a[:i], "smtp") {
				a = a[i+1:] // AD proxyAddresses: "SMTP:primary", "smtp:alias"
			}
			a = strings.ToLower(a)
			if strings.Contains(a, "@") && a != out.Mail && !slices.Contains(out.Aliases, a) {
				out.Aliases = append(out.Aliases, a)
			}
		}
	}
	if d.cfg.FullNameAttr != "" {
		out.FullName = e.GetAttributeValue(d.cfg.FullNameAttr)
	}
	if d.cfg.NonactiveAttr != "" {
		for _, v := range e.GetAttributeValues(d.cfg.NonactiveAttr) {
			switch {
			case d.cfg.NonactiveBitmask != 0:
				n, err := strconv.ParseInt(v, 10, 64)
				if err == nil && n&int64(d.cfg.NonactiveBitmask) != 0 {
					out.Active = false
				}
			case d.cfg.NonactiveValue == "" || strings.EqualFold(v, d.cfg.NonactiveValue):
				out.Active = false
			}
		}
	}
	if d.cfg.QuotaOverrideAttr != "" {
		out.HasQuota = true
		out.QuotaOverride = truthy(e.GetAttributeValue(d.cfg.QuotaOverrideAttr))
		out.Quota = store.Quota{Warn: d.quotaLevel(e, d.cfg.WarnQuotaAttr), Soft: d.quotaLevel(e, d.cfg.SoftQuotaAttr),
			Hard: d.quotaLevel(e, d.cfg.HardQuotaAttr)}
	}
	if d.cfg.EnabledFeaturesAttr != "" || d.cfg.DisabledFeaturesAttr != "" {
		out.HasFeatures = true
		pick := func(attr string) []string {
			var fs []string
			if attr == "" {
				return nil
			}
			for _, v := range e.GetAttributeValues(attr) {
				for _, f := range strings.FieldsFunc(strings.ToLower(v), func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
					if slices.Contains(store.Features, f) && !slices.Contains(fs, f) {
						fs = append(fs, f)
					}
				}
			}
			return fs
		}
		out.EnabledFeatures, out.DisabledFeatures = pick(d.cfg.EnabledFeaturesAttr), pick(d.cfg.DisabledFeaturesAttr)
	}
	if d.cfg.ServerAttr != "" {
		out.HasServer, out.Server = true, e.GetAttributeValue(d.cfg.ServerAttr)
	}
	if d.cfg.SendAsAttr != "" {
		out.sendAsRaw = e.GetAttributeValues(d.cfg.SendAsAttr)
	}
	if d.cfg.AdminAttr != "" {
		switch e.GetAttributeValue(d.cfg.AdminAttr) {
		case "1":
			out.Admin = store.AdminTenant
		case "2":
			out.Admin = store.AdminSystem
		}
	}
	return out, nil
}

// Authenticate implements directory.External: it finds the login's entry
// with the service account, binds as that entry with password (the
// directory checks it; Roost never reads hashes), and returns the Roost
// user the entry is provisioned as. A wrong password or an unknown login
// is directory.ErrBadCredentials; an unreachable directory wraps
// ErrUnavailable.
func (d *Directory) Authenticate(ctx context.Context, login, password string) (*store.User, error) {
	if password == "" || login == "" {
		// An empty password would be an unauthenticated bind, which
		// succeeds (RFC 4513 §5.1.2): never a login.
		return nil, directory.ErrBadCredentials
	}
	var e *Entry
	err := d.with(ctx, func(c *conn) error {
		le, err := d.search(c, d.loginFilter(login))
		if err != nil {
			return err
		}
		if e, err = d.entryOf(le); err != nil {
			return err
		}
		berr := c.Bind(le.DN, password)
		// The connection is now bound as the user (or unbound): back to
		// the service account before it returns to the pool.
		if rerr := d.serviceBind(c); rerr != nil {
			c.Close()
			if berr == nil {
				return rerr
			}
		}
		return berr
	})
	switch {
	case errors.Is(err, ErrUnavailable):
		// Before the result codes: a refused service bind is the
		// directory's failure, not the user's wrong password.
		return nil, fmt.Errorf("ldap authenticate %q: %w", login, err)
	case errors.Is(err, errNoEntry):
		return nil, directory.ErrBadCredentials
	case goldap.IsErrorAnyOf(err, goldap.LDAPResultInvalidCredentials, goldap.ErrorEmptyPassword, goldap.LDAPResultInappropriateAuthentication):
		return nil, directory.ErrBadCredentials
	case err != nil:
		return nil, fmt.Errorf("ldap authenticate %q: %w", login, err)
	}
	return d.Provision(ctx, e)
}

// UserByAddress finds the directory user with mail address addr (primary
// or alias) and provisions it, for delivery to a user who never logged
// in. store.ErrNotFound when the directory has nobody with addr.
func (d *Directory) UserByAddress(ctx context.Context, addr string) (*store.User, error) {
	var e *Entry
	err := d.with(ctx, func(c *conn) error {
		le, err := d.search(c, "(&"+d.cfg.Filter+d.addressFilter(addr)+")")
		if err != nil {
			return err
		}
		e, err = d.entryOf(le)
		return err
	})
	if errors.Is(err, errNoEntry) {
		return nil, fmt.Errorf("ldap address %q: %w", addr, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("ldap address %q: %w", addr, err)
	}
	return d.Provision(ctx, e)
}

// UserByLogin implements directory.Provisioner: the entry login names
// (its login attribute, or an address) is provisioned without a bind, for
// a sign-in a Kerberos ticket proved. store.ErrNotFound when the
// directory has no such entry.
func (d *Directory) UserByLogin(ctx context.Context, login string) (*store.User, error) {
	if login == "" || len(login) > 320 || !utf8.ValidString(login) {
		return nil, fmt.Errorf("ldap login %q: %w", login, store.ErrNotFound)
	}
	var e *Entry
	err := d.with(ctx, func(c *conn) error {
		le, err := d.search(c, d.loginFilter(login))
		if err != nil {
			return err
		}
		e, err = d.entryOf(le)
		return err
	})
	if errors.Is(err, errNoEntry) {
		return nil, fmt.Errorf("ldap login %q: %w", login, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("ldap login %q: %w", login, err)
	}
	return d.Provision(ctx, e)
}

// externalID is how an entry's unique attribute value is kept in Roost
// (User.ExternalID, Group.ExternalID): "attr:value", hex for binary
// values such as AD's objectGUID.
func externalID(attr string, raw []byte) string {
	if utf8.Valid(raw) && !strings.EqualFold(attr, "objectGUID") {
		return attr + ":" + string(raw)
	}
	return attr + ":" + hex.EncodeToString(raw)
}
