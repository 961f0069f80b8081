#!/usr/bin/env bash
# Runs Roost's storage benchmarks and prints the figures recorded in
# docs/benchmarks.md. With ROOST_TEST_POSTGRES set (scripts/test.sh shows
# how to start a throwaway cluster) the PostgreSQL variants run too.
#
#   scripts/bench.sh           3 runs of each benchmark
#   COUNT=5 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-3}
echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
go test -run '^$' -bench 'Append10KB8Writers' -benchtime 5000x -count "$count" ./internal/store/sqlstore/ | grep -E '^Benchmark'
go test -run '^$' -bench 'List100k' -benchtime 20x -count "$count" ./internal/store/sqlstore/ | grep -E '^Benchmark'
go test -run '^$' -bench . -benchtime 2000x -count "$count" ./internal/blob/fs/ | grep -E '^Benchmark'
