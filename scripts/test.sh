#!/usr/bin/env bash
# Installs whatever is missing, then runs every test: unit, integration (the real binary on
# loopback with a real SQLite file) and end-to-end (Chromium driving the real pages).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"

"$ROOT/scripts/setup.sh" --test

echo "==> unit and integration tests"
cargo test --workspace --locked

echo "==> end-to-end tests (Chromium)"
"$ROOT/scripts/e2e.sh"
