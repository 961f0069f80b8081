package directory_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestDirectoryScale fills a PostgreSQL directory with users, 100 per
// tenant, through bulk SQL (every user shares one precomputed password
// hash), and measures at each size the lookups a login and an LMTP
// recipient cost: the authenticator's by login name and by address (no
// credential cache, the argon2id check left out so that the figure is
// the directory's), and recipient routing (Store.Recipients and the home
// node the sharded frontend routes to, as shardLMTP does). It also checks
// with EXPLAIN that every query on these paths can use an index.
//
// On the test PostgreSQL (ROOST_TEST_BACKEND=postgres) it runs 2,000
// users. scripts/bench-directory.sh runs 10,000 / 100,000 / 1,000,000:
//
//	ROOST_DIRBENCH_DSN=postgres://…/roost_dirbench ROOST_DIRBENCH_SIZES=10000,100000,1000000 \
//	  go test -run TestDirectoryScale -v -timeout 0 ./internal/directory
func TestDirectoryScale(t *testing.T) {
	dsn := os.Getenv("ROOST_DIRBENCH_DSN")
	sizes := []int{2000}
	if s := os.Getenv("ROOST_DIRBENCH_SIZES"); s != "" {
		sizes = nil
		for f := range strings.SplitSeq(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 100 || n%100 != 0 {
				t.Fatalf("ROOST_DIRBENCH_SIZES: %q is not a multiple of 100", f)
			}
			sizes = append(sizes, n)
		}
		slices.Sort(sizes)
	}
	samples := 2000
	if s := os.Getenv("ROOST_DIRBENCH_SAMPLES"); s != "" {
		samples, _ = strconv.Atoi(s)
	}
	if dsn == "" {
		if testenv.Backend() != testenv.Postgres {
			t.Skip("bulk fill is PostgreSQL SQL: run with ROOST_TEST_BACKEND=postgres or ROOST_DIRBENCH_DSN")
		}
		dsn = testenv.NewPostgresSchema(t)
		samples = 300
	}
	ctx := context.Background()
	blobs, err := fs.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(ctx, sqlstore.Options{Driver: "postgres", DSN: dsn, Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)

	hash, err := auth.HashPasswordWith("pw", auth.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	a := &directory.Authenticator{Store: db,
		// The argon2id check is the same at every size and
		// BenchmarkAuthenticate measures it; here it is a string compare.
		CheckPassword: func(enc, pw string) error {
			if enc != hash || pw != "pw" {
				return auth.ErrMismatch
			}
			return nil
		},
	}
	sys := store.SystemContext(ctx)
	filled := 0
	for _, n := range sizes {
		start := time.Now()
		if err := fillDirectory(ctx, raw, hash, filled, n); err != nil {
			t.Fatal(err)
		}
		t.Logf("filled %d users in %d tenants (+%d users in %v)", n, n/100, n-filled, time.Since(start).Round(time.Millisecond))
		filled = n
		explainDirectory(t, ctx, raw, n)

		r := rand.New(rand.NewPCG(uint64(n), 1))
		pick := func() (int, string) { g := 1 + r.IntN(n); return g, fmt.Sprintf("t%05d", (g-1)/100) }
		measure := func(name string, op func() error) {
			d := make([]time.Duration, 0, samples)
			stmts := db.Statements()
			for range samples {
				s := time.Now()
				if err := op(); err != nil {
					t.Fatalf("%s at %d users: %v", name, n, err)
				}
				d = append(d, time.Since(s))
			}
			stmts = db.Statements() - stmts
			slices.Sort(d)
			q := func(p float64) string {
				return fmt.Sprintf("%.3f", float64(d[int(p*float64(len(d)-1))].Microseconds())/1000)
			}
			t.Logf("RESULT users=%d tenants=%d op=%s samples=%d p50_ms=%s p99_ms=%s sql_per_op=%.1f",
				n, n/100, name, samples, q(0.5), q(0.99), float64(stmts)/float64(samples))
		}
		measure("login-by-name", func() error {
			g, tn := pick()
			login := fmt.Sprintf("u%d@%s", g, tn)
			p, err := a.Authenticate(ctx, login, "pw", ipB, "imap")
			if err != nil {
				return err
			}
			if p.Login != login || p.Tenant != tn {
				return fmt.Errorf("login %s: got %s in %s", login, p.Login, p.Tenant)
			}
			return nil
		})
		measure("login-by-address", func() error {
			g, tn := pick()
			p, err := a.Authenticate(ctx, fmt.Sprintf("a%d@%s.example", g, tn), "pw", ipB, "imap")
			if err != nil {
				return err
			}
			if want := fmt.Sprintf("u%d@%s", g, tn); p.Login != want {
				return fmt.Errorf("alias of %s: got %s", want, p.Login)
			}
			return nil
		})
		measure("lmtp-route", func() error {
			g, tn := pick()
			users, err := db.Recipients(sys, fmt.Sprintf("u%d+tag@%s.example", g, tn))
			if err != nil {
				return err
			}
			if len(users) != 1 || users[0].Login != fmt.Sprintf("u%d@%s", g, tn) {
				return fmt.Errorf("recipient u%d: got %d users", g, len(users))
			}
			if want := fmt.Sprintf("node-%d", g%4); users[0].HomeNode != want {
				return fmt.Errorf("recipient u%d: home node %q, want %q", g, users[0].HomeNode, want)
			}
			return nil
		})
		measure("lmtp-route-group", func() error {
			_, tn := pick()
			users, err := db.Recipients(sys, "staff@"+tn+".example")
			if err != nil {
				return err
			}
			if len(users) != 10 {
				return fmt.Errorf("group staff@%s: %d members, want 10", tn, len(users))
			}
			for _, u := range users {
				if !slices.Contains(u.Groups, "staff") || len(u.Aliases) != 1 {
					return fmt.Errorf("group staff@%s: member %s has groups %v, aliases %v", tn, u.Login, u.Groups, u.Aliases)
				}
			}
			return nil
		})
		measure("imap-frontend-route", func() error {
			// The sharded frontend's homeEndpoint: the user's row.
			g, tn := pick()
			u, err := db.GetUser(sys, fmt.Sprintf("u%d@%s", g, tn))
			if err != nil {
				return err
			}
			if u.HomeNode == "" {
				return fmt.Errorf("u%d has no home node", g)
			}
			return nil
		})
	}
}

// fillDirectory adds users from+1..to (tenants t00000… of 100 users each)
// with bulk SQL: per user its primary address, an alias, a home node of
// four; per tenant the builtin Everyone group, a group "staff" of its
// first ten users with an address, and its first user as its admin.
func fillDirectory(ctx context.Context, db *sql.DB, hash string, from, to int) error {
	now := time.Now().UnixMicro()
	const step = 100_000
	for lo := from; lo < to; lo += step {
		hi := min(lo+step, to)
		t0, t1 := lo/100, hi/100-1
		stmts := []string{
			`INSERT INTO tenants (name, name_lc, created)
			SELECT 't'||lpad(k::text, 5, '0'), 't'||lpad(k::text, 5, '0'), $1 FROM generate_series($2::int, $3::int) k`,
			`INSERT INTO groups (tenant_id, name, name_lc, kind, builtin)
			SELECT id, 'Everyone', 'everyone', 'security', 1 FROM tenants WHERE name_lc BETWEEN 't'||lpad($2::int::text, 5, '0') AND 't'||lpad($3::int::text, 5, '0')`,
			`INSERT INTO groups (tenant_id, name, name_lc, email, kind)
			SELECT id, 'staff', 'staff', 'staff@'||name_lc||'.example', 'distribution' FROM tenants WHERE name_lc BETWEEN 't'||lpad($2::int::text, 5, '0') AND 't'||lpad($3::int::text, 5, '0')`,
			`INSERT INTO addresses (address, group_id)
			SELECT g.email, g.id FROM groups g JOIN tenants t ON t.id = g.tenant_id
			WHERE g.name_lc = 'staff' AND t.name_lc BETWEEN 't'||lpad($2::int::text, 5, '0') AND 't'||lpad($3::int::text, 5, '0')`,
		}
		for _, q := range stmts {
			args := []any{now, t0, t1}
			if !strings.Contains(q, "$1") {
				args = args[1:]
				q = strings.NewReplacer("$2", "$1", "$3", "$2").Replace(q)
			}
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("fill tenants %d-%d: %w", t0, t1, err)
			}
		}
		var maxID int64 // the users before this chunk
		if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM users`).Scan(&maxID); err != nil {
			return err
		}
		users := `INSERT INTO users (tenant_id, login, login_lc, email, full_name, home_node, password_hash, created)
			SELECT t.id, 'u'||g||'@'||t.name_lc, 'u'||g||'@'||t.name_lc, 'u'||g||'@'||t.name_lc||'.example', 'User '||g,
				'node-'||(g % 4), $1, $2
			FROM generate_series($3::int, $4::int) g JOIN tenants t ON t.name_lc = 't'||lpad(((g-1)/100)::text, 5, '0')`
		if _, err := db.ExecContext(ctx, users, hash, now, lo+1, hi); err != nil {
			return fmt.Errorf("fill users %d-%d: %w", lo+1, hi, err)
		}
		rest := []string{
			`INSERT INTO addresses (address, user_id, is_primary)
			SELECT u.email, u.id, 1 FROM users u WHERE u.id > $1 AND u.login_lc LIKE 'u%'`,
			`INSERT INTO addresses (address, user_id)
			SELECT 'a'||substr(u.login_lc, 2, strpos(u.login_lc, '@')-2)||'@'||split_part(u.login_lc, '@', 2)||'.example', u.id
			FROM users u WHERE u.id > $1 AND u.login_lc LIKE 'u%'`,
			`INSERT INTO group_members (group_id, user_id)
			SELECT g.id, u.id FROM users u JOIN groups g ON g.tenant_id = u.tenant_id AND g.name_lc = 'staff'
			WHERE u.id > $1 AND u.login_lc LIKE 'u%' AND (substr(u.login_lc, 2, strpos(u.login_lc, '@')-2)::int - 1) % 100 < 10`,
			`INSERT INTO tenant_admins (tenant_id, user_id)
			SELECT u.tenant_id, u.id FROM users u
			WHERE u.id > $1 AND u.login_lc LIKE 'u%' AND (substr(u.login_lc, 2, strpos(u.login_lc, '@')-2)::int - 1) % 100 = 0`,
		}
		for _, q := range rest {
			if _, err := db.ExecContext(ctx, q, maxID); err != nil {
				return fmt.Errorf("fill users %d-%d: %w", lo+1, hi, err)
			}
		}
	}
	_, err := db.ExecContext(ctx, `ANALYZE`)
	return err
}

// removedByFilter matches a plan node that read and discarded more than
// a handful of rows: an index that does not serve the query's condition.
var (
	removedByFilter = regexp.MustCompile(`Rows Removed by Filter: ([1-9][0-9]+)`)
	indexUsed       = regexp.MustCompile(`Index (?:Only )?Scan using (\S+) on|Bitmap Index Scan on (\S+)`)
	indexCond       = regexp.MustCompile(`Index Cond: \(+(?:\w+\.)?(\w+) =`)
)

// explainDirectory fails when a query of the login or recipient path
// cannot use an index: with sequential scans disabled, PostgreSQL still
// plans one only when no index serves the query; and an index scan that
// filters out ten rows or more (a scan of a whole index whose leading
// column the query does not name) counts as none.
func explainDirectory(t *testing.T, ctx context.Context, db *sql.DB, n int) {
	t.Helper()
	g := n / 2
	tn := fmt.Sprintf("t%05d", (g-1)/100)
	login := fmt.Sprintf("u%d@%s", g, tn)
	var uid, gid int64
	if err := db.QueryRowContext(ctx, `SELECT id FROM users WHERE login_lc = $1`, login).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT group_id FROM addresses WHERE address = $1`, "staff@"+tn+".example").Scan(&gid); err != nil {
		t.Fatal(err)
	}
	// The queries of sqlstore's userByLogin, userByID, fillUserOnce,
	// UserByAddress, Recipients (groupMembers, fillUsers) and Principal.
	queries := []struct {
		q    string
		args []any
	}{
		{`SELECT u.id, t.name FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.login_lc = $1`, []any{login}},
		{`SELECT u.id, t.name FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1`, []any{uid}},
		{`SELECT 1 AS k, address AS v, address AS o FROM addresses WHERE user_id = $1 AND is_primary = 0
UNION ALL SELECT 2, x.login, x.login FROM sendas s JOIN users x ON x.id = s.delegate_id WHERE s.user_id = $1
UNION ALL SELECT 3, g.name, g.name_lc FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = $1
ORDER BY k, o`, []any{uid}},
		{`SELECT user_id FROM addresses WHERE address = $1 AND user_id <> 0`, []any{"a1@t00000.example"}},
		{`SELECT user_id, group_id FROM addresses WHERE address = $1`, []any{"u1@t00000.example"}},
		{`SELECT u.id, t.name FROM users u JOIN tenants t ON t.id = u.tenant_id JOIN group_members m ON m.user_id = u.id WHERE m.group_id = $1 ORDER BY u.id`, []any{gid}},
		{`SELECT user_id AS id, 1 AS k, address AS v, address AS o FROM addresses WHERE user_id IN ($1, $2, $3) AND is_primary = 0
UNION ALL SELECT s.user_id, 2, x.login, x.login FROM sendas s JOIN users x ON x.id = s.delegate_id WHERE s.user_id IN ($1, $2, $3)
UNION ALL SELECT m.user_id, 3, g.name, g.name_lc FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id IN ($1, $2, $3)
ORDER BY id, k, o`, []any{uid, uid - 1, uid - 2}},
		{`SELECT tenant_id FROM tenant_admins WHERE user_id = $1`, []any{uid}},
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, `RESET enable_seqscan`)
	for _, q := range queries {
		rows, err := conn.QueryContext(ctx, `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) `+q.q, q.args...)
		if err != nil {
			t.Fatalf("explain %s: %v", q.q, err)
		}
		var plan []string
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, l)
		}
		rows.Close()
		p := strings.Join(plan, "\n")
		if strings.Contains(p, "Seq Scan") || removedByFilter.MatchString(p) {
			t.Errorf("at %d users a directory query cannot use an index (or reads rows it does not need):\n%s\n%s", n, q.q, p)
		}
		// An index whose leading column the condition does not name is
		// scanned whole (or skip-scanned, PostgreSQL 18): a cost that
		// grows with the table.
		idx := ""
		for _, l := range plan {
			if m := indexUsed.FindStringSubmatch(l); m != nil {
				idx = m[1] + m[2]
				continue
			}
			m := indexCond.FindStringSubmatch(l)
			if m == nil || idx == "" {
				continue
			}
			var lead string
			if err := conn.QueryRowContext(ctx, `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
				WHERE i.indexrelid = $1::regclass`, idx).Scan(&lead); err != nil {
				t.Fatalf("leading column of index %s: %v", idx, err)
			}
			if m[1] != lead {
				t.Errorf("at %d users a directory query scans the whole index %s (leading column %s, condition on %s):\n%s\n%s", n, idx, lead, m[1], q.q, p)
			}
			idx = ""
		}
	}
}
