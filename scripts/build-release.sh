#!/usr/bin/env bash
# The production build: one self-contained binary, target/release/latchkey, with the site
# bundle (CSS, the dashboard's WASM, the widget) inside it. In order, because the binary embeds
# target/site when it is compiled: the bundle first, then the widget, then the server.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"
export LEPTOS_OUTPUT_NAME=latchkey

# Views with erased types (`--cfg erase_components`, what cargo-leptos does by default only in
# debug builds): one shared, dynamically dispatched copy of the rendering code instead of one per
# view type; the dashboard's WASM shrinks by a quarter (620 -> 451 kB gzip). The server is built
# with the same flag, so that it renders exactly what the bundle hydrates. Not exported: the
# widget is a workspace of its own and keeps its build.
ERASE="${RUSTFLAGS:+$RUSTFLAGS }--cfg erase_components"

RUSTFLAGS="$ERASE" cargo leptos build --release --frontend-only --split
"$ROOT/scripts/build-widget.sh"
RUSTFLAGS="$ERASE" cargo build --release --locked -p server --bin latchkey
echo "==> target/release/latchkey ($(du -h target/release/latchkey | cut -f1)): copy it anywhere and run it"
