#!/bin/sh
# One-shot: lays out the single Garage node, imports the vault's key (from
# the secrets, so the vault can be configured before Garage runs) and
# creates the bucket. Safe to run again.
set -eu
g="garage -c /etc/garage.toml"
until $g status >/dev/null 2>&1; do sleep 1; done
node=$($g node id -q | cut -d@ -f1)
if ! $g layout show | grep -q "$(echo "$node" | cut -c1-16)"; then
  $g layout assign -z dc1 -c 100G "$node"
  $g layout apply --version 1
fi
$g key info "$(cat /run/secrets/s3_access_key_id)" >/dev/null 2>&1 ||
  $g key import --yes -n dnu-vault "$(cat /run/secrets/s3_access_key_id)" "$(cat /run/secrets/s3_secret_access_key)"
$g bucket info dnu-vault >/dev/null 2>&1 || $g bucket create dnu-vault
$g bucket allow --read --write --owner dnu-vault --key "$(cat /run/secrets/s3_access_key_id)"
