package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// SyncProgress and SyncSummary are directory's: the admin API reports
// them without naming this backend.
type (
	SyncProgress = directory.SyncProgress
	SyncSummary  = directory.SyncSummary
)

// maxSyncErrors bounds the errors a summary lists (all are logged).
const maxSyncErrors = 20

func fail(s *SyncSummary, err error) {
	s.Failed++
	if len(s.Errors) < maxSyncErrors {
		s.Errors = append(s.Errors, err.Error())
	}
}

// maxNesting bounds how deep nested groups are followed.
const maxNesting = 32

// normDN is the form DNs are compared in: parsed and lower-cased, so
// that "uid=A, ou=People" and "uid=a,ou=people" are one entry.
func normDN(dn string) string {
	if p, err := goldap.ParseDN(dn); err == nil {
		return strings.ToLower(p.String())
	}
	return strings.ToLower(strings.TrimSpace(dn))
}

// searchAll runs a paged search (RFC 2696) of the subtree of the base.
func (d *Directory) searchAll(ctx context.Context, filter string, attrs []string) ([]*goldap.Entry, error) {
	return d.searchUnder(ctx, d.cfg.Base, goldap.ScopeWholeSubtree, filter, attrs)
}

// searchUnder runs a paged search (RFC 2696) under base with scope.
// Callers keep base within the configured base (under).
func (d *Directory) searchUnder(ctx context.Context, base string, scope int, filter string, attrs []string) ([]*goldap.Entry, error) {
	size := d.cfg.PageSize
	if size <= 0 {
		size = 500
	}
	var out []*goldap.Entry
	err := d.with(ctx, func(c *conn) error {
		req := goldap.NewSearchRequest(base, scope, goldap.NeverDerefAliases, 0, 0, false,
			filter, attrs, nil)
		res, err := c.SearchWithPaging(req, uint32(size))
		if err != nil {
			return fmt.Errorf("ldap search %s: %w", filter, err)
		}
		out = res.Entries
		return nil
	})
	return out, err
}

