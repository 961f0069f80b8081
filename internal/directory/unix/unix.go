// Package unix is the Unix directory backend (user_plugin = unix): the
// users of the system's passwd(5) file within a uid range (less the
// uids excepted) are Roost users, their passwords are checked against the crypt(3) hashes of
// shadow(5) in Go (auth.CheckCrypt: yescrypt, SHA-512 and SHA-256
// crypt), users
// whose shell is a non-login shell are non-active (shared mailboxes,
// rooms), and the groups of group(5) within a gid range are Roost groups.
// Users are created just in time at login and delivery, and by Sync,
// linked for good by their uid (store.User.ExternalID "unix-uid:N") so a
// renamed account keeps its store; an account that left the files is
// deleted by Sync and its store kept as an orphan. Groups are linked by
// gid ("unix-gid:N") the same way: renamed with the line, deleted when
// it goes.
package unix

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// Config is what the backend needs.
type Config struct {
	Passwd, Shadow, Group string
	MinUID, MaxUID        int
	MinGID, MaxGID        int
	// ExceptUIDs and ExceptGIDs are left out although in the range
	// (Kopano's except_user_uids, except_group_gids).
	ExceptUIDs, ExceptGIDs []int
	NonLoginShells         []string
	Domain                 string // users' mail domain
	Tenant                 string
}

// FromConfig builds the backend's Config from Roost's configuration.
func FromConfig(c *config.Config) Config {
	return Config{Passwd: c.UnixPasswdFile, Shadow: c.UnixShadowFile, Group: c.UnixGroupFile,
		MinUID: c.UnixMinUserUID, MaxUID: c.UnixMaxUserUID, MinGID: c.UnixMinGroupGID, MaxGID: c.UnixMaxGroupGID,
		ExceptUIDs: c.UnixExceptUserUIDs, ExceptGIDs: c.UnixExceptGroupGIDs,
		NonLoginShells: c.UnixNonLoginShells, Domain: strings.ToLower(c.UnixDefaultDomain), Tenant: c.UnixTenant}
}

// Store is what the backend needs of Roost's store.
type Store interface {
	store.Directory
	UserByExternalID(ctx context.Context, id string) (*store.User, error)
}

// ErrUnavailable wraps a failure to read the files: a temporary failure,
// never "wrong password".
var ErrUnavailable = errors.New("unix user files unavailable")

// Directory is the Unix backend; it implements directory.External and
// directory.Syncer.
type Directory struct {
	cfg       Config
	store     Store
	log       *slog.Logger
	provision sync.Mutex
	syncing   sync.Mutex
	now       func() time.Time
}

// New returns the backend.
func New(cfg Config, st Store, log *slog.Logger) (*Directory, error) {
	if cfg.Passwd == "" || cfg.Shadow == "" || cfg.Tenant == "" || cfg.Domain == "" {
		return nil, errors.New("unix: passwd and shadow files, a mail domain and a tenant are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Directory{cfg: cfg, store: st, log: log, now: time.Now}, nil
}

// account is a passwd line (with its shadow line) in the uid range.
type account struct {
	login    string
	uid, gid int
	fullName string
	shell    string
	hash     string
	expired  bool
}

// group is a group line in the gid range.
type group struct {
	name    string
	gid     int
	members []string
}

// Limits of the files read: a line, a file.
const (
	maxLine = 64 << 10
	maxFile = 64 << 20
)

// readLines calls fn with the fields of each line of path (split on
// ':'), skipping blank lines and comments.
func readLines(path string, fn func(f []string)) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(io.LimitReader(fh, maxFile))
	sc.Buffer(make([]byte, 4096), maxLine)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 || line[0] == '#' {
			continue
		}
		fn(strings.Split(string(line), ":"))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, path, err)
	}
	return nil
}

