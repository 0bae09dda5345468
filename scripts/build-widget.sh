#!/usr/bin/env bash
# Builds the embeddable widget (widget/, its own small workspace) into target/site/widget/,
# where the server serves it: latchkey_widget.js + latchkey_widget_bg.wasm. /widget.js (the
# loader) is served by the server itself.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"
OUT="$ROOT/target/site/widget"

(cd "$ROOT/widget" && CARGO_TARGET_DIR="$ROOT/target/widget" cargo build --locked --release --target wasm32-unknown-unknown)
mkdir -p "$OUT"
wasm-bindgen --target web --no-typescript --out-dir "$OUT" --out-name latchkey_widget \
  "$ROOT/target/widget/wasm32-unknown-unknown/release/latchkey_widget.wasm"
wasm-opt -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  "$OUT/latchkey_widget_bg.wasm" -o "$OUT/latchkey_widget_bg.wasm"
echo "widget: $(wc -c < "$OUT/latchkey_widget_bg.wasm") bytes WASM, $(gzip -9c "$OUT/latchkey_widget_bg.wasm" | wc -c) gzip"
