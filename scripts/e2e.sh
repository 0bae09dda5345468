#!/usr/bin/env bash
# End-to-end browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium) against a
# freshly started Latchkey with an empty data dir (see end2end/playwright.config.ts).
#   scripts/e2e.sh                      build (debug, cargo leptos) and run every test
#   scripts/e2e.sh -g "two sessions"    extra arguments go to `playwright test`
#   LATCHKEY_BIN=target/release/latchkey scripts/e2e.sh   test that binary; no build
#     (the site bundle is then served from target/site, or LEPTOS_SITE_ROOT if set)
# Needs scripts/setup.sh --test to have run once. Exits with Playwright's status.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export NODE_PATH="$ROOT/tools/node_modules${NODE_PATH:+:$NODE_PATH}"

if [ ! -d tools/node_modules/@playwright/test ]; then
  echo "e2e: tools/node_modules/@playwright/test is missing; run scripts/setup.sh --test" >&2
  exit 2
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "e2e: /usr/bin/chromium is missing; run scripts/setup.sh --test" >&2
  exit 2
fi

if [ -z "${LATCHKEY_BIN:-}" ]; then
  cargo leptos build --split
  # cargo leptos rebuilds target/site without the widget, which the widget's tests load.
  "$ROOT/scripts/build-widget.sh"
fi

# A fresh, empty data dir for the server Playwright starts; removed afterwards.
data_dir="$(mktemp -d -t latchkey-e2e.XXXXXX)"
trap 'rm -rf "$data_dir"' EXIT
export LATCHKEY_E2E_DATA_DIR="$data_dir"

status=0
npx --prefix tools playwright test -c end2end/playwright.config.ts "$@" || status=$?
exit "$status"