// accounts reads passwd and shadow: the accounts in the uid range.
func (d *Directory) accounts() ([]account, error) {
	var out []account
	err := readLines(d.cfg.Passwd, func(f []string) {
		if len(f) < 7 {
			return
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || uid < d.cfg.MinUID || uid > d.cfg.MaxUID ||
			slices.Contains(d.cfg.ExceptUIDs, uid) || !validLogin(f[0]) {
			return
		}
		name, _, _ := strings.Cut(f[4], ",") // GECOS: full name, room, phones
		if name == "" {
			name = f[0]
		}
		a := account{login: f[0], uid: uid, gid: gid, fullName: name, shell: f[6]}
		if f[1] != "x" {
			a.hash = f[1] // a hash in passwd itself (no shadow)
		}
		out = append(out, a)
	})
	if err != nil {
		return nil, err
	}
	shadow := map[string][]string{}
	err = readLines(d.cfg.Shadow, func(f []string) {
		if len(f) >= 2 {
			shadow[f[0]] = f
		}
	})
	if err != nil {
		return nil, err
	}
	today := int(d.now().Unix() / 86400)
	for i := range out {
		f, ok := shadow[out[i].login]
		if !ok {
			continue
		}
		out[i].hash = f[1]
		// Field 8: the account's expiry, in days since 1970.
		if len(f) >= 8 && f[7] != "" {
			if n, err := strconv.Atoi(f[7]); err == nil && today >= n {
				out[i].expired = true
			}
		}
	}
	return out, nil
}

// groups reads group: the groups in the gid range.
func (d *Directory) groups() ([]group, error) {
	if d.cfg.Group == "" {
		return nil, nil
	}
	var out []group
	err := readLines(d.cfg.Group, func(f []string) {
		if len(f) < 4 {
			return
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil || gid < d.cfg.MinGID || gid > d.cfg.MaxGID ||
			slices.Contains(d.cfg.ExceptGIDs, gid) || f[0] == "" {
			return
		}
		g := group{name: f[0], gid: gid}
		for _, m := range strings.Split(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				g.members = append(g.members, m)
			}
		}
		out = append(out, g)
	})
	return out, err
}

// validLogin: a name Roost accepts as a login (POSIX portable user names
// and then some; never a path or control characters).
func validLogin(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func (d *Directory) active(a account) bool {
	return !a.expired && !slices.Contains(d.cfg.NonLoginShells, a.shell)
}

func (d *Directory) externalID(a account) string { return "unix-uid:" + strconv.Itoa(a.uid) }

// find returns the account a login names: its name, or name@domain.
func (d *Directory) find(login string) (account, bool, error) {
	all, err := d.accounts()
	if err != nil {
		return account{}, false, err
	}
	name := login
	if l, dom, ok := strings.Cut(login, "@"); ok {
		if !strings.EqualFold(dom, d.cfg.Domain) {
			return account{}, false, nil
		}
		name = l
	}
	for _, a := range all {
		if a.login == name {
			return a, true, nil
		}
	}
	return account{}, false, nil
}

// Authenticate implements directory.External: the password is checked
// against the account's shadow hash; the Roost user is created or
// updated just in time.
func (d *Directory) Authenticate(ctx context.Context, login, password string) (*store.User, error) {
	if login == "" || password == "" {
		return nil, directory.ErrBadCredentials
	}
	a, ok, err := d.find(login)
	if err != nil {
		return nil, fmt.Errorf("unix authenticate %q: %w", login, err)
	}
	if !ok {
		return nil, directory.ErrBadCredentials
	}
	match, err := auth.CheckCrypt(a.hash, password)
	if err != nil {
		d.log.Warn("unix: the account's password hash cannot be checked; set its password again (yescrypt or SHA-512)",
			"user", a.login, "err", err)
		return nil, directory.ErrBadCredentials
	}
	if !match {
		return nil, directory.ErrBadCredentials
	}
	u, _, err := d.provisionAccount(ctx, a)
	return u, err
}

// UserByAddress finds the account of login@domain and provisions it, for
// delivery to a user who never logged in; store.ErrNotFound otherwise.
func (d *Directory) UserByAddress(ctx context.Context, addr string) (*store.User, error) {
	if !strings.Contains(addr, "@") {
		return nil, fmt.Errorf("unix address %q: %w", addr, store.ErrNotFound)
	}
	a, ok, err := d.find(strings.ToLower(addr))
	if err != nil {
		return nil, fmt.Errorf("unix address %q: %w", addr, err)
	}
	if !ok {
		return nil, fmt.Errorf("unix address %q: %w", addr, store.ErrNotFound)
	}
	u, _, err := d.provisionAccount(ctx, a)
	return u, err
}

// UserByLogin implements directory.Provisioner: the account login names
// (a login or login@domain) is provisioned, for a Kerberos sign-in;
// store.ErrNotFound otherwise.
func (d *Directory) UserByLogin(ctx context.Context, login string) (*store.User, error) {
	a, ok, err := d.find(login)
	if err != nil {
		return nil, fmt.Errorf("unix login %q: %w", login, err)
	}
	if !ok {
		return nil, fmt.Errorf("unix login %q: %w", login, store.ErrNotFound)
	}
	u, _, err := d.provisionAccount(ctx, a)
	return u, err
}

type action int

const (
	unchanged action = iota
	created
	updated
	renamed
)

// provisionAccount creates or updates the Roost user of a, found by its
// uid. A Roost user of the same login without a link is adopted.
func (d *Directory) provisionAccount(ctx context.Context, a account) (*store.User, action, error) {
	d.provision.Lock()
	defer d.provision.Unlock()
	sys := store.SystemContext(ctx)
	id := d.externalID(a)
	mail := strings.ToLower(a.login) + "@" + d.cfg.Domain
	u, err := d.store.UserByExternalID(sys, id)
	if errors.Is(err, store.ErrNotFound) {
		u, err = d.store.GetUser(sys, a.login)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if err := d.ensureTenant(sys); err != nil {
				return nil, unchanged, err
			}
			nu, err := d.store.CreateUser(sys, d.cfg.Tenant, store.User{Login: a.login, Email: mail, FullName: a.fullName,
				Active: d.active(a), ExternalID: id})
			if err != nil {
				return nil, unchanged, fmt.Errorf("unix: create user %q: %w", a.login, err)
			}
			d.log.Info("unix: user created", "user", a.login, "uid", a.uid)
			return nu, created, nil
		case err != nil:
		case u.ExternalID != "":
			return nil, unchanged, fmt.Errorf("unix: login %q is linked to %s, not uid %d: %w", a.login, u.ExternalID, a.uid, store.ErrConflict)
		}
	}
	if err != nil {
		return nil, unchanged, fmt.Errorf("unix provision %q: %w", a.login, err)
	}
	var upd store.UserUpdate
	changed := false
	if u.ExternalID != id {
		upd.ExternalID, changed = &id, true
	}
	if u.Login != a.login {
		upd.Rename, changed = &a.login, true
	}
	if u.Email != mail {
		upd.Email, changed = &mail, true
	}
	if u.FullName != a.fullName {
		upd.FullName, changed = &a.fullName, true
	}
	if act := d.active(a); u.Active != act {
		upd.Active, changed = &act, true
	}
	if !changed {
		return u, unchanged, nil
	}
	nu, err := d.store.UpdateUser(sys, u.Login, upd)
	if err != nil {
		return nil, unchanged, fmt.Errorf("unix: update user %q: %w", u.Login, err)
	}
	if nu.Login != u.Login {
		d.log.Info("unix: user renamed", "from", u.Login, "to", nu.Login, "uid", a.uid)
		return nu, renamed, nil
	}
	return nu, updated, nil
}

func (d *Directory) ensureTenant(sys context.Context) error {
	if _, err := d.store.GetTenant(sys, d.cfg.Tenant); errors.Is(err, store.ErrNotFound) {
		if _, err := d.store.CreateTenant(sys, d.cfg.Tenant); err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("unix: create tenant %q: %w", d.cfg.Tenant, err)
		}
	} else if err != nil {
		return fmt.Errorf("unix: tenant %q: %w", d.cfg.Tenant, err)
	}
	return nil
}

