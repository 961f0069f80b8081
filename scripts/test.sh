#!/usr/bin/env bash
# Runs Roost's whole test suite on a Debian machine: installs what the tests
# need (Go modules through the module proxy, Debian packages through apt),
# starts a throwaway PostgreSQL cluster on 127.0.0.1, runs `go test -race`
# over every package against SQLite and PostgreSQL, then the protocol
# adapters' suites once more with their stores on PostgreSQL
# (ROOST_TEST_BACKEND=postgres), and stops the cluster.
#
#   scripts/test.sh            the whole suite
#   scripts/test.sh -run X     extra arguments go to `go test`
#
# Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v go >/dev/null || { echo "Go 1.26 is required (https://go.dev/dl)"; exit 1; }
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || need_pkgs+=(postgresql)
command -v gcc >/dev/null || need_pkgs+=(gcc)  # go test -race needs cgo
# The real clients and peers the tests drive (each test fails, rather than
# skips, without its tool: ROOST_REQUIRE_CLIENTS below).
need() { command -v "$1" >/dev/null || need_pkgs+=("$2"); }
need mbsync isync                   # IMAP sync, both ways
need offlineimap offlineimap        # IMAP sync, 1,000 messages
need fetchmail fetchmail            # POP3
need curl curl                      # imap:// and pop3:// URLs
need python3 python3                # imaplib, smtplib (AUTH OAUTHBEARER), caldav discovery
need dovecot dovecot-imapd          # differential IMAP tests
need swaks swaks                    # SMTP submission
need postfix postfix                # the relay the outbound queue sends through
need sieve-connect sieve-connect    # ManageSieve
need litmus litmus                  # WebDAV suites
need vdirsyncer vdirsyncer          # CalDAV/CardDAV two-way sync
need khal khal                      # expanded recurrences
need xml2wbxml libwbxml2-utils      # the independent WBXML codec of the ActiveSync tests
[ -x /usr/sbin/nsd ] || need_pkgs+=(nsd)          # a real DNS server for domain check
need openssl openssl                # signed .mobileconfig verification
need php php-cli                    # Horde's autoconfig consumer
need promtool prometheus            # checks the /metrics exposition
need node nodejs                    # runs jmap-jam and jmap-client-ts, JMAP clients from npm
need npm npm
need chromium chromium              # the web client's browser tests (playwright-core)
need slapd slapd                    # a real OpenLDAP for the LDAP backend
need ldapadd ldap-utils
need haproxy haproxy                # the load balancer in front of cluster nodes
need pdftotext poppler-utils        # PDF attachment text for the search index
need bwrap bubblewrap               # the sandbox pdftotext runs in
need mkpasswd whois                 # crypt(3) hashes (yescrypt, SHA-512) for the Unix backend
need rspamd rspamd                  # spam verdict (/checkv2) and learning (/learnspam, /learnham)
need redis-server redis-server      # rspamd's Bayes statistics for the learning test
need krb5kdc krb5-kdc               # a real KDC for Kerberos sign-in (SPNEGO, SASL GSSAPI)
need kadmin.local krb5-admin-server # its realm's principals and keytabs
need kinit krb5-user                # tickets for the test users
[ -f /usr/share/php/Horde/Mail/Autoconfig/Driver/Thunderbird.php ] || need_pkgs+=(php-horde-mail-autoconfig)
[ -x /usr/bin/python3 ] || need_pkgs+=(python3)  # imaplib, poplib, smtplib
/usr/bin/python3 -c 'import caldav' 2>/dev/null || need_pkgs+=(python3-caldav)
/usr/bin/python3 -c 'import gssapi' 2>/dev/null || need_pkgs+=(python3-gssapi)  # SASL GSSAPI clients
/usr/bin/python3 -c 'import radicale' 2>/dev/null || need_pkgs+=(radicale)  # CalDAV differential tests
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "== installing ${need_pkgs[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  # Debian starts services of its own; the tests start their own instances.
  $SUDO systemctl stop postgresql postfix dovecot nsd prometheus slapd rspamd redis-server 2>/dev/null || true
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

echo "== downloading Go modules"
go mod download

# jmap-jam (npm), the JMAP client the JMAP tests drive, installed once.
jam_dir="${XDG_CACHE_HOME:-$HOME/.cache}/roost-test/jmap-jam-0.13.1"
if [ ! -d "$jam_dir/node_modules/jmap-jam" ]; then
  echo "== installing jmap-jam from npm"
  mkdir -p "$jam_dir"
  npm install --silent --no-audit --no-fund --prefix "$jam_dir" jmap-jam@0.13.1 >/dev/null
fi
export ROOST_JMAP_JAM_DIR="$jam_dir"

# jmap-client-ts (npm), the second JMAP client (HTTP Basic), installed once.
jmap_client_ts_dir="${XDG_CACHE_HOME:-$HOME/.cache}/roost-test/jmap-client-ts-1.0.0"
if [ ! -d "$jmap_client_ts_dir/node_modules/jmap-client-ts" ]; then
  echo "== installing jmap-client-ts from npm"
  mkdir -p "$jmap_client_ts_dir"
  npm install --silent --no-audit --no-fund --prefix "$jmap_client_ts_dir" jmap-client-ts@1.0.0 >/dev/null
