#!/usr/bin/env bash
# Peak resident memory of the server during 8 concurrent exports of a
# 40-page dossier, and what a burst beyond the export line answers
# (bench/export_rss.py says how). Usage: bench/export-rss.sh  (EXPORTS=8)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --bin dnu-vault
exec python3 bench/export_rss.py