// Sync reads the files and applies them: users created, updated and
// renamed (by uid), users who left deleted (their stores kept as
// orphans), groups created and their members set (the users listed in
// the group line and those whose primary group it is).
func (d *Directory) Sync(ctx context.Context, progress func(directory.SyncProgress)) (*directory.SyncSummary, error) {
	if !d.syncing.TryLock() {
		return nil, errors.New("directory sync: another sync is running")
	}
	defer d.syncing.Unlock()
	start := time.Now()
	if progress == nil {
		progress = func(directory.SyncProgress) {}
	}
	accts, err := d.accounts()
	if err != nil {
		return nil, fmt.Errorf("directory sync: %w", err)
	}
	groups, err := d.groups()
	if err != nil {
		return nil, fmt.Errorf("directory sync: %w", err)
	}
	sum := &directory.SyncSummary{Users: len(accts)}
	fail := func(err error) {
		sum.Failed++
		if len(sum.Errors) < 20 {
			sum.Errors = append(sum.Errors, err.Error())
		}
	}
	seen := map[string]bool{}
	byGID := map[int][]string{}
	known := map[string]bool{}
	for i, a := range accts {
		seen[d.externalID(a)] = true
		u, act, err := d.provisionAccount(ctx, a)
		if err != nil {
			fail(err)
			continue
		}
		switch act {
		case created:
			sum.Created++
		case updated:
			sum.Updated++
		case renamed:
			sum.Renamed++
		default:
			sum.Unchanged++
		}
		known[u.Login] = true
		byGID[a.gid] = append(byGID[a.gid], u.Login)
		if (i+1)%100 == 0 || i+1 == len(accts) {
			progress(directory.SyncProgress{Phase: "users", Done: i + 1, Total: len(accts)})
		}
	}
	sys := store.SystemContext(ctx)
	all, err := d.store.ListUsers(sys, d.cfg.Tenant)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("directory sync: list users: %w", err)
	}
	linked := 0
	var gone []*store.User
	for _, u := range all {
		if strings.HasPrefix(u.ExternalID, "unix-uid:") {
			linked++
			if !seen[u.ExternalID] {
				gone = append(gone, u)
			}
		}
	}
	if len(seen) == 0 && linked > 0 {
		return nil, fmt.Errorf("directory sync: %s has no user in the uid range %d-%d, but %d Roost users are linked to it; refusing to orphan them all",
			d.cfg.Passwd, d.cfg.MinUID, d.cfg.MaxUID, linked)
	}
	for i, u := range gone {
		if err := d.store.DeleteUser(sys, u.Login); err != nil {
			fail(fmt.Errorf("orphan %q: %w", u.Login, err))
			continue
		}
		d.log.Info("unix sync: user left the passwd file; its store is an orphan now", "user", u.Login, "id", u.ExternalID)
		sum.Orphaned++
		progress(directory.SyncProgress{Phase: "orphans", Done: i + 1, Total: len(gone)})
	}
	sum.Groups = len(groups)
	if d.cfg.Group != "" {
		if err := d.syncGroups(sys, groups, byGID, known, sum, fail, progress); err != nil {
			return nil, err
		}
	}
	sum.Seconds = time.Since(start).Seconds()
	d.log.Info("unix directory sync done", "users", sum.Users, "created", sum.Created, "renamed", sum.Renamed,
		"orphaned", sum.Orphaned, "groups", sum.Groups, "failed", sum.Failed)
	return sum, nil
}