// Sync reads the whole directory and brings Roost's users and groups in
// line with it: users are created, updated and renamed (followed by
// their unique attribute, so a new login keeps the store); Roost users
// linked to an entry that is gone are deleted, their stores kept as
// orphans; groups are created and their members (nested groups
// flattened) set; send-as delegates are applied; contact entries
// become the tenants' contacts (syncContacts). An entry that cannot be
// applied (a login taken by another entry, say) is counted as failed and
// the sync goes on; a directory that cannot be read stops it before
// anything is orphaned.
func (d *Directory) Sync(ctx context.Context, progress func(SyncProgress)) (*SyncSummary, error) {
	if !d.syncing.TryLock() {
		return nil, errors.New("directory sync: another sync is running")
	}
	defer d.syncing.Unlock()
	start := time.Now()
	if progress == nil {
		progress = func(SyncProgress) {}
	}
	sum := &SyncSummary{}
	var err error
	attrs := d.attrs()
	for _, a := range []string{d.cfg.SendAsAttr, d.cfg.MembersRelAttr, d.cfg.SendAsRelAttr, d.adminRelAttr()} {
		if a != "" && !slices.Contains(attrs, a) {
			attrs = append(attrs, a)
		}
	}
	var companies []company
	if d.cfg.CompanyFilter != "" {
		if companies, err = d.companies(ctx); err != nil {
			return nil, fmt.Errorf("directory sync: %w", err)
		}
		if err := d.syncTenants(store.SystemContext(ctx), companies, sum); err != nil {
			return nil, fmt.Errorf("directory sync: %w", err)
		}
	}
	d.companyList = companies
	defer func() { d.companyList = nil }()
	raw, err := d.searchAll(ctx, d.cfg.Filter, attrs)
	if err != nil {
		return nil, fmt.Errorf("directory sync: users: %w", err)
	}
	sum.Users = len(raw)
	progress(SyncProgress{Phase: "users", Total: len(raw)})

	// Users: provisioned one by one; byDN and byRel map the directory's
	// references to Roost logins.
	byDN := map[string]string{}
	rel := map[string]map[string]string{} // attribute → value → login
	relOf := func(attr string) map[string]string {
		if attr == "" || strings.EqualFold(attr, d.cfg.LoginAttr) {
			return nil
		}
		m := rel[strings.ToLower(attr)]
		if m == nil {
			m = map[string]string{}
			rel[strings.ToLower(attr)] = m
		}
		return m
	}
	seen := map[string]bool{}
	type done struct {
		e      *Entry
		login  string
		sendAs []string // the user's send-as list when provisioned
	}
	var users []done
	for i, le := range raw {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("directory sync: %w", err)
		}
		e, err := d.entryOf(le)
		if err != nil {
			d.log.Warn("LDAP sync: entry skipped", "dn", le.DN, "err", err)
			fail(sum, err)
			continue
		}
		seen[e.ID] = true
		e.Tenant = companyOf(companies, le.DN)
		u, act, err := d.provisionAction(ctx, e)
		if err != nil {
			d.log.Warn("LDAP sync: entry not applied", "dn", le.DN, "err", err)
			fail(sum, err)
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
		byDN[normDN(le.DN)] = u.Login
		for _, a := range []string{d.cfg.MembersRelAttr, d.cfg.SendAsRelAttr, d.adminRelAttr()} {
			if m := relOf(a); m != nil {
				for _, v := range le.GetAttributeValues(a) {
					m[strings.ToLower(v)] = u.Login
				}
			}
		}
		users = append(users, done{e: e, login: u.Login, sendAs: u.SendAs})
		if (i+1)%100 == 0 || i+1 == len(raw) {
			progress(SyncProgress{Phase: "users", Done: i + 1, Total: len(raw)})
		}
	}
	logins := map[string]bool{}
	for _, u := range users {
		logins[strings.ToLower(u.login)] = true
	}
	// lookup maps a reference (a DN, or a value of attr) to a login.
	lookup := func(v string, text bool, attr string) (string, bool) {
		if !text {
			l, ok := byDN[normDN(v)]
			return l, ok
		}
		if m := relOf(attr); m != nil {
			l, ok := m[strings.ToLower(v)]
			return l, ok
		}
		if logins[strings.ToLower(v)] {
			return v, true
		}
		return "", false
	}

	// Send-as, once every delegate exists.
	if d.cfg.SendAsAttr != "" {
		sys := store.SystemContext(ctx)
		for i, u := range users {
			var want []string
			for _, v := range u.e.sendAsRaw {
				if l, ok := lookup(v, d.cfg.SendAsText, d.cfg.SendAsRelAttr); ok && !strings.EqualFold(l, u.login) && !slices.Contains(want, l) {
					want = append(want, l)
				}
			}
			// The sync changes send-as only here: the list read when
			// the user was provisioned is current.
			cur := &store.User{SendAs: u.sendAs}
			var upd store.UserUpdate
			for _, l := range want {
				if !slices.ContainsFunc(cur.SendAs, func(x string) bool { return strings.EqualFold(x, l) }) {
					upd.SendAsAdd = append(upd.SendAsAdd, l)
				}
			}
			for _, l := range cur.SendAs {
				if !slices.ContainsFunc(want, func(x string) bool { return strings.EqualFold(x, l) }) {
					upd.SendAsRemove = append(upd.SendAsRemove, l)
				}
			}
			if len(upd.SendAsAdd)+len(upd.SendAsRemove) > 0 {
				if _, err := d.store.UpdateUser(sys, u.login, upd); err != nil {
					fail(sum, fmt.Errorf("send-as of %q: %w", u.login, err))
				}
			}
			if (i+1)%100 == 0 || i+1 == len(users) {
				progress(SyncProgress{Phase: "sendas", Done: i + 1, Total: len(users)})
			}
		}
	}

	if err := d.orphan(ctx, seen, sum, progress); err != nil {
		return nil, err
	}
	// Company privileges and quota, once every user (a company's
	// administrators may be of any company) exists.
	d.applyCompanies(ctx, companies, lookup, sum)
	// Contacts before groups: a static group's members may be contact
	// entries (Kopano: contacts as members of distribution lists).
	var contactsByDN map[string]*store.Contact
	if d.cfg.ContactFilter != "" {
		if contactsByDN, err = d.syncContacts(ctx, seen, sum, progress); err != nil {
			return nil, err
		}
	}
	if d.cfg.GroupFilter != "" || d.cfg.DynGroupFilter != "" {
		if err := d.syncGroups(ctx, lookup, contactsByDN, sum, progress); err != nil {
			return nil, err
		}
	}
	sum.Seconds = time.Since(start).Seconds()
	d.log.Info("LDAP directory sync done", "users", sum.Users, "created", sum.Created, "updated", sum.Updated,
		"renamed", sum.Renamed, "orphaned", sum.Orphaned, "groups", sum.Groups, "contacts", sum.Contacts, "failed", sum.Failed, "seconds", sum.Seconds)
	return sum, nil
}

