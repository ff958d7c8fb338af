#!/usr/bin/env bash
# Dependencies gated (run by .ci/run): `cargo deny` checks known
# vulnerabilities against the RustSec advisory database snapshot beside the
# repository (../shared/advisory-db, plain files, offline), the licences
# deny.toml allows, where crates come from, and lists duplicate versions.
# Then the control: the same advisory check without deny.toml's waivers
# must fail, or the gate could not catch anything.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if ! cargo deny --version 2>/dev/null | grep -q '^cargo-deny 0\.20\.'; then
  echo "installing cargo-deny 0.20.2 (cargo install --locked; about 9 minutes on 2 cores, once)"
  cargo install cargo-deny --version 0.20.2 --locked --quiet
fi
snapshot="${ADVISORY_DB:-../shared/advisory-db}"
[ -f "$snapshot/SNAPSHOT.txt" ] || { echo "no advisory database at $snapshot"; exit 1; }
echo "advisories: $(head -1 "$snapshot/SNAPSHOT.txt")"
# cargo-deny opens its database as a git repository, in a directory it
# names after the URL in deny.toml; the snapshot is plain files. A
# throwaway commit of a copy, under target/ (never in the repository).
db=target/advisory-dbs/advisory-db-3157b0e258782691
rm -rf "$db"
mkdir -p "$db"
cp -R "$snapshot/." "$db/"
chmod -R u+w "$db"
git -C "$db" init -q -b main
git -C "$db" add -A
git -C "$db" -c user.name=ci -c user.email=ci@localhost commit -q -m "snapshot"
# `--offline` keeps cargo-deny off the network for its database, but its
# `cargo metadata` still reads every crate of Cargo.lock, other platforms'
# included, and a fresh machine has downloaded only this platform's: fetch
# them from crates.io first.
cargo fetch --locked --quiet
cargo deny --offline --locked check --hide-inclusion-graph --show-stats
sed '/^ignore = \[/,/^\]/c ignore = []' deny.toml > target/deny-without-waivers.toml
# The control must fail for the right reason: a waived advisory reported.
set +e
control=$(cargo deny --offline --locked --config target/deny-without-waivers.toml check advisories 2>&1)
control_status=$?
set -e
if [ "$control_status" -eq 0 ]; then
  echo "the advisory check passed without deny.toml's waivers: it would catch nothing"
  exit 1
fi
if ! grep -q 'RUSTSEC-' <<<"$control"; then
  echo "the advisory check without waivers failed, but not on an advisory:"
  echo "$control" | tail -20
  exit 1
fi
echo "control: without its waivers the advisory check fails on $(grep -o 'RUSTSEC-[0-9]*-[0-9]*' <<<"$control" | sort -u | tr '\n' ' ')as it must"