// syncGroups applies the group file's groups (members: byGID's users
// and the known users listed) and deletes the linked groups that left
// it. No group file: groups are Roost's own.
func (d *Directory) syncGroups(sys context.Context, groups []group, byGID map[int][]string, known map[string]bool,
	sum *directory.SyncSummary, fail func(error), progress func(directory.SyncProgress)) error {
	lgs, err := d.linkedGroups(sys)
	if err != nil {
		return fmt.Errorf("directory sync: list groups: %w", err)
	}
	if len(groups) == 0 && len(lgs) > 0 {
		return fmt.Errorf("directory sync: %s has no group in the gid range %d-%d, but %d Roost groups are linked to it; refusing to delete them all",
			d.cfg.Group, d.cfg.MinGID, d.cfg.MaxGID, len(lgs))
	}
	gseen := map[string]bool{}
	for _, g := range groups {
		gseen[groupID(g.gid)] = true
	}
	for i, g := range groups {
		want := slices.Clone(byGID[g.gid])
		for _, m := range g.members {
			if known[m] && !slices.Contains(want, m) {
				want = append(want, m)
			}
		}
		if err := d.applyGroup(sys, g, want, lgs, gseen, sum); err != nil {
			fail(fmt.Errorf("group %q: %w", g.name, err))
		}
		progress(directory.SyncProgress{Phase: "groups", Done: i + 1, Total: len(groups)})
	}
	// Linked groups whose gid left the file (or the range, or was
	// excepted) are deleted, with the ACL entries naming them.
	for id, g := range lgs {
		if gseen[id] {
			continue
		}
		if err := d.store.DeleteGroup(sys, g.Tenant, g.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
			fail(fmt.Errorf("delete group %q: %w", g.Name, err))
			continue
		}
		d.log.Info("unix sync: group left the group file; deleted", "group", g.Name, "id", id)
		sum.GroupsDeleted++
	}
	return nil
}

