#!/usr/bin/env bash
# A production-shaped DNU Vault on one machine, without containers:
# PostgreSQL (the machine's server, a fresh database), a single-node Garage
# (S3), N stateless `dnu-vault serve` replicas and nginx balancing between
# them, all on loopback. This is how the scale-out is tested here.
#
#   deploy/local-cluster.sh up DIR [REPLICAS]   start everything (default 2 replicas); prints DIR/cluster.env
#   deploy/local-cluster.sh down DIR            stop everything, drop the database, remove DIR
#   deploy/local-cluster.sh kill DIR N          SIGKILL replica N (no goodbye)
#   deploy/local-cluster.sh start DIR N         (re)start replica N and wait until it is ready
#   deploy/local-cluster.sh vault DIR ARGS…     run `dnu-vault ARGS…` with the cluster's configuration
#
# A restore drill starts a fresh cluster from a backup: RESTORE_FROM=BACKUP_DIR
# and KEYS_FROM=KEYS_DIR (made by `dnu-vault backup BACKUP_DIR --keys-to
# KEYS_DIR`) with `up` restore the backup instead of creating an empty vault.
#
# Settings (environment): DNU_VAULT_BIN (default: target/release, else
# target/debug dnu-vault), GARAGE_BIN (default: garage on PATH or in
# ~/.cargo/bin; installed with `cargo install garage --locked` if absent),
# NGINX_BIN (/usr/sbin/nginx), PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres),
# S3_PROXY_ADDON (a mitmproxy addon: the replicas then reach Garage through
# `mitmdump` in reverse mode, which the addon may use to inject faults;
# S3_ENDPOINT stays Garage's own address for outside clients),
# CLUSTER_SETTINGS ("VAULT_S3_TIMEOUT_SECONDS=2 VAULT_S3_MAX_ATTEMPTS=3": more
# settings of every replica).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cmd="${1:-}"
DIR="${2:-}"
[ -n "$cmd" ] && [ -n "$DIR" ] || { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
NGINX_BIN="${NGINX_BIN:-/usr/sbin/nginx}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

die() { echo "local-cluster: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { # URL SECONDS
  for _ in $(seq 1 $(($2 * 10))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

vault_bin() {
  if [ -n "${DNU_VAULT_BIN:-}" ]; then echo "$DNU_VAULT_BIN"
  elif [ -x "$ROOT/target/release/dnu-vault" ]; then echo "$ROOT/target/release/dnu-vault"
  elif [ -x "$ROOT/target/debug/dnu-vault" ]; then echo "$ROOT/target/debug/dnu-vault"
  else die "no dnu-vault binary: run cargo build --release --bin dnu-vault (or set DNU_VAULT_BIN)"; fi
}

garage_bin() {
  if [ -n "${GARAGE_BIN:-}" ]; then echo "$GARAGE_BIN"; return; fi
  if ! command -v garage >/dev/null; then
    echo "local-cluster: installing Garage (cargo install garage --locked; about 16 minutes on 2 cores)" >&2
    cargo install garage --locked --quiet >&2
  fi
  command -v garage
}

# The replicas' environment, from the saved cluster facts.
replica_env() { # N
  # shellcheck disable=SC1091
  . "$DIR/cluster.env"
  local port_var="REPLICA_$1_PORT"
  echo "VAULT_LISTEN=127.0.0.1:${!port_var}"
  echo "VAULT_DATA_DIR=$DIR/replica-$1"
  sed -n 's/^\(VAULT_[A-Z0-9_]*=.*\)$/\1/p' "$DIR/cluster.env"
}

start_replica() { # N
  local n="$1" bin; bin="$(vault_bin)"
  mkdir -p "$DIR/replica-$n"
  (
    set -a
    # shellcheck disable=SC2046
    eval "$(replica_env "$n" | sed 's/^/export /')"
    set +a
    exec "$bin" serve >>"$DIR/replica-$n.log" 2>&1
  ) &
  echo $! >"$DIR/replica-$n.pid"
  # shellcheck disable=SC1091
  . "$DIR/cluster.env"
  local port_var="REPLICA_${n}_PORT"
  wait_http "http://127.0.0.1:${!port_var}/readyz" 60 || { tail -20 "$DIR/replica-$n.log" >&2; die "replica $n did not become ready"; }
}

up() {
  local replicas="${1:-2}"
  [ ! -e "$DIR/cluster.env" ] || die "$DIR already holds a cluster (run down first)"
  mkdir -p "$DIR/secrets" "$DIR/garage"
  chmod 700 "$DIR/secrets"
  # A start that fails half-way is torn down, not left running.
  trap 'echo "local-cluster: start failed; tearing down" >&2; down >/dev/null' EXIT
  local bin garage; bin="$(vault_bin)"; garage="$(garage_bin)"

  # PostgreSQL: a fresh database on the machine's server.
  pg_isready -d "$PG_ADMIN_URL" -q || die "PostgreSQL is not answering at $PG_ADMIN_URL"
  local db="dnu_cluster_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $db" >/dev/null
  echo "$db" >"$DIR/pg-database"
  local db_url="${PG_ADMIN_URL%/*}/$db"

  # Garage: one node, one key, one bucket.
  local rpc s3; rpc="$(free_port)"; s3="$(free_port)"
  cat >"$DIR/garage/garage.toml" <<EOF
metadata_dir = "$DIR/garage/meta"
data_dir = "$DIR/garage/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
[s3_api]
api_bind_addr = "127.0.0.1:$s3"
s3_region = "garage"
EOF
  "$garage" -c "$DIR/garage/garage.toml" server >"$DIR/garage.log" 2>&1 &
  echo $! >"$DIR/garage.pid"
  local g=("$garage" -c "$DIR/garage/garage.toml") node=""
  # `node id` only reads the key on disk: wait for the RPC side to answer.
  for _ in $(seq 1 300); do "${g[@]}" status >/dev/null 2>&1 && break; sleep 0.1; done
  node="$("${g[@]}" node id -q 2>/dev/null | cut -d@ -f1)"
  [ -n "$node" ] && "${g[@]}" status >/dev/null 2>&1 || die "Garage did not start (see $DIR/garage.log)"
  "${g[@]}" layout assign -z dc1 -c 10G "$node" >/dev/null
  "${g[@]}" layout apply --version 1 >/dev/null
  local key; key="$("${g[@]}" key create dnu-vault)"
  local key_id secret
  key_id="$(sed -n 's/^Key ID: *//p' <<<"$key")"
  secret="$(sed -n 's/^Secret key: *//p' <<<"$key")"
  printf '%s\n' "$secret" >"$DIR/secrets/s3-secret"
  "${g[@]}" bucket create dnu-vault >/dev/null
  "${g[@]}" bucket allow --read --write --owner dnu-vault --key "$key_id" >/dev/null

  # Optionally, an intercepting proxy between the vault and Garage. The
  # Host header is kept: it is part of the request's signature.
  local vault_s3="http://127.0.0.1:$s3"
  if [ -n "${S3_PROXY_ADDON:-}" ]; then
    local proxy; proxy="$(free_port)"
    mitmdump --mode "reverse:http://127.0.0.1:$s3" --listen-host 127.0.0.1 --listen-port "$proxy" \
      --set keep_host_header=true --set termlog_verbosity=warn --set flow_detail=0 \
      -s "$S3_PROXY_ADDON" >"$DIR/s3-proxy.log" 2>&1 &
    echo $! >"$DIR/s3-proxy.pid"
    for _ in $(seq 1 100); do
      (exec 3<>"/dev/tcp/127.0.0.1/$proxy") 2>/dev/null && break
      sleep 0.1
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$proxy") 2>/dev/null || die "the S3 proxy did not start (see $DIR/s3-proxy.log)"
    vault_s3="http://127.0.0.1:$proxy"
  fi

  # The balancer's port, the replicas' ports and every shared setting.
  local lb; lb="$(free_port)"
  {
    echo "# DNU Vault local cluster ($(date -u +%FT%TZ))"
    echo "BALANCER_URL=http://127.0.0.1:$lb"
    echo "REPLICAS=$replicas"
    for n in $(seq 1 "$replicas"); do echo "REPLICA_${n}_PORT=$(free_port)"; done
    echo "PG_DATABASE=$db"
    echo "S3_ENDPOINT=http://127.0.0.1:$s3"
    echo "S3_BUCKET=dnu-vault"
    echo "AWS_ACCESS_KEY_ID=$key_id"
    echo "VAULT_DATABASE_URL=$db_url"
    echo "VAULT_OBJECT_STORE=s3://dnu-vault/objects"
    echo "VAULT_S3_ENDPOINT=$vault_s3"
    echo "VAULT_S3_REGION=garage"
    echo "VAULT_S3_ACCESS_KEY_ID=$key_id"
    echo "VAULT_S3_SECRET_ACCESS_KEY_FILE=$DIR/secrets/s3-secret"
    echo "VAULT_MASTER_KEY_FILE=$DIR/secrets/master.key"
    echo "VAULT_AUDIT_KEY_FILE=$DIR/secrets/audit-signing.key"
    echo "VAULT_SHEET_KEY_FILE=$DIR/secrets/sheet-hmac.key"
    echo "VAULT_LOG_FORMAT=json"
    for kv in ${CLUSTER_SETTINGS:-}; do
      [[ "$kv" =~ ^VAULT_[A-Z0-9_]+=[^[:space:]]*$ ]] || die "CLUSTER_SETTINGS: $kv is not a setting such as VAULT_S3_MAX_ATTEMPTS=3"
      echo "$kv"
    done
  } >"$DIR/cluster.env"

  # The shared keys and the schema (or a backup's), then the replicas.
  if [ -n "${KEYS_FROM:-}" ]; then
    for f in master.key audit-signing.key sheet-hmac.key; do
      install -m 600 "$KEYS_FROM/$f" "$DIR/secrets/$f"
    done
  else
    run_vault keys init
  fi
  if [ -n "${RESTORE_FROM:-}" ]; then
    run_vault restore "$RESTORE_FROM"
  else
    run_vault migrate
  fi
  for n in $(seq 1 "$replicas"); do start_replica "$n"; done

  # nginx: round robin; a replica that refuses connections is skipped (a
  # POST already sent to a replica that dies is not replayed: nginx does
  # not retry non-idempotent requests, the client retries with its
  # Idempotency-Key).
  # shellcheck disable=SC1091
  . "$DIR/cluster.env"
  mkdir -p "$DIR/nginx"
  {
    echo "worker_processes 1; pid $DIR/nginx/nginx.pid; error_log $DIR/nginx/error.log warn;"
    echo "events { worker_connections 1024; }"
    echo "http {"
    echo "  access_log $DIR/nginx/access.log;"
    echo "  client_body_temp_path $DIR/nginx/body; proxy_temp_path $DIR/nginx/proxy;"
    echo "  fastcgi_temp_path $DIR/nginx/fcgi; uwsgi_temp_path $DIR/nginx/uwsgi; scgi_temp_path $DIR/nginx/scgi;"
    # Bodies and answers stay in memory: the workers run as nobody and may
    # not reach a temporary directory under DIR.
    echo "  client_max_body_size 25m; client_body_buffer_size 25m; proxy_max_temp_file_size 0;"
    echo "  upstream vault {"
    for n in $(seq 1 "$replicas"); do
      local port_var="REPLICA_${n}_PORT"
      echo "    server 127.0.0.1:${!port_var} max_fails=1 fail_timeout=2s;"
    done
    echo "    keepalive 32;"
    echo "  }"
    echo "  server {"
    echo "    listen 127.0.0.1:$lb;"
    echo "    location / {"
    echo "      proxy_pass http://vault;"
    echo "      proxy_http_version 1.1; proxy_set_header Connection \"\";"
    echo "      proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;"
    echo "      proxy_next_upstream error timeout http_502 http_503;"
    echo "      proxy_connect_timeout 2s; proxy_read_timeout 300s;"
    echo "      add_header X-Upstream \$upstream_addr always;"
    echo "    }"
    echo "  }"
    echo "}"
  } >"$DIR/nginx/nginx.conf"
  "$NGINX_BIN" -c "$DIR/nginx/nginx.conf" -e "$DIR/nginx/error.log"
  wait_http "$BALANCER_URL/readyz" 20 || die "nginx does not answer at $BALANCER_URL"
  trap - EXIT
  echo "cluster up: $BALANCER_URL ($replicas replicas, PostgreSQL database $db, Garage at http://127.0.0.1:$s3)"
  echo "settings: $DIR/cluster.env"
}

run_vault() {
  local bin; bin="$(vault_bin)"
  (
    set -a
    # shellcheck disable=SC1091
    . "$DIR/cluster.env"
    set +a
    export VAULT_DATA_DIR="$DIR/cli"
    exec "$bin" "$@"
  )
}

stop_pid() { # FILE SIGNAL
  [ -f "$1" ] || return 0
  local pid; pid="$(cat "$1")"
  kill "-$2" "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$1"
}

down() {
  [ -d "$DIR/secrets" ] || die "no cluster in $DIR"
  [ -f "$DIR/nginx/nginx.pid" ] && "$NGINX_BIN" -c "$DIR/nginx/nginx.conf" -e "$DIR/nginx/error.log" -s stop 2>/dev/null || true
  for f in "$DIR"/replica-*.pid; do [ -e "$f" ] && stop_pid "$f" TERM; done
  stop_pid "$DIR/s3-proxy.pid" TERM
  stop_pid "$DIR/garage.pid" TERM
  if [ -f "$DIR/pg-database" ]; then
    psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $(cat "$DIR/pg-database") WITH (FORCE)" >/dev/null || true
  fi
  rm -rf "$DIR"
  echo "cluster down"
}

case "$cmd" in
  up) up "${3:-2}" ;;
  down) down ;;
  kill) stop_pid "$DIR/replica-${3:?replica number}.pid" KILL ;;
  start) start_replica "${3:?replica number}" ;;
  vault) shift 2; run_vault "$@" ;;
  *) die "unknown command $cmd (up, down, kill, start, vault)" ;;
esac
