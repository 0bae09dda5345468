#!/usr/bin/env bash
# The production build: one self-contained binary, target/release/latchkey, with the site
# bundle (CSS, the dashboard's WASM, the widget) inside it. In order, because the binary embeds
# target/site when it is compiled: the bundle first, then the widget, then the server.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"
export LEPTOS_OUTPUT_NAME=latchkey

cargo leptos build --release --frontend-only
"$ROOT/scripts/build-widget.sh"
cargo build --release --locked -p server --bin latchkey
echo "==> target/release/latchkey ($(du -h target/release/latchkey | cut -f1)): copy it anywhere and run it"
