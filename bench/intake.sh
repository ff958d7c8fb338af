#!/usr/bin/env bash
# Reproduces the intake throughput figures in the README, in one run:
# pages per second for a 20-page scanned PDF and a 12-megapixel phone
# photo, in process and through the confined worker the server runs,
# against poppler's pdftoppm and ImageMagick's convert on the same files.
# Usage: bench/intake.sh          (BENCH_RUNS=5 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/convert ] || ! command -v pdftoppm >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq imagemagick poppler-utils
fi
cargo build --release --bin dnu-vault
DNU_VAULT_BIN=$PWD/target/release/dnu-vault cargo bench -p intake --bench intake