// groupPrefix starts the ExternalID of a group made from the group
// file: its gid links it, so a renamed group (groupmod -n) keeps its
// ACL entries and a removed one is deleted.
const groupPrefix = "unix-gid:"

func groupID(gid int) string { return groupPrefix + strconv.Itoa(gid) }

// linkedGroups returns the tenant's groups linked to a gid, by
// ExternalID.
func (d *Directory) linkedGroups(sys context.Context) (map[string]*store.Group, error) {
	all, err := d.store.ListGroups(sys, d.cfg.Tenant)
	if errors.Is(err, store.ErrNotFound) {
		return map[string]*store.Group{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]*store.Group{}
	for _, g := range all {
		if !g.BuiltIn && strings.HasPrefix(g.ExternalID, groupPrefix) {
			out[g.ExternalID] = g
		}
	}
	return out, nil
}

// applyGroup brings the Roost group of g in line with the file: found
// by its gid (renamed when the line's name changed) or by name (then
// linked), or created; then its members are set. seen holds the links
// of every group line read.
func (d *Directory) applyGroup(sys context.Context, g group, want []string, linked map[string]*store.Group, seen map[string]bool, sum *directory.SyncSummary) error {
	t := d.cfg.Tenant
	id := groupID(g.gid)
	cur := linked[id]
	var err error
	switch {
	case cur != nil && cur.Name != g.name:
		name := g.name
		if cur, err = d.store.UpdateGroup(sys, t, cur.Name, store.GroupUpdate{Name: &name}); err != nil {
			return fmt.Errorf("rename %q: %w", linked[id].Name, err)
		}
		d.log.Info("unix sync: group renamed", "from", linked[id].Name, "to", g.name)
		sum.GroupsRenamed++
		linked[id] = cur
	case cur == nil:
		cur, err = d.store.GetGroup(sys, t, g.name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if err := d.ensureTenant(sys); err != nil {
				return err
			}
			if cur, err = d.store.CreateGroup(sys, t, store.Group{Name: g.name, Kind: store.GroupSecurity, ExternalID: id}); err != nil {
				return err
			}
			sum.GroupsCreated++
		case err != nil:
			return err
		case cur.BuiltIn:
		case cur.ExternalID != "" && seen[cur.ExternalID]:
			return fmt.Errorf("its name is taken by the group of gid %s", strings.TrimPrefix(cur.ExternalID, groupPrefix))
		default:
			// A group of that name not linked yet (made by a sync before
			// links, or by hand), or linked to a gid that is gone: it
			// becomes this gid's group.
			old := cur.ExternalID
			if cur, err = d.store.UpdateGroup(sys, t, cur.Name, store.GroupUpdate{ExternalID: &id}); err != nil {
				return err
			}
			delete(linked, old)
		}
	}
	if cur.BuiltIn {
		return fmt.Errorf("a system group is named like the built-in group %q", cur.Name)
	}
	changed := false
	for _, l := range want {
		if !slices.Contains(cur.Members, l) {
			if err := d.store.AddGroupMember(sys, t, g.name, l); err != nil {
				return err
			}
			changed = true
		}
	}
	for _, l := range cur.Members {
		if !slices.Contains(want, l) {
			if err := d.store.RemoveGroupMember(sys, t, g.name, l); err != nil {
				return err
			}
			changed = true
		}
	}
	if changed {
		sum.GroupsUpdated++
	}
	return nil
}
