#!/usr/bin/env bash
# The test command of the README. On a fresh machine it installs the tools
# the tests use (Debian packages: qpdf and poppler-utils check PDFs, GNU
# time measures a worker's peak memory, Chromium and chromedriver run the
# page tests, nginx balances the local cluster), the Python checkers we did
# not write (prometheus-client, openapi-spec-validator, the aws CLI,
# mitmproxy, schemathesis), the
# SMTP server the notices are delivered to (aiosmtpd) and
# Garage (built once with cargo, kept in cargo's bin directory), the
# OpenID Provider the sign-in tests run (npm ci in tests/oidc), the pages'
# design system and axe-core (npm ci in web), starts
# PostgreSQL if it is down so the store tests also run there, then runs
# `cargo test --workspace` (arguments are passed on) and looks for secrets
# and personal data in the logs the end-to-end tests kept
# (tests/check_logs.py).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== tools the tests use"
# qpdf and pdftoppm check renditions and exports; GNU time measures a
# worker's peak memory; Chromium and chromedriver run the page tests;
# zbarimg reads separator sheets' QR codes back; libheif1 decodes HEIC
# photos (the intake worker loads it), exiftool reads renditions' images,
# gcc builds the fsync-dropping library of the power-cut test, jbig2dec
# reads back the JBIG2 pages the scanner tests write.
if ! command -v qpdf >/dev/null || ! command -v pdftoppm >/dev/null || [ ! -x /usr/bin/time ] ||
   ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v zbarimg >/dev/null ||
   [ ! -x /usr/sbin/nginx ] || ! command -v exiftool >/dev/null || ! ldconfig -p | grep 'libheif\.so\.1 ' >/dev/null ||
   ! command -v cc >/dev/null || ! command -v jbig2dec >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qpdf poppler-utils time chromium chromium-driver zbar-tools \
    nginx-light libheif1 libimage-exiftool-perl gcc jbig2dec
fi
# prometheus-client parses /metrics, openapi-spec-validator checks the
# OpenAPI document, the aws CLI reads Garage's objects as an outside client,
# aiosmtpd receives the notices' e-mails, mitmproxy stands between the
# vault and Garage to inject faults, schemathesis fuzzes the API from its
# OpenAPI document.
if ! python3 -c "import prometheus_client, openapi_spec_validator, aiosmtpd" 2>/dev/null || ! command -v aws >/dev/null ||
   ! command -v mitmdump >/dev/null || ! command -v st >/dev/null; then
  python3 -m pip install -q --disable-pip-version-check prometheus-client openapi-spec-validator awscli aiosmtpd \
    mitmproxy schemathesis
fi
# Garage runs the S3 suite and the local cluster (about 16 minutes to build
# on 2 cores the first time; cargo keeps it in its bin directory).
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if ! command -v garage >/dev/null; then
  echo "building Garage (cargo install garage --locked; about 16 minutes on 2 cores, once)"
  cargo install garage --locked --quiet
fi
# The sign-in tests' OpenID Provider: npm's oidc-provider, pinned by
# tests/oidc/package-lock.json (a few seconds; always, so the installed
# tree is the locked one).
npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
# The pages' design system (DSFR, embedded into the binary by
# vault/build.rs) and axe-core, which the page tests run in Chromium:
# pinned by web/package-lock.json; no package's install script runs.
npm ci --prefix web --ignore-scripts --no-audit --no-fund --loglevel=error
# axe's report of this run only (the page tests append to it), and the
# logs of this run only (the end-to-end tests keep them there).
rm -f target/page-tests/axe.txt
rm -rf target/test-logs
node --version
garage --version 2>/dev/null | sed -n 1p || true
qpdf --version | sed -n 1p
pdftoppm -v 2>&1 | sed -n 1p
chromium --version

echo "== PostgreSQL"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "PostgreSQL is down: starting it"
  for v in /etc/postgresql/*; do
    pg_ctlcluster --skip-systemctl-redirect "$(basename "$v")" main start || true
  done
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break
    sleep 1
  done
fi
if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  export VAULT_TEST_DATABASE_URL="${VAULT_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
  # Databases left by earlier runs (each test makes its own).
  { psql -h 127.0.0.1 -U postgres -d test -Atc \
      "SELECT datname FROM pg_database WHERE datname LIKE 'vault_test_%'" 2>/dev/null || true; } |
    while read -r db; do psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS \"$db\"" || true; done
elif [ "${CI:-}" = true ]; then
  echo "FATAL: PostgreSQL is unreachable on 127.0.0.1:5432; the PostgreSQL store tests cannot run" >&2
  exit 1
else
  echo "PostgreSQL is unreachable: the store tests run on SQLite only"
fi

echo "== cargo test --workspace"
set +e
cargo test --workspace "$@"
status=$?
set -e

# Every process the end-to-end tests ran logged at RUST_LOG=trace into
# target/test-logs: none of the tokens, codes, numéros uniques, keys,
# document markers or e-mail addresses they used may be in it.
echo "== secrets and personal data in the tests' logs"
if [ -f target/test-logs/values.tsv ]; then
  python3 tests/check_logs.py target/test-logs || status=1
elif [ "$status" -eq 0 ] && [ "$#" -eq 0 ]; then
  echo "no end-to-end test kept its logs (target/test-logs/values.tsv is missing)" >&2
  status=1
fi
exit "$status"
