#!/usr/bin/env bash
# Creates the secrets the compose file mounts, in DIR (default
# deploy/secrets), and deploy/.env with the S3 access key id. Existing
# files are kept. Needs `dnu-vault` on PATH (or DNU_VAULT_BIN) for the keys.
#
#   deploy/make-secrets.sh [DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-$here/secrets}"
bin="${DNU_VAULT_BIN:-dnu-vault}"
mkdir -p "$dir"
chmod 700 "$dir"
umask 077
rand_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
[ -s "$dir/postgres_password" ] || rand_hex 24 >"$dir/postgres_password"
[ -s "$dir/database_url" ] || echo "postgres://vault:$(cat "$dir/postgres_password")@postgres:5432/vault" >"$dir/database_url"
[ -s "$dir/garage_rpc_secret" ] || rand_hex 32 >"$dir/garage_rpc_secret"
[ -s "$dir/s3_access_key_id" ] || echo "GK$(rand_hex 12)" >"$dir/s3_access_key_id"
[ -s "$dir/s3_secret_access_key" ] || rand_hex 32 >"$dir/s3_secret_access_key"
VAULT_MASTER_KEY_FILE="$dir/master_key" VAULT_AUDIT_KEY_FILE="$dir/audit_signing_key" \
  VAULT_SHEET_KEY_FILE="$dir/sheet_key" VAULT_DATA_DIR="$dir/.unused" "$bin" keys init
rm -rf "$dir/.unused"
[ -e "$dir/scanner_token" ] || : >"$dir/scanner_token"   # put the guichet scanner agent's token here (dnu-vault admin agent add --org SIREN --name … --scanner)
[ -e "$dir/smtp_password" ] || : >"$dir/smtp_password"   # the SMTP password of the notices, if the server asks for one
echo "S3_ACCESS_KEY_ID=$(cat "$dir/s3_access_key_id")" >"$here/.env"
echo "secrets in $dir; S3 key id in $here/.env. Keep master_key apart from backups of the data."