// orphan deletes the Roost users linked to directory entries the sync
// did not see; their stores become orphans. A directory that returned
// no user at all while Roost has linked users is taken for a
// misconfiguration (a wrong base or filter), not for everyone leaving.
func (d *Directory) orphan(ctx context.Context, seen map[string]bool, sum *SyncSummary, progress func(SyncProgress)) error {
	sys := store.SystemContext(ctx)
	all, err := d.store.ListUsers(sys, "") // every tenant: companies too
	if errors.Is(err, store.ErrNotFound) {
		return nil // the tenant does not exist yet: nobody to orphan
	}
	if err != nil {
		return fmt.Errorf("directory sync: list users: %w", err)
	}
	prefix := d.cfg.UniqueAttr + ":"
	var gone []*store.User
	linked := 0
	for _, u := range all {
		if !strings.HasPrefix(u.ExternalID, prefix) {
			continue // Roost's own users, or of another unique attribute
		}
		linked++
		if !seen[u.ExternalID] {
			gone = append(gone, u)
		}
	}
	if len(seen) == 0 && linked > 0 {
		return fmt.Errorf("directory sync: the directory returned no users under %q with %s, but %d Roost users are linked to it; "+
			"refusing to orphan them all (check ldap_search_base and ldap_user_search_filter)", d.cfg.Base, d.cfg.Filter, linked)
	}
	for i, u := range gone {
		if err := d.store.DeleteUser(sys, u.Login); err != nil {
			fail(sum, fmt.Errorf("orphan %q: %w", u.Login, err))
			continue
		}
		d.log.Info("LDAP sync: user vanished from the directory; its store is an orphan now", "user", u.Login, "id", u.ExternalID)
		sum.Orphaned++
		progress(SyncProgress{Phase: "orphans", Done: i + 1, Total: len(gone)})
	}
	return nil
}

// group is a group entry as the sync reads it.
type group struct {
	tenant     string
	id         string // GroupUniqueAttr:value (dynamic: dynamicID), "" without one
	name, mail string
	kind       store.GroupKind
	hidden     bool
	members    []string // raw values of the members attribute; a dynamic group's logins
}

