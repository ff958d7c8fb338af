#!/usr/bin/env bash
# Reproduces the rendition-size table in the README: bytes a page for text,
# mixed, scanned and photo documents against their originals, with
# qpdf --check, poppler drawing every page and tesseract's words kept.
# Usage: bench/renditions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v qpdf >/dev/null || ! command -v pdftoppm >/dev/null || ! command -v tesseract >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qpdf poppler-utils tesseract-ocr
fi
cargo bench -p intake --bench renditions
