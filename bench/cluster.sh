#!/usr/bin/env bash
# Scale-out benchmark: uploads per second of 300 KB documents through the
# nginx balancer of the local cluster (PostgreSQL + Garage), with two
# replicas against one, in one run on the same engines. Rounds alternate
# (2, 1, 2, 1, …) so drift on a shared machine hits both alike; the
# one-replica rounds stop replica 2 and nginx routes around it.
#
# Each round also reports how busy the machine was and which component
# used the CPU (vault replicas with their intake workers, Garage,
# PostgreSQL, nginx), to tell whether the vault or a shared engine caps it.
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
# CPU seconds used so far by each component (intake workers are counted
# in their replica once reaped), to see what caps the rate.
cpu() {
  python3 - <<'PY'
import os
tick = os.sysconf("SC_CLK_TCK"); groups = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        st = open(f"/proc/{pid}/stat").read(); cmd = open(f"/proc/{pid}/cmdline").read()
    except OSError:
        continue
    f = st[st.rindex(")") + 2:].split()
    t = (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / tick
    name = st[st.index("(") + 1:st.rindex(")")]
    g = ("vault" if "dnu-vault" in cmd else "postgres" if name.startswith("postgres") else
         "garage" if name == "garage" else "nginx" if name == "nginx" else "load" if name == "upload_load" else None)
    if g: groups[g] = groups.get(g, 0) + t
print(" ".join(f"{k}={v:.2f}" for k, v in sorted(groups.items())))
PY
}
busy() { # BEFORE AFTER LOAD_OUTPUT: each component's share of the machine during the round
  python3 -c '
import sys
b = dict(x.split("=") for x in sys.argv[1].split()); a = dict(x.split("=") for x in sys.argv[2].split())
secs = float(sys.argv[3].split("seconds=")[1].split()[0]); ncpu = int(sys.argv[4])
used = {k: float(a[k]) - float(b.get(k, 0)) for k in a}
print("  CPU busy %.0f%% of %d cores:" % (100 * sum(used.values()) / secs / ncpu, ncpu),
      ", ".join("%s %.0f%%" % (k, 100 * v / secs / ncpu) for k, v in sorted(used.items(), key=lambda kv: -kv[1])))
' "$1" "$2" "$3" "$(nproc)"
}
two=(); one=()
for r in $(seq 1 "$ROUNDS"); do
  # Each round uploads documents of its own (a seed per round and setting).
  before=$(cpu)
  out=$("$LOAD" "$BALANCER_URL" "$TOKEN" "$NU" "$N" "$C" 300000 $((2 * r)))
  after=$(cpu)
  echo "round $r, 2 replicas: $out"
  busy "$before" "$after" "$out"; two+=("$(sed 's/.*per_second=\([0-9.]*\).*/\1/' <<<"$out")")
  deploy/local-cluster.sh kill "$D" 2 >/dev/null 2>&1 || true
  before=$(cpu)
  out=$("$LOAD" "$BALANCER_URL" "$TOKEN" "$NU" "$N" "$C" 300000 $((2 * r + 1)))
  after=$(cpu)
  echo "round $r, 1 replica:  $out"
  busy "$before" "$after" "$out"; one+=("$(sed 's/.*per_second=\([0-9.]*\).*/\1/' <<<"$out")")
  deploy/local-cluster.sh start "$D" 2 >/dev/null 2>&1
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
m2=$(median "${two[@]}"); m1=$(median "${one[@]}")
echo "median uploads/s: 2 replicas $m2, 1 replica $m1, ratio $(echo "$m2 / $m1" | bc -l | cut -c1-4)"
deploy/local-cluster.sh vault "$D" check 2>&1 | tail -1