// syncGroups reads the static (ldap_group_*) and dynamic
// (ldap_dynamicgroup_*) group entries, then applies them: every entry
// is read before anything changes, so the ids of both kinds are known
// when a name is found taken, and a search that finds nothing while
// Roost has groups linked to that kind stops the sync before any group
// is touched. Groups whose entry is gone are deleted last.
//
// contactsByDN (nil when the sync does not read contacts) maps the DNs
// of the contact entries to their contacts: a static group's member DN
// naming one makes that contact a member of the group (the group's
// mail goes to it), and the group's contact members follow the
// directory as its users do. Without contacts read, a group's contact
// members are left as they are.
func (d *Directory) syncGroups(ctx context.Context, lookup func(v string, text bool, attr string) (string, bool),
	contactsByDN map[string]*store.Contact, sum *SyncSummary, progress func(SyncProgress)) error {
	seen := map[string]bool{} // the ids of every group entry read, of both kinds
	var (
		groups  map[string]*group
		order   []string
		dyn     []*group
		nStatic int
		nDyn    int
		err     error
	)
	if d.cfg.GroupFilter != "" {
		if groups, order, nStatic, err = d.readGroups(ctx, seen, sum); err != nil {
			return err
		}
	}
	if d.cfg.DynGroupFilter != "" {
		if dyn, nDyn, err = d.readDynamicGroups(ctx, lookup, seen, sum); err != nil {
			return err
		}
	}
	// Members: users directly, and the members of member groups, each
	// group visited once per group resolved (so cycles stop, and every
	// group of a cycle gets the whole cycle's users); contacts of the
	// group's tenant the same way (nil when contacts are not read).
	resolve := func(g *group) (out, contacts []string) {
		if contactsByDN != nil {
			contacts = []string{}
		}
		have := map[string]bool{}
		visited := map[*group]bool{}
		var walk func(g *group, depth int)
		walk = func(g *group, depth int) {
			if visited[g] || depth > maxNesting {
				return
			}
			visited[g] = true
			for _, v := range g.members {
				if l, ok := lookup(v, d.cfg.MembersText, d.cfg.MembersRelAttr); ok {
					if !have[strings.ToLower(l)] {
						have[strings.ToLower(l)] = true
						out = append(out, l)
					}
					continue
				}
				if !d.cfg.MembersText {
					if sub, ok := groups[normDN(v)]; ok {
						walk(sub, depth+1)
					} else if c, ok := contactsByDN[normDN(v)]; ok && strings.EqualFold(c.Tenant, g.tenant) && !have["\x00"+strings.ToLower(c.Email)] {
						have["\x00"+strings.ToLower(c.Email)] = true
						contacts = append(contacts, c.Email)
					}
				}
			}
		}
		walk(g, 0)
		return out, contacts
	}
	sys := store.SystemContext(ctx)
	linked, err := d.linkedGroups(sys)
	if err != nil {
		return fmt.Errorf("directory sync: groups: %w", err)
	}
	var linkedStatic, linkedDyn int
	for id := range linked {
		if strings.HasPrefix(id, dynamicPrefix) {
			linkedDyn++
		} else {
			linkedStatic++
		}
	}
	// As for users: a directory that answers with no group at all while
	// Roost has groups linked to it is taken for a wrong filter or base,
	// not for every group deleted.
	if d.cfg.GroupFilter != "" && nStatic == 0 && linkedStatic > 0 {
		return fmt.Errorf("directory sync: the group search %s under %q found no entry, but %d Roost groups are linked to the directory; check ldap_group_search_filter and ldap_search_base (nothing deleted)",
			d.cfg.GroupFilter, d.cfg.Base, linkedStatic)
	}
	if d.cfg.DynGroupFilter != "" && nDyn == 0 && linkedDyn > 0 {
		return fmt.Errorf("directory sync: the dynamic group search %s under %q found no entry, but %d Roost dynamic groups are linked to the directory; check ldap_dynamicgroup_search_filter and ldap_search_base (nothing deleted)",
			d.cfg.DynGroupFilter, d.cfg.Base, linkedDyn)
	}
	entries := make([]*group, 0, len(order)+len(dyn))
	for _, dn := range order {
		entries = append(entries, groups[dn])
	}
	d.unblockRenames(sys, append(entries, dyn...), linked)
	total := len(order) + len(dyn)
	step := func(i int) {
		if i%50 == 0 || i == total {
			progress(SyncProgress{Phase: "groups", Done: i, Total: total})
		}
	}
	for i, dn := range order {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("directory sync: %w", err)
		}
		g := groups[dn]
		users, contacts := resolve(g)
		if err := d.applyGroup(sys, g, users, contacts, linked, seen, sum); err != nil {
			d.log.Warn("LDAP sync: group not applied", "dn", dn, "err", err)
			fail(sum, fmt.Errorf("group %q: %w", g.name, err))
		}
		step(i + 1)
	}
	for i, g := range dyn {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("directory sync: %w", err)
		}
		if err := d.applyGroup(sys, g, g.members, nil, linked, seen, sum); err != nil {
			d.log.Warn("LDAP sync: dynamic group not applied", "group", g.name, "err", err)
			fail(sum, fmt.Errorf("dynamic group %q: %w", g.name, err))
		}
		step(len(order) + i + 1)
	}
	// Groups whose entry is gone: deleted, with the ACL entries naming
	// them (as `roost admin group delete`). Their members lose what the
	// group gave them.
	for id, g := range linked {
		if seen[id] {
			continue
		}
		if err := d.store.DeleteGroup(sys, g.Tenant, g.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
			fail(sum, fmt.Errorf("delete group %q: %w", g.Name, err))
			continue
		}
		d.log.Info("LDAP sync: group deleted, its entry is gone from the directory", "group", g.Name, "tenant", g.Tenant, "id", id)
		sum.GroupsDeleted++
	}
	return nil
}

