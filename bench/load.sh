#!/usr/bin/env bash
# HTTP under load (issue 20): wrk against the release server on the national
# dataset (PostgreSQL), at 1, 8, 32 and 128 connections, for the dossier
# fetch, a worklist's first page, rendition downloads (local store, then
# Garage) and uploads of distinct 300 KB PDFs; beside them, in the same run,
# pgbench on the same SQL and nginx serving the same rendition bytes.
# Prints the README's load table (bench/load.py says how each figure is
# taken).
#
#   bench/load.sh
#
# Settings: LOAD_SECONDS per level (10), LOAD_LEVELS ("1 8 32 128");
# BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/test),
# BENCH_NATIONAL_DB and BENCH_NATIONAL_DIR name the dataset the national
# benchmark generated (vault/benches/national); when it is missing, one of
# BENCH_DOSSIERS (270,000) dossiers and BENCH_EVENTS (5,000,000) audit events
# is generated first (about 5 minutes; the 2.7 M one takes 35 and 60 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null || [ ! -x /usr/sbin/nginx ] || ! command -v pgbench >/dev/null ||
   ! command -v convert >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light postgresql-client imagemagick
fi
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
command -v garage >/dev/null || cargo install garage --locked --quiet
export BENCH_DATABASE_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export BENCH_NATIONAL_DIR="${BENCH_NATIONAL_DIR:-/var/tmp/dnu-national}"
cargo build -q --release --bin dnu-vault
db="${BENCH_NATIONAL_DB:-vault_national}"
if [ ! -f "$BENCH_NATIONAL_DIR/agents.tsv" ] || [ -f "$BENCH_NATIONAL_DIR/rebuild.sql" ] ||
   ! psql "${BENCH_DATABASE_URL%/*}/$db" -Atqc 'SELECT 1 FROM dossiers LIMIT 1' >/dev/null 2>&1; then
  echo "generating the dataset ($db, ${BENCH_DOSSIERS:-270000} dossiers) into $BENCH_NATIONAL_DIR"
  BENCH_DOSSIERS="${BENCH_DOSSIERS:-270000}" BENCH_EVENTS="${BENCH_EVENTS:-5000000}" \
    cargo bench -q -p vault --bench national
fi
exec python3 bench/load.py
