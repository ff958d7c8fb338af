#!/usr/bin/env bash
# Reproduces the storage figures quoted in the README, on this machine, in
# one run:
#  1. encrypt-and-store throughput of a 1 GiB file on the local backend,
#     against a plain copy (+fsync) and against `rage` on the same file;
#  2. the server's peak RSS while a 1 GiB file is uploaded, then downloaded,
#     over HTTP (curl streams it from disk).
# Usage: bench/run.sh            (BENCH_SIZE_MIB=1024 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${BENCH_SIZE_MIB:-1024}

command -v rage >/dev/null || cargo install rage --locked
cargo build --release --bin dnu-vault
BENCH_SIZE_MIB=$size_mib cargo bench -p vault --bench store

echo
echo "== peak RSS of dnu-vault serve during a ${size_mib} MiB upload and download over HTTP"
dir=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
bin=target/release/dnu-vault
export VAULT_DATA_DIR="$dir/data" VAULT_LISTEN=127.0.0.1:0 VAULT_MAX_UPLOAD_BYTES=$((size_mib * 1048576 + 1048576)) NO_COLOR=1
demo=$("$bin" demo --json 2>/dev/null)
token=$(printf '%s' "$demo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["agents"][0]["token"])')
nu=$(printf '%s' "$demo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["dossiers"][0]["numero_unique"])')
head -c "$((size_mib * 1048576))" /dev/urandom > "$dir/big.bin"
"$bin" serve 2> "$dir/serve.log" &
pid=$!
for _ in $(seq 1 100); do grep -q 'listen=' "$dir/serve.log" && break; sleep 0.1; done
addr=$(sed -n 's/.*listen=\([0-9.:]*\).*/\1/p' "$dir/serve.log" | head -1)
echo "server pid $pid on $addr; RSS at rest: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
out=$(curl -sS -o "$dir/resp.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $token" \
  -F kind=autre -F "file=@$dir/big.bin;type=application/octet-stream" "http://$addr/api/v1/dossiers/$nu/pieces")
read -r code secs <<< "$out"
echo "upload: HTTP $code in ${secs}s ($(python3 -c "print(round($size_mib*1.048576/$secs))") MB/s)"
echo "peak RSS after upload:   $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status) (target <= 64 MiB = 65536 kB)"
piece=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["piece"]["id"])' "$dir/resp.json")
curl -sS -o "$dir/back.bin" -H "Authorization: Bearer $token" "http://$addr/api/v1/dossiers/$nu/pieces/$piece/original"
cmp "$dir/big.bin" "$dir/back.bin" && echo "download: byte-identical"
echo "peak RSS after download: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