// readGroups reads the static group entries (ldap_group_search_filter):
// the groups by normalised DN, their DNs in the directory's order, and
// how many entries the search found. The ids read go to seen.
func (d *Directory) readGroups(ctx context.Context, seen map[string]bool, sum *SyncSummary) (map[string]*group, []string, int, error) {
	membersAttr := d.cfg.MembersAttr
	if membersAttr == "" {
		membersAttr = "member"
	}
	attrs := []string{d.cfg.GroupNameAttr, membersAttr}
	for _, a := range []string{d.cfg.GroupMailAttr, d.cfg.SecurityAttr, d.cfg.GroupHiddenAttr, d.cfg.GroupUniqueAttr} {
		if a != "" && !slices.Contains(attrs, a) {
			attrs = append(attrs, a)
		}
	}
	raw, err := d.searchAll(ctx, d.cfg.GroupFilter, attrs)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("directory sync: groups: %w", err)
	}
	sum.Groups += len(raw)
	groups := map[string]*group{}
	var order []string
	for _, le := range raw {
		g := &group{name: le.GetAttributeValue(d.cfg.GroupNameAttr), kind: store.GroupSecurity, tenant: d.tenantOf(le.DN)}
		if d.cfg.GroupUniqueAttr != "" {
			if v := le.GetRawAttributeValue(d.cfg.GroupUniqueAttr); len(v) > 0 {
				g.id = externalID(d.cfg.GroupUniqueAttr, v)
				seen[g.id] = true
			}
		}
		if g.name == "" {
			fail(sum, fmt.Errorf("group %q has no %s", le.DN, d.cfg.GroupNameAttr))
			continue
		}
		if d.cfg.GroupMailAttr != "" {
			g.mail = strings.ToLower(le.GetAttributeValue(d.cfg.GroupMailAttr))
		}
		if d.cfg.SecurityAttr != "" {
			v := le.GetAttributeValue(d.cfg.SecurityAttr)
			if d.cfg.SecurityADS {
				// groupType: 0x80000000 is a security group.
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n&0x80000000 == 0 {
					g.kind = store.GroupDistribution
				}
			} else if !truthy(v) {
				g.kind = store.GroupDistribution
			}
		}
		if d.cfg.GroupHiddenAttr != "" {
			g.hidden = truthy(le.GetAttributeValue(d.cfg.GroupHiddenAttr))
		}
		g.members, err = d.members(ctx, le, membersAttr)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("directory sync: members of %q: %w", le.DN, err)
		}
		dn := normDN(le.DN)
		groups[dn] = g
		order = append(order, dn)
	}
	return groups, order, len(raw), nil
}

// dynamicPrefix starts the ExternalID of a dynamic group, so that the
// two kinds of group entries, usually identified by the same attribute
// (entryUUID), are told apart: each kind's search accounts only for its
// own groups (a dynamic group filter that finds nothing must not look
// like every static group deleted, and the other way round).
const dynamicPrefix = "dynamic:"

// dynamicID is the ExternalID of a dynamic group entry.
func dynamicID(attr string, raw []byte) string { return dynamicPrefix + externalID(attr, raw) }

// linkedGroups returns the Roost groups linked to this directory's
// group entries, by ExternalID: static groups (GroupUniqueAttr) when
// the sync reads them (ldap_group_search_filter), and dynamic groups
// (dynamicPrefix + DynGroupUniqueAttr) when it reads those. A kind the
// sync does not read is never deleted.
func (d *Directory) linkedGroups(sys context.Context) (map[string]*store.Group, error) {
	out := map[string]*store.Group{}
	var pfx []string
	if d.cfg.GroupFilter != "" && d.cfg.GroupUniqueAttr != "" {
		pfx = append(pfx, d.cfg.GroupUniqueAttr+":")
	}
	if d.cfg.DynGroupFilter != "" && d.cfg.DynGroupUniqueAttr != "" {
		pfx = append(pfx, dynamicPrefix+d.cfg.DynGroupUniqueAttr+":")
	}
	if len(pfx) == 0 {
		return out, nil
	}
	all, err := d.store.ListGroups(sys, "")
	if err != nil {
		return nil, err
	}
	for _, g := range all {
		if g.BuiltIn {
			continue
		}
		for _, p := range pfx {
			if strings.HasPrefix(g.ExternalID, p) {
				out[g.ExternalID] = g
			}
		}
	}
	return out, nil
}

