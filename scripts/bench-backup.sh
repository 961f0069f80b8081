#!/bin/sh
# bench-backup.sh: backup and restore throughput, and the time of an
# incremental backup after 1 % of the items changed, on one store of
# ROOST_BENCH_BACKUP_ITEMS messages (default 20,000: about 120 MB, sized
# for a small shared machine). SQLite by default; ROOST_TEST_BACKEND=postgres
# with ROOST_TEST_POSTGRES set runs it on PostgreSQL.
# ROOST_BENCH_BACKUP_TARGETS=dir,s3 runs the steps into a directory and
# into a bucket of a real S3 server on loopback (versitygw, which
# scripts/test.sh installs); the default is dir. Figures go into
# docs/benchmarks.md ("Backup and restore").
set -eu
cd "$(dirname "$0")/.."
exec go test ./internal/backup -run '^$' -bench 'BenchmarkBackup' -benchtime 1x -timeout 60m -v "$@"
