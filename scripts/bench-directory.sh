#!/usr/bin/env bash
# Fills a PostgreSQL directory to 10,000 / 100,000 / 1,000,000 users (100 per
# tenant: 100 / 1,000 / 10,000 tenants) with bulk SQL and reports, at each
# size, p50 and p99 of the lookups a login and an LMTP recipient cost:
# the authenticator's by login name and by address (no credential cache,
# argon2id left out), LMTP recipient routing (address -> user and home
# node, as the LMTP server and the sharded frontend resolve it, by a
# user's +tag address and by a 10-member group address) and the IMAP
# frontend's home-node lookup. The same run checks with EXPLAIN ANALYZE
# that every query on these paths uses an index by its leading column.
#
#   PG_URL=postgres://postgres@127.0.0.1:25432/postgres?sslmode=disable scripts/bench-directory.sh
#   SIZES=10000,100000 SAMPLES=1000 scripts/bench-directory.sh
#
# PG_URL is an admin connection to a running PostgreSQL (default: the
# shared test cluster, ROOST_TEST_POSTGRES); a database roost_dirbench_<pid>
# is created in it and dropped at the end. The fill grows one database from
# size to size, runs ANALYZE after each, and runs under nice.
set -euo pipefail
cd "$(dirname "$0")/.."
pg_url=${PG_URL:-${ROOST_TEST_POSTGRES:-postgres://postgres@127.0.0.1:25432/postgres?sslmode=disable}}
sizes=${SIZES:-10000,100000,1000000}
samples=${SAMPLES:-2000}
db=roost_dirbench_$$
db_url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$pg_url" "$db")
psql -q -v ON_ERROR_STOP=1 "$pg_url" -c "CREATE DATABASE $db"
cleanup() { psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; }
trap cleanup EXIT
ROOST_DIRBENCH_DSN=$db_url ROOST_DIRBENCH_SIZES=$sizes ROOST_DIRBENCH_SAMPLES=$samples \
  nice go test -count=1 -run '^TestDirectoryScale$' -v -timeout 0 ./internal/directory |
  sed -n 's/^.*\(filled .*\)$/\1/p; s/^.*RESULT //p; /FAIL\|at [0-9]* users a directory query/p'
echo "postgres: $(psql -Atq "$db_url" -c 'SHOW server_version') shared_buffers=$(psql -Atq "$db_url" -c 'SHOW shared_buffers')"
psql -Atq "$db_url" -c "SELECT 'database size: ' || pg_size_pretty(pg_database_size(current_database()))"
