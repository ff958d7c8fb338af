#!/usr/bin/env bash
# Scale-out benchmark: uploads per second of 300 KB documents through the
# nginx balancer of the local cluster (PostgreSQL + Garage), with two
# replicas against one, in one run on the same engines. Rounds alternate
# (2, 1, 2, 1, …) so drift on a shared machine hits both alike; the
# one-replica rounds stop replica 2 and nginx routes around it.
#
#   bench/cluster.sh [UPLOADS_PER_ROUND] [ROUNDS] [CONCURRENCY]   (default 120 3 8)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-120}; ROUNDS=${2:-3}; C=${3:-8}
cargo build -q --release --bin dnu-vault
cargo build -q --release -p e2e --example upload_load
export DNU_VAULT_BIN="$PWD/target/release/dnu-vault"
LOAD=target/release/examples/upload_load
W=$(mktemp -d); D="$W/cluster"
trap 'deploy/local-cluster.sh down "$D" >/dev/null 2>&1 || true; rm -rf "$W"' EXIT
deploy/local-cluster.sh up "$D" 2 >/dev/null 2>&1
# shellcheck disable=SC1091
. "$D/cluster.env"
deploy/local-cluster.sh vault "$D" demo --json 2>/dev/null >"$W/demo.json"
TOKEN=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); i=[o["kind"] for o in d["organisations"]].index("guichet"); print(d["agents"][i]["token"])' "$W/demo.json")
NU=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dossiers"][0]["numero_unique"])' "$W/demo.json")
echo "cluster: $BALANCER_URL; $N uploads of 300 KB per round, $C in flight, $ROUNDS rounds each; $(nproc) cores"
# Warm-up (connections, caches) is not counted.
"$LOAD" "$BALANCER_URL" "$TOKEN" "$NU" 20 "$C" 300000 999 >/dev/null
two=(); one=(); seed=1
for r in $(seq 1 "$ROUNDS"); do
  out=$("$LOAD" "$BALANCER_URL" "$TOKEN" "$NU" "$N" "$C" 300000 $((seed++)))
  echo "round $r, 2 replicas: $out"; two+=("$(sed 's/.*per_second=\([0-9.]*\).*/\1/' <<<"$out")")
  deploy/local-cluster.sh kill "$D" 2 >/dev/null 2>&1 || true
  out=$("$LOAD" "$BALANCER_URL" "$TOKEN" "$NU" "$N" "$C" 300000 $((seed++)))
  echo "round $r, 1 replica:  $out"; one+=("$(sed 's/.*per_second=\([0-9.]*\).*/\1/' <<<"$out")")
  deploy/local-cluster.sh start "$D" 2 >/dev/null 2>&1
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
m2=$(median "${two[@]}"); m1=$(median "${one[@]}")
echo "median uploads/s: 2 replicas $m2, 1 replica $m1, ratio $(echo "$m2 / $m1" | bc -l | cut -c1-4)"
deploy/local-cluster.sh vault "$D" check 2>&1 | tail -1
