#!/usr/bin/env bash
# Builds the embeddable widget (widget/, its own small workspace) into target/site/widget/,
# where the server serves it: latchkey_widget.js + latchkey_widget_bg.wasm. /widget.js (the
# loader) is served by the server itself.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"
OUT="$ROOT/target/site/widget"
BINDGEN="$ROOT/target/widget/bindgen"
for tool in wasm-bindgen node wasm-opt wasm-metadce esbuild; do
  command -v "$tool" > /dev/null || { echo "build-widget: $tool is missing (wasm-opt, wasm-metadce and esbuild: cd tools && npm install)" >&2; exit 2; }
done

(cd "$ROOT/widget" && CARGO_TARGET_DIR="$ROOT/target/widget" cargo build --locked --release --target wasm32-unknown-unknown)
mkdir -p "$OUT" "$BINDGEN"
# The loader always passes the WASM's URL, so the glue needs no default one.
wasm-bindgen --target web --no-typescript --omit-default-module-path --out-dir "$BINDGEN" --out-name latchkey_widget \
  "$ROOT/target/widget/wasm32-unknown-unknown/release/latchkey_widget.wasm"
# Drops what the loader never uses, wasm-opt -Oz, short import/export names, minified glue.
node "$ROOT/widget/shrink.mjs" "$BINDGEN" "$OUT"
gz() { gzip -9c < "$1" | wc -c; }
echo "widget: $(wc -c < "$OUT/latchkey_widget_bg.wasm") bytes WASM, $(gz "$OUT/latchkey_widget_bg.wasm") gzip;" \
  "glue $(wc -c < "$OUT/latchkey_widget.js") bytes, $(gz "$OUT/latchkey_widget.js") gzip;" \
  "loader $(wc -c < "$ROOT/widget/loader.js") bytes, $(gz "$ROOT/widget/loader.js") gzip"
