#!/usr/bin/env bash
# Installs whatever is missing, then runs every test: unit, integration (the real binary on
# loopback with a real SQLite file) and end-to-end (Chromium driving the real pages).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"

"$ROOT/scripts/setup.sh" --test

echo "==> unit tests, and integration tests on SQLite"
cargo test --workspace --locked

echo "==> integration tests on PostgreSQL"
pg_url="$("$ROOT/scripts/postgres.sh" start)"
trap '"$ROOT/scripts/postgres.sh" stop' EXIT
LATCHKEY_TEST_POSTGRES="$pg_url" cargo test --locked -p server --tests

echo "==> end-to-end tests (Chromium)"
"$ROOT/scripts/e2e.sh"
