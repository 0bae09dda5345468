#!/usr/bin/env bash
# Installs whatever is missing, builds, and runs Latchkey as a development instance on the
# embedded defaults: SQLite and keys in ./data, the built-in Notion sandbox, http://127.0.0.1:3000.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build-release.sh"
echo "==> Latchkey: open http://127.0.0.1:3000/sign-in (Ctrl-C stops it)"
exec ./target/release/latchkey