// unblockRenames lets groups whose entries swapped names (or were renamed
// along a chain, A to B while B to C) be renamed: one after the other,
// each would want a name the other still holds, and the sync would fail
// on them every time. A group to be renamed whose present name another
// renamed group wants first takes a temporary name; applyGroup then
// gives it its new one. Failures are logged: applyGroup reports them.
func (d *Directory) unblockRenames(sys context.Context, entries []*group, linked map[string]*store.Group) {
	key := func(tenant, name string) string { return strings.ToLower(tenant) + "\x00" + strings.ToLower(name) }
	holder := map[string]*store.Group{} // by present name, the groups to rename
	var wanted []string                 // the new names, keyed as holder is
	for _, g := range entries {
		if prev := linked[g.id]; g.id != "" && prev != nil && !strings.EqualFold(prev.Name, g.name) {
			holder[key(prev.Tenant, prev.Name)] = prev
			wanted = append(wanted, key(prev.Tenant, g.name))
		}
	}
	for _, k := range wanted {
		h := holder[k]
		if h == nil {
			continue
		}
		delete(holder, k)
		tmp := "~renaming~" + h.ExternalID
		if _, err := d.store.UpdateGroup(sys, h.Tenant, h.Name, store.GroupUpdate{Name: &tmp}); err != nil {
			d.log.Warn("LDAP sync: group not moved out of the way of a rename", "group", h.Name, "err", err)
			continue
		}
		h.Name = tmp
	}
}

// applyGroup brings the Roost group of g in line with the directory: it
// finds it by its unique attribute (linked, renaming it when the entry's
// name changed) or by name (linking it), or creates it; then sets its
// kind, address, hidden flag and members. seen holds the ids of every
// group entry read.
func (d *Directory) applyGroup(sys context.Context, g *group, want, wantContacts []string, linked map[string]*store.Group, seen map[string]bool, sum *SyncSummary) error {
	t := g.tenant
	var cur *store.Group
	var err error
	if prev := linked[g.id]; g.id != "" && prev != nil {
		// Found by its unique attribute: a rename in the directory
		// renames the Roost group (members, address, ACL entries).
		cur = prev
		if cur.Name != g.name {
			if !strings.EqualFold(cur.Tenant, t) {
				d.log.Warn("LDAP sync: a group moved to another company; moving groups between tenants is not supported",
					"group", cur.Name, "from", cur.Tenant, "to", t)
				t = cur.Tenant
			}
			name := g.name
			if cur, err = d.store.UpdateGroup(sys, t, prev.Name, store.GroupUpdate{Name: &name}); err != nil {
				return fmt.Errorf("rename %q: %w", prev.Name, err)
			}
			d.log.Info("LDAP sync: group renamed", "from", prev.Name, "to", g.name, "tenant", t)
			sum.GroupsRenamed++
			prev.Name = g.name
		}
		t = cur.Tenant
	} else {
		cur, err = d.store.GetGroup(sys, t, g.name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if err := d.ensureTenant(sys, t); err != nil {
				return err
			}
			cur, err = d.store.CreateGroup(sys, t, store.Group{Name: g.name, Email: g.mail, Kind: g.kind, Hidden: g.hidden, ExternalID: g.id})
			if err != nil {
				return err
			}
			sum.GroupsCreated++
		case err != nil:
			return err
		case cur.BuiltIn:
			return fmt.Errorf("a directory group is named like the built-in group %q", cur.Name)
		case g.id == "":
			// No unique attribute configured: matched by name.
		case cur.ExternalID != g.id && cur.ExternalID != "" && seen[cur.ExternalID]:
			return fmt.Errorf("its name is taken by the Roost group of another directory entry (%s)", cur.ExternalID)
		case cur.ExternalID != g.id:
			// A Roost group of that name without a link (made before
			// the link existed, or by hand), or linked to an entry that
			// is gone: it becomes this entry's group.
			old, id := cur.ExternalID, g.id
			if cur, err = d.store.UpdateGroup(sys, t, cur.Name, store.GroupUpdate{ExternalID: &id}); err != nil {
				return err
			}
			delete(linked, old)
		}
	}
	if cur.BuiltIn {
		return fmt.Errorf("a directory group is named like the built-in group %q", cur.Name)
	}
	// Kind, address and hidden flag follow the directory.
	var up store.GroupUpdate
	if cur.Kind != g.kind {
		up.Kind = &g.kind
	}
	if cur.Hidden != g.hidden {
		up.Hidden = &g.hidden
	}
	if !strings.EqualFold(cur.Email, g.mail) {
		up.Email = &g.mail
	}
	if up.Kind != nil || up.Hidden != nil || up.Email != nil {
		if cur, err = d.store.UpdateGroup(sys, t, cur.Name, up); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		d.log.Info("LDAP sync: group's kind, address or hidden flag changed", "group", cur.Name, "kind", g.kind, "mail", g.mail, "hidden", g.hidden)
	}
	changed := false
	set := func(list []string) map[string]bool {
		m := make(map[string]bool, len(list))
		for _, l := range list {
			m[strings.ToLower(l)] = true
		}
		return m
	}
	have, wanted := set(cur.Members), set(want)
	for _, l := range want {
		if !have[strings.ToLower(l)] {
			if err := d.store.AddGroupMember(sys, t, g.name, l); err != nil {
				return fmt.Errorf("add %q: %w", l, err)
			}
			changed = true
		}
	}
	for _, l := range cur.Members {
		if !wanted[strings.ToLower(l)] {
			if err := d.store.RemoveGroupMember(sys, t, g.name, l); err != nil {
				return fmt.Errorf("remove %q: %w", l, err)
			}
			changed = true
		}
	}
	// Contact members, when the sync reads contacts (wantContacts not
	// nil): as the directory has them.
	if wantContacts != nil {
		have, wanted := set(cur.Contacts), set(wantContacts)
		for _, c := range wantContacts {
			if !have[strings.ToLower(c)] {
				if err := d.store.AddGroupContact(sys, t, g.name, c); err != nil {
					return fmt.Errorf("add contact %q: %w", c, err)
				}
				changed = true
			}
		}
		for _, c := range cur.Contacts {
			if !wanted[strings.ToLower(c)] {
				if err := d.store.RemoveGroupContact(sys, t, g.name, c); err != nil {
					return fmt.Errorf("remove contact %q: %w", c, err)
				}
				changed = true
			}
		}
	}
	if changed {
		sum.GroupsUpdated++
	}
	return nil
}

