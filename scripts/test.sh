#!/usr/bin/env bash
# Installs whatever is missing, then runs every test: unit and property tests, integration tests
# (the real binary on loopback; each one on SQLite and again on PostgreSQL, in the one
# `cargo test`), and end-to-end tests (Chromium driving the real pages, with and without
# JavaScript).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"
# The server binary names the site bundle it loads at compile time; cargo-leptos names it
# `latchkey`, so the binary `cargo test` builds must agree to serve the same pages.
export LEPTOS_OUTPUT_NAME=latchkey

"$ROOT/scripts/setup.sh" --test

echo "==> site bundle (WASM, CSS) and the widget"
cargo leptos build --frontend-only --split
"$ROOT/scripts/build-widget.sh"

# A scratch PostgreSQL for the integration tests' second engine and the browser tests' replicas.
# Without it the tests would only warn; here it must run (and `set -e` stops if it cannot).
pg_url="$("$ROOT/scripts/postgres.sh" start)"
trap '"$ROOT/scripts/postgres.sh" stop' EXIT

echo "==> unit and property tests, and integration tests on SQLite and on PostgreSQL"
LATCHKEY_TEST_POSTGRES="$pg_url" cargo test --workspace --locked

echo "==> end-to-end tests (Chromium)"
# The example app on another origin (examples/hello-app) the session-token tests sign in to.
cargo build --locked -p hello-app
# The PostgreSQL server too, for the two replicas behind nginx (end2end/tests/behind_nginx.spec.ts).
LATCHKEY_TEST_POSTGRES="$pg_url" LATCHKEY_BIN="$ROOT/target/debug/latchkey" "$ROOT/scripts/e2e.sh"
