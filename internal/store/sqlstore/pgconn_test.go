package sqlstore_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// A failed connection names its real cause first (issue 19: "tls error:
// server refused TLS connection" came before "database does not exist").
func TestPostgresConnectError(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(postgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/roost_no_such_database"
	q := u.Query()
	q.Del("sslmode") // the default, prefer: TLS is tried first
	u.RawQuery = q.Encode()
	_, err = sqlstore.Open(context.Background(), sqlstore.Options{Driver: "postgres", DSN: u.String(), Blobs: newBlobs(t, t.TempDir())})
	if err == nil {
		t.Fatal("opened a database that does not exist")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, `connect postgres: database "roost_no_such_database" does not exist (SQLSTATE 3D000): create it first`) {
		t.Fatalf("error does not start with the cause:\n%s", msg)
	}
}

// pool_max_conns sets the pool size and is not sent to the server, which
// would refuse an unknown parameter.
func TestPostgresPoolSize(t *testing.T) {
	t.Parallel()
	dsn := newPostgresDB(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db := openPostgres(t, dsn+sep+"pool_max_conns=3", newBlobs(t, t.TempDir()))
	defer db.Close()
	if n := sqlstore.MaxOpenConns(db); n != 3 {
		t.Fatalf("pool of %d connections, want 3", n)
	}
	_, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "postgres", DSN: dsn + sep + "pool_max_conns=0", Blobs: newBlobs(t, t.TempDir())})
	if err == nil || !strings.Contains(err.Error(), "pool_max_conns") {
		t.Fatalf("pool_max_conns=0: %v", err)
	}
}