// members returns the values of a group's members attribute, following
// Active Directory's range retrieval: a large group answers
// "member;range=0-1499" and the rest is read 1500 at a time by further
// base searches ("member;range=1500-*") until a range ends in "*".
func (d *Directory) members(ctx context.Context, le *goldap.Entry, attr string) ([]string, error) {
	out := le.GetAttributeValues(attr)
	next := -1
	for _, a := range le.Attributes {
		if lo, hi, ok := rangeOf(a.Name, attr); ok && lo == 0 {
			out = append(out, a.Values...)
			if hi >= 0 {
				next = hi + 1
			}
		}
	}
	for guard := 0; next >= 0 && guard < 10000; guard++ {
		want := fmt.Sprintf("%s;range=%d-*", attr, next)
		var got *goldap.Entry
		err := d.with(ctx, func(c *conn) error {
			res, err := c.Search(goldap.NewSearchRequest(le.DN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
				"(objectClass=*)", []string{want}, nil))
			if err != nil {
				return err
			}
			if len(res.Entries) == 1 {
				got = res.Entries[0]
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("range retrieval of %s: %w", want, err)
		}
		next = -1
		if got == nil {
			break
		}
		for _, a := range got.Attributes {
			if lo, hi, ok := rangeOf(a.Name, attr); ok {
				out = append(out, a.Values...)
				if hi >= 0 && hi >= lo {
					next = hi + 1
				}
			}
		}
	}
	return out, nil
}

// rangeOf parses "member;range=LO-HI" (HI "*" is -1: the last range).
func rangeOf(name, attr string) (lo, hi int, ok bool) {
	pfx := strings.ToLower(attr) + ";range="
	if !strings.HasPrefix(strings.ToLower(name), pfx) {
		return 0, 0, false
	}
	a, b, found := strings.Cut(name[len(pfx):], "-")
	if !found {
		return 0, 0, false
	}
	lo, err := strconv.Atoi(a)
	if err != nil {
		return 0, 0, false
	}
	if b == "*" {
		return lo, -1, true
	}
	hi, err = strconv.Atoi(b)
	if err != nil {
		return 0, 0, false
	}
	return lo, hi, true
}

// truthy reads a boolean attribute as Kopano does.
func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes":
		return true
	}
	return false
}

