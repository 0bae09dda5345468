#!/usr/bin/env bash
# Installs what building and testing Latchkey needs, skipping whatever is already present.
# Safe to run again and again; every step checks before it installs.
#   scripts/setup.sh          toolchain for building and running (wasm target, cargo-leptos,
#                             wasm-bindgen-cli, wasm-opt)
#   scripts/setup.sh --test   the same plus Chromium and the end-to-end npm packages
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WASM_BINDGEN_VERSION="0.2.130"   # must equal the wasm-bindgen pinned in Cargo.toml
CARGO_LEPTOS_VERSION="0.3.11"
BINARYEN_VERSION="132.0.0"       # Debian's binaryen 108 emits WASM that breaks hydration
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "apt-get install ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  step "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION" --force
fi

if ! command -v cargo-leptos >/dev/null || [ "$(cargo-leptos --version | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  # cargo-leptos' lock file needs a newer rustc than this machine's (cargo-util-schemas 0.14.2);
  # build its published source with that one dependency held back a patch.
  step "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes on 2 cores)"
  cargo install --locked "cargo-leptos@$CARGO_LEPTOS_VERSION" 2>/dev/null || true
  if ! command -v cargo-leptos >/dev/null; then
    src=$(ls -d "$HOME"/.cargo/registry/src/*/"cargo-leptos-$CARGO_LEPTOS_VERSION" | head -n1)
    work=$(mktemp -d)
    cp -r "$src"/. "$work"
    rm -f "$work/rust-toolchain.toml" "$work/rust-toolchain"
    (cd "$work" && cargo update -p cargo-util-schemas --precise 0.14.1 && cargo install --locked --path .)
    rm -rf "$work"
  fi
fi

# Node packages (wasm-opt from binaryen; esbuild for the widget's glue; Playwright for the
# end-to-end tests) live in tools/.
if [ ! -x "$ROOT/tools/node_modules/.bin/wasm-opt" ] || [ ! -x "$ROOT/tools/node_modules/.bin/esbuild" ] \
  || [ ! -d "$ROOT/tools/node_modules/@playwright/test" ] || [ ! -d "$ROOT/tools/node_modules/jose" ] \
  || [ ! -d "$ROOT/tools/node_modules/standardwebhooks" ] || [ ! -d "$ROOT/tools/node_modules/openid-client" ] \
  || [ ! -f "$ROOT/tools/node_modules/axe-core/axe.min.js" ]; then
  step "npm install (binaryen $BINARYEN_VERSION, esbuild, @playwright/test, jose, standardwebhooks, openid-client, axe-core)"
  (cd "$ROOT/tools" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error)
fi

if [ "${1:-}" = "--test" ]; then
  # nginx: the TLS reverse-proxy test (server/tests/behind_nginx.rs); Apache with
  # mod_auth_openidc: a relying party in front of a page (end2end/tests/oidc-apache.spec.ts).
  apt_install chromium nginx openssl apache2 libapache2-mod-auth-openidc
  # authlib, a Python relying party (server/tests/oidc_relying_parties.rs), in its own venv.
  if ! cmp -s "$ROOT/tools/requirements.txt" "$ROOT/tools/venv/requirements.txt" 2>/dev/null; then
    step "pip install -r tools/requirements.txt (into tools/venv)"
    python3 -m venv "$ROOT/tools/venv"
    "$ROOT/tools/venv/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/tools/requirements.txt"
    cp "$ROOT/tools/requirements.txt" "$ROOT/tools/venv/requirements.txt"
  fi
fi
