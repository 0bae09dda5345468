#!/usr/bin/env bash
# `make bench`: builds Latchkey in release, runs the benchmarks on loopback and writes
# BENCHMARKS.md (figures, ratios to a baseline measured in the same run, the machine, the date).
#   scripts/bench.sh [latchkey-bench options]     e.g. --seconds 10 --connections 128
# PostgreSQL: a scratch server (scripts/postgres.sh, its own directory and port) is started for
# the run and stopped after it. LATCHKEY_BENCH_POSTGRES=<server URL> uses that server instead;
# LATCHKEY_BENCH_POSTGRES=off measures SQLite only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"

"$ROOT/scripts/setup.sh"

# What `make release` ships (the bundle and the server with erased view types, the widget,
# all embedded in target/release/latchkey), so the figures are the product's.
echo "==> scripts/build-release.sh (target/release/latchkey and the optimised site bundle)"
"$ROOT/scripts/build-release.sh"
echo "==> cargo build --release -p bench"
cargo build --release -p bench

# A private copy of what was just built: other builds sharing target/ (a debug
# `cargo leptos build --frontend-only`, the tests) may rewrite target/site while we measure.
SNAPSHOT="$ROOT/target/bench-snapshot"
PG_DIR="$ROOT/target/bench-pg"
PG_STARTED=""
cleanup() {
  if [ -n "$PG_STARTED" ]; then "$ROOT/scripts/postgres.sh" stop "$PG_DIR"; fi
  rm -rf "$SNAPSHOT"
}
trap cleanup EXIT
rm -rf "$SNAPSHOT"
mkdir -p "$SNAPSHOT"
cp "$ROOT/target/release/latchkey" "$SNAPSHOT/latchkey"
cp -r "$ROOT/target/site" "$SNAPSHOT/site"

# Not the tests' cluster (target/pg, port 25432): stopping ours must never stop theirs.
export LATCHKEY_TEST_PG_PORT="${LATCHKEY_BENCH_PG_PORT:-25433}"
case "${LATCHKEY_BENCH_POSTGRES:-}" in
  off)
    unset LATCHKEY_BENCH_POSTGRES
    ;;
  "")
    echo "==> scratch PostgreSQL (scripts/postgres.sh start $PG_DIR)"
    if url="$("$ROOT/scripts/postgres.sh" start "$PG_DIR")"; then
      PG_STARTED=1
      export LATCHKEY_BENCH_POSTGRES="$url"
    else
      echo "warning: PostgreSQL did not start; measuring SQLite only" >&2
      unset LATCHKEY_BENCH_POSTGRES
    fi
    ;;
  *)
    export LATCHKEY_BENCH_POSTGRES
    ;;
esac

echo "==> latchkey-bench (about a minute and a half)"
LATCHKEY_BENCH_COMMAND="${LATCHKEY_BENCH_VIA:-scripts/bench.sh${*:+ $*}}" \
  "$ROOT/target/release/latchkey-bench" run --root "$ROOT" \
  --latchkey "$SNAPSHOT/latchkey" --site-root "$SNAPSHOT/site" "$@"
