#!/usr/bin/env bash
# Reproduces the storage figures quoted in the README, on this machine, in
# one run:
#  1. encrypt-and-store throughput of a 1 GiB file on the local backend,
#     against a plain copy (+fsync) and against `rage` on the same file,
#     each stage's own throughput, and the download (read + decrypt)
#     against `cat` after a page-cache drop; on the plain disk, then on a
#     latency-bound loop device (root only);
#  2. the server's peak RSS while a 1 GiB file is uploaded, then downloaded,
#     over HTTP (curl streams it from disk); the intake worker that reads
#     the upload is a separate process and is not counted.
# Usage: bench/run.sh            (BENCH_SIZE_MIB=1024 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${BENCH_SIZE_MIB:-1024}

command -v rage >/dev/null || cargo install rage --locked
cargo build --release --bin dnu-vault

echo "== encrypt-and-store, and read back, on the plain disk (${TMPDIR:-/tmp})"
BENCH_SIZE_MIB=$size_mib cargo bench -p vault --bench store

# The same on a latency-bound device: an ext4 file system on a loop device
# whose backing file sits on the same disk, with direct I/O, so every
# request the file system sends takes one more trip through the kernel
# before the disk sees it (as on a cloud block volume or a network disk).
# Needs root and loop devices; said and skipped otherwise.
loop_img="" loop_dev="" loop_mnt=""
loop_cleanup() {
  [ -n "$loop_mnt" ] && umount "$loop_mnt" 2>/dev/null && rmdir "$loop_mnt"
  [ -n "$loop_dev" ] && losetup -d "$loop_dev" 2>/dev/null
  [ -n "$loop_img" ] && rm -f "$loop_img"
  return 0
}
trap loop_cleanup EXIT
echo
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null && command -v mkfs.ext4 >/dev/null \
   && loop_img=$(mktemp "${BENCH_LOOP_DIR:-/var/tmp}/vault-loop.XXXXXX") \
   && truncate -s $((size_mib * 4 + 1024))M "$loop_img" \
   && loop_dev=$(losetup --direct-io=on -f --show "$loop_img" 2>/dev/null) \
   && mkfs.ext4 -q "$loop_dev" && loop_mnt=$(mktemp -d) && mount "$loop_dev" "$loop_mnt"; then
  echo "== the same on a latency-bound device ($loop_dev, direct I/O to a file on the disk)"
  BENCH_DIR=$loop_mnt BENCH_SIZE_MIB=$size_mib cargo bench -p vault --bench store
else
  echo "== latency-bound device: skipped (needs root, losetup and mkfs.ext4)"
fi
loop_cleanup
loop_img="" loop_dev="" loop_mnt=""

echo
echo "== peak RSS of dnu-vault serve during a ${size_mib} MiB upload and download over HTTP"
dir=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; loop_cleanup; }
trap cleanup EXIT
bin=target/release/dnu-vault
export VAULT_DATA_DIR="$dir/data" VAULT_LISTEN=127.0.0.1:0 VAULT_MAX_UPLOAD_BYTES=$((size_mib * 1048576 + 1048576)) NO_COLOR=1
# The worker holds the whole document (the server does not): room for it.
export VAULT_INTAKE_MEMORY_MIB=$((size_mib * 3 + 512))
demo=$("$bin" demo --json 2>/dev/null)
token=$(printf '%s' "$demo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["agents"][0]["token"])')
nu=$(printf '%s' "$demo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["dossiers"][0]["numero_unique"])')
# Uploads are typed and parsed by the intake worker: the file is a real
# (one-page) PDF whose bulk is random bytes in a stream nothing draws.
python3 - "$dir/big.bin" "$size_mib" <<'PY'
import os, sys
path, mib = sys.argv[1], int(sys.argv[2])
objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
with open(path, "wb") as f:
    pos, offs = f.write(b"%PDF-1.7\n"), []
    for i, o in enumerate(objs, 1):
        offs.append(pos)
        pos += f.write(b"%d 0 obj\n%s\nendobj\n" % (i, o))
    offs.append(pos)
    pos += f.write(b"4 0 obj\n<< /Length %d >>\nstream\n" % (mib << 20))
    for _ in range(mib):
        pos += f.write(os.urandom(1 << 20))
    pos += f.write(b"\nendstream\nendobj\n")
    xref = pos
    f.write(b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offs))
    f.write(b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)
PY
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

echo
echo "== SIGKILL during a second ${size_mib} MiB upload"
# Killed once a quarter of the upload has been written: the acknowledged
# piece must read back whole, nothing may point at a missing object, and
# what the kill left (a temporary file, perhaps an unregistered object)
# goes with `gc`.
# Another document (the same one twice would be refused as a duplicate),
# into a dossier registered now (each holds at most its quota).
nu2=$(curl -sS -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"communes": ["59183"]}' "http://$addr/api/v1/dossiers" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["numero_unique"])')
python3 - "$dir/big.bin" "$dir/big2.bin" <<'PY'
import shutil, sys
shutil.copyfile(sys.argv[1], sys.argv[2])
with open(sys.argv[2], "r+b") as f:
    f.seek(4096)
    f.write(b"another document")
PY
curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
  -F kind=autre -F "file=@$dir/big2.bin;type=application/octet-stream" \
  "http://$addr/api/v1/dossiers/$nu2/pieces" > "$dir/second.code" 2>/dev/null &
upload=$!
written=0
for _ in $(seq 1 600); do
  written=$(find "$dir/data/objects/tmp" -name '*.part' -printf '%s\n' 2>/dev/null | awk '{s += $1} END {print int(s / 1048576)}')
  [ "$written" -ge $((size_mib / 4)) ] && break
  sleep 0.02
done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
wait "$upload" 2>/dev/null || true
echo "second upload's answer: $(cat "$dir/second.code") (not 201: cut by the kill, never acknowledged)"
echo "killed with ${written} MiB of the upload written"
"$bin" serve 2> "$dir/serve2.log" &
pid=$!
for _ in $(seq 1 100); do grep -q 'listen=' "$dir/serve2.log" && break; sleep 0.1; done
addr=$(sed -n 's/.*listen=\([0-9.:]*\).*/\1/p' "$dir/serve2.log" | head -1)
curl -sS -o "$dir/back2.bin" -H "Authorization: Bearer $token" "http://$addr/api/v1/dossiers/$nu/pieces/$piece/original"
cmp "$dir/big.bin" "$dir/back2.bin" && echo "the acknowledged piece: byte-identical after the kill"
kill "$pid"; wait "$pid" 2>/dev/null || true
pid=""
"$bin" check 2>&1 | grep -E "missing|corrupt" || true
"$bin" gc --grace-hours 0 2>&1 | tail -1
"$bin" check >/dev/null 2>&1 && echo "check after gc: clean"
