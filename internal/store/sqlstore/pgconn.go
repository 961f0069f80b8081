package sqlstore

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// defaultPoolSize is how many connections Roost opens to PostgreSQL at
// most unless the DSN's pool_max_conns says otherwise.
const defaultPoolSize = 16

// poolSize takes Roost's pool parameter, pool_max_conns (the name pgx's
// own pool uses), out of a postgres:// DSN: PostgreSQL would refuse it as
// an unknown run-time parameter.
func poolSize(dsn string) (string, int, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		// A keyword/value DSN ("host=… dbname=…"): no pool parameter.
		return dsn, defaultPoolSize, nil
	}
	q := u.Query()
	v := q.Get("pool_max_conns")
	if v == "" {
		return dsn, defaultPoolSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		return "", 0, fmt.Errorf("database: pool_max_conns=%q: want a number of connections from 1 to 10000", v)
	}
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}

// pgHints say what to do about the connection failures an administrator
// meets first, by SQLSTATE.
var pgHints = map[string]string{
	"3D000": "create it first: createdb -O ROLE DBNAME (docs/operations.md, PostgreSQL)",
	"28000": "check the role name in the connection string and the server's pg_hba.conf",
	"28P01": "check the password in the connection string",
	"42501": "the role lacks a privilege it needs: make it the owner of the database",
	"53300": "the server has no connection left: raise its max_connections or lower pool_max_conns",
}

// pgConnectError puts the real cause of a failed connection first. pgx
// tries TLS first under the default sslmode=prefer and reports every
// attempt, so that "tls error: server refused TLS connection" used to come
// before, say, "database does not exist".
func pgConnectError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		cause := fmt.Sprintf("%s (SQLSTATE %s)", pe.Message, pe.Code)
		if h := pgHints[pe.Code]; h != "" {
			cause += ": " + h
		}
		return fmt.Errorf("connect postgres: %s\n\tevery attempt: %w", cause, err)
	}
	if strings.Contains(err.Error(), "server refused TLS connection") {
		return fmt.Errorf("connect postgres: the server does not offer TLS, which sslmode asks for: enable ssl on it, "+
			"or use sslmode=disable on a trusted network (docs/operations.md, PostgreSQL): %w", err)
	}
	return fmt.Errorf("connect postgres: %w", err)
}