fi
export ROOST_JMAP_CLIENT_TS_DIR="$jmap_client_ts_dir"

# The web client: install its pinned packages, rebuild it and fail when the
# committed build (web/dist, embedded into the binary) is not what the
# sources build to, or when the initial JavaScript passes its budget
# (build.mjs exits non-zero over 150 KB gzipped). playwright-core, for
# the browser tests, comes with npm ci.
echo "== web client: npm ci, rebuild, compare with web/dist"
(cd web && npm ci --silent --no-audit --no-fund >/dev/null && node build.mjs)
if [ -n "$(git status --porcelain -- web/dist)" ]; then
  git status --short -- web/dist
  echo "web/dist differs from a fresh build of web/src: run (cd web && npm ci && node build.mjs) and commit web/dist"
  exit 1
fi
export ROOST_TEST_ARTIFACTS="${ROOST_TEST_ARTIFACTS:-$PWD/test-artifacts}"

# oidc-provider (npm), the independent OpenID provider the relying party
# tests sign in through (internal/app/oidc_test.go), installed once.
# (Dex was tried first: its module has a replace directive for its own
# api/v2, so `go install` refuses it, and the published api/v2 v2.4.0
# lacks types its current commit needs.)
oidcp_dir="${XDG_CACHE_HOME:-$HOME/.cache}/roost-test/oidc-provider-9.13.3"
if [ ! -d "$oidcp_dir/node_modules/oidc-provider" ]; then
  echo "== installing oidc-provider from npm"
  mkdir -p "$oidcp_dir"
  npm install --silent --no-audit --no-fund --prefix "$oidcp_dir" oidc-provider@9.13.3 >/dev/null
fi
export ROOST_OIDC_PROVIDER_DIR="$oidcp_dir"

# openid-client (npm), the independent relying party of Roost's own
# OpenID provider (internal/app/oidcprovider_test.go), installed once.
oidcc_dir="${XDG_CACHE_HOME:-$HOME/.cache}/roost-test/openid-client-6.9.1"
if [ ! -d "$oidcc_dir/node_modules/openid-client" ]; then
  echo "== installing openid-client from npm"
  mkdir -p "$oidcc_dir"
  npm install --silent --no-audit --no-fund --prefix "$oidcc_dir" openid-client@6.9.1 >/dev/null
fi
export ROOST_OPENID_CLIENT_DIR="$oidcc_dir"

# versitygw, the real S3 server the S3 blob store and cluster tests start
# (internal/testenv/s3.go finds it here), installed once.
gobin="${XDG_CACHE_HOME:-$HOME/.cache}/roost-test/bin"
if [ ! -x "$gobin/versitygw" ] || ! go version -m "$gobin/versitygw" 2>/dev/null | grep -q "versitygw.*v1.8.0"; then
  echo "== installing versitygw v1.8.0 (go install)"
  GOBIN="$gobin" go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi
export ROOST_VERSITYGW="$gobin/versitygw"

# A throwaway PostgreSQL cluster. PostgreSQL refuses to run as root, so as
# root it runs as the postgres user that Debian's package creates.
pgdir=$(mktemp -d /tmp/roost-pg.XXXXXX)
chmod 755 "$pgdir"
pg_user=postgres
if [ "$(id -u)" -eq 0 ] && ! id "$pg_user" >/dev/null 2>&1; then
  pg_user=roost-test
  id "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user"
fi
run_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u "$pg_user" -- "$@"; else "$@"; fi; }
if [ "$(id -u)" -eq 0 ]; then chown "$pg_user" "$pgdir"; fi
port=$(( 20000 + RANDOM % 20000 ))
cleanup() {
  run_pg "$pg_bin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap cleanup EXIT
echo "== starting PostgreSQL ($pg_bin) on 127.0.0.1:$port"
run_pg "$pg_bin/initdb" -D "$pgdir/data" -U postgres -A trust --no-sync >/dev/null
run_pg "$pg_bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $pgdir -c fsync=off -c max_connections=300" start >/dev/null
export ROOST_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
export ROOST_REQUIRE_POSTGRES=1
export ROOST_REQUIRE_CLIENTS=1

echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 30m "$@" ./...
# The protocol suites again with every test store on PostgreSQL
# (internal/testenv reads ROOST_TEST_BACKEND): each adapter's end-to-end
# flows, real clients included, on both backends.
echo "== go test -race, adapter suites on PostgreSQL"
ROOST_TEST_BACKEND=postgres go test -race -count=1 -timeout 30m "$@" \
  ./internal/imapserver/ ./internal/pop3server/ ./internal/smtpserver/ ./internal/sieveserver/ \
  ./internal/davserver/ ./internal/mail/ ./internal/queue/