// readDynamicGroups reads the dynamic group entries
// (ldap_dynamicgroup_*): each is a group whose members are the users
// its filter selects, within the user filter, as the directory has them
// now (one search per group). It returns the groups and how many entries
// the search found; the ids read go to seen, those of entries skipped
// for a bad filter too, so that their Roost groups stay as they are.
func (d *Directory) readDynamicGroups(ctx context.Context, lookup func(v string, text bool, attr string) (string, bool),
	seen map[string]bool, sum *SyncSummary) ([]*group, int, error) {
	attrs := []string{d.cfg.DynGroupNameAttr, d.cfg.DynGroupFilterAttr}
	for _, a := range []string{d.cfg.DynGroupUniqueAttr, d.cfg.DynGroupBaseAttr} {
		if a != "" && !slices.Contains(attrs, a) {
			attrs = append(attrs, a)
		}
	}
	raw, err := d.searchAll(ctx, d.cfg.DynGroupFilter, attrs)
	if err != nil {
		return nil, 0, fmt.Errorf("directory sync: dynamic groups: %w", err)
	}
	var out []*group
	for _, le := range raw {
		if err := ctx.Err(); err != nil {
			return nil, 0, fmt.Errorf("directory sync: %w", err)
		}
		g := &group{name: le.GetAttributeValue(d.cfg.DynGroupNameAttr), kind: store.GroupSecurity, tenant: d.tenantOf(le.DN)}
		if d.cfg.DynGroupUniqueAttr != "" {
			if v := le.GetRawAttributeValue(d.cfg.DynGroupUniqueAttr); len(v) > 0 {
				g.id = dynamicID(d.cfg.DynGroupUniqueAttr, v)
				seen[g.id] = true
			}
		}
		f := strings.TrimSpace(le.GetAttributeValue(d.cfg.DynGroupFilterAttr))
		if g.name == "" || f == "" {
			fail(sum, fmt.Errorf("dynamic group %q has no %s or no %s", le.DN, d.cfg.DynGroupNameAttr, d.cfg.DynGroupFilterAttr))
			continue
		}
		if _, err := goldap.CompileFilter(f); err != nil {
			fail(sum, fmt.Errorf("dynamic group %q: filter %q: %w", le.DN, f, err))
			continue
		}
		// A company's dynamic group selects among the company's
		// entries, as in Kopano: its subtree is the default base.
		base := d.cfg.Base
		if c := companyEntryOf(d.companyList, le.DN); c != nil {
			base = c.e.DN
		}
		if d.cfg.DynGroupBaseAttr != "" {
			if b := strings.TrimSpace(le.GetAttributeValue(d.cfg.DynGroupBaseAttr)); b != "" {
				// The entry's own base (Kopano's kopanoBase) narrows
				// the search; it must not widen what Roost reads
				// beyond ldap_search_base, whoever may write the
				// group entry.
				if !under(b, d.cfg.Base) {
					d.log.Warn("LDAP sync: dynamic group skipped, its search base is outside ldap_search_base",
						"dn", le.DN, "base", b, "ldap_search_base", d.cfg.Base)
					fail(sum, fmt.Errorf("dynamic group %q: search base %q is not within ldap_search_base %q", le.DN, b, d.cfg.Base))
					continue
				}
				base = b
			}
		}
		entries, err := d.searchUnder(ctx, base, goldap.ScopeWholeSubtree, "(&"+d.cfg.Filter+f+")", []string{"1.1"}) // DNs only (RFC 4511 §4.5.1.8)
		if base != d.cfg.Base && goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			// A base that does not exist (a typo, an OU removed):
			// skipped like a bad filter, not emptied.
			d.log.Warn("LDAP sync: dynamic group skipped, its search base does not exist", "dn", le.DN, "base", base)
			fail(sum, fmt.Errorf("dynamic group %q: search base %q does not exist", le.DN, base))
			continue
		}
		sum.Groups++
		if err != nil {
			return nil, 0, fmt.Errorf("directory sync: members of dynamic group %q: %w", le.DN, err)
		}
		for _, m := range entries {
			if !strings.EqualFold(d.tenantOf(m.DN), g.tenant) {
				// A group holds users of its own tenant only (the
				// store refuses others): a filter or base reaching
				// into another company, or into a company below this
				// one, does not take its users.
				continue
			}
			if l, ok := lookup(m.DN, false, ""); ok {
				g.members = append(g.members, l) // logins, not raw values
			}
		}
		out = append(out, g)
	}
	return out, len(raw), nil
}

// under reports whether dn is base or an entry below it. A dn that
// does not parse is not.
func under(dn, base string) bool {
	p, err := goldap.ParseDN(dn)
	if err != nil {
		return false
	}
	b, err := goldap.ParseDN(base)
	if err != nil {
		return false
	}
	return b.EqualFold(p) || b.AncestorOfFold(p)
}
