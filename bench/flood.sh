#!/usr/bin/env bash
# Memory under attack (issue 17): the server's peak RSS while
#  1. 128 clients, each from its own address (127.0.0.2…129 on loopback,
#     so the per-address budget does not stop them), sign in at once with
#     unknown identifiers: every attempt reaches the Argon2id gate;
#  2. one client streams a 1 GiB chunked "multipart" body that never holds
#     its boundary.
# Before the fixes the first took the server from 24 MB to 3.9 GB and the
# second grew it by 382 MiB per 384 MiB sent. The target is a peak under
# 256 MiB for both. Prints the server's RSS and peak (VmHWM) after each.
#
#   bench/flood.sh            (PROFILE=dev to use the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-release}
cargo build -q --profile "$PROFILE" --bin dnu-vault
BIN="$PWD/target/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")/dnu-vault"
W=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$W"' EXIT
"$BIN" serve --data-dir "$W/data" --listen 127.0.0.1:0 2>"$W/serve.log" &
PID=$!
for _ in $(seq 1 100); do
  URL=$(sed -n 's/.*listening.*listen=\([0-9.:]*\).*/http:\/\/\1/p' "$W/serve.log" | head -1)
  [ -n "$URL" ] && break
  sleep 0.2
done
[ -n "$URL" ] || { cat "$W/serve.log"; exit 1; }
"$BIN" demo --data-dir "$W/data" --json 2>/dev/null >"$W/demo.json"
TOKEN=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); i=[o["kind"] for o in d["organisations"]].index("guichet"); print(d["agents"][i]["token"])' "$W/demo.json")
NU=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dossiers"][0]["numero_unique"])' "$W/demo.json")
mem() { awk '/^VmRSS|^VmHWM/ {printf "%s %d MiB  ", $1, $2 / 1024}' "/proc/$PID/status"; echo; }
echo "server $URL ($PROFILE build), $(nproc) cores"
echo -n "at rest:                       "; mem

start=$(date +%s.%N)
seq 2 129 | xargs -P 128 -I{} curl -s -o /dev/null -w '%{http_code}\n' --interface 127.0.0.{} \
  -H 'content-type: application/json' -d '{"identifier":"DNU-ZZZZZZZZ","code":"AAAAAAAAAA"}' \
  "$URL/api/v1/session" >"$W/codes"
end=$(date +%s.%N)
echo "128 concurrent sign-ins: $(sort "$W/codes" | uniq -c | awk '{printf "%s×%s ", $1, $2}')in $(python3 -c "print(f'{$end-$start:.1f}')") s"
echo -n "after the sign-in flood:       "; mem

code=$(head -c 1073741824 /dev/zero | curl -s -o "$W/answer" -w '%{http_code}' -X POST -T - \
  -H "authorization: Bearer $TOKEN" -H 'content-type: multipart/form-data; boundary=NEVERSENT' \
  -H 'transfer-encoding: chunked' "$URL/api/v1/dossiers/$NU/pieces" || true)
echo "1 GiB without a boundary: HTTP $code $(head -c 200 "$W/answer" 2>/dev/null)"
echo -n "after the boundary-less body:  "; mem
peak=$(awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$PID/status")
[ "$peak" -lt 256 ] && echo "peak RSS $peak MiB < 256 MiB: held" || { echo "peak RSS $peak MiB: over 256 MiB"; exit 1; }
