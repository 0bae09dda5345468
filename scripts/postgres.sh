#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests: Debian's server (installed where missing), a scratch
# cluster, loopback only, trust auth. Prints the URL to use.
#   scripts/postgres.sh start [DIR]   start it (default DIR: target/pg) and print its URL
#   scripts/postgres.sh stop [DIR]    stop it and delete the cluster
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${2:-$ROOT/target/pg}"
# Below the kernel's ephemeral range (32768-60999), so no outgoing connection can hold it.
PORT="${LATCHKEY_TEST_PG_PORT:-25432}"

pg_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  if [ -z "$found" ]; then
    echo "==> apt-get install postgresql" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi
    found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  fi
  echo "$found"
}

# PostgreSQL refuses to run as root: run it as the `postgres` user when we are root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    su postgres -s /bin/bash -c "$*"
  else
    bash -c "$*"
  fi
}

case "${1:-}" in
  start)
    BIN=$(pg_bin)
    if [ -f "$DIR/data/postmaster.pid" ] && as_pg "'$BIN/pg_ctl' -D '$DIR/data' status" >/dev/null 2>&1; then
      echo "postgres://postgres@127.0.0.1:$PORT/postgres"
      exit 0
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && { id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres; chown postgres "$DIR"; }
    as_pg "'$BIN/initdb' -D '$DIR/data' -U postgres --auth=trust --no-sync -E UTF8 >/dev/null"
    as_pg "'$BIN/pg_ctl' -D '$DIR/data' -l '$DIR/log' -w -o \"-c listen_addresses=127.0.0.1 -p $PORT -k '$DIR' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400\" start >/dev/null"
    echo "postgres://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    BIN=$(pg_bin)
    if [ -d "$DIR/data" ]; then
      as_pg "'$BIN/pg_ctl' -D '$DIR/data' -m immediate stop >/dev/null 2>&1" || true
    fi
    rm -rf "$DIR"
    ;;
  *)
    echo "usage: $0 start|stop [DIR]" >&2
    exit 2
    ;;
esac
