// End-to-end tests: Playwright drives Debian's Chromium against a freshly started Latchkey
// (development instance, built-in Notion sandbox, empty data dir).
//
// Run from the repository root:  scripts/e2e.sh
//   or:  npx --prefix tools playwright test -c end2end/playwright.config.ts
// Env: LATCHKEY_BIN      server binary (default ./target/debug/latchkey, relative to the repo root)
//      LATCHKEY_E2E_DATA_DIR  empty data dir to use (default: a new `mktemp -d`)
import type { PlaywrightTestConfig } from "@playwright/test";
import Module from "node:module";
import path from "node:path";

const root = path.resolve(__dirname, "..");

// Playwright and its types live in tools/node_modules, which Node does not search from
// end2end/. Add it to NODE_PATH for this process and the workers it starts. (Only types are
// imported above, so nothing from @playwright/test is loaded before this line runs.)
const toolsModules = path.join(root, "tools", "node_modules");
if (!(process.env.NODE_PATH ?? "").split(path.delimiter).includes(toolsModules)) {
  process.env.NODE_PATH = [toolsModules, process.env.NODE_PATH]
    .filter(Boolean)
    .join(path.delimiter);
  (Module as unknown as { _initPaths(): void })._initPaths();
}

const port = 3100;
/** A third-party app on another origin that embeds the widget, and one that is not allowed. */
export const hostPort = 3101;
export const strangerPort = 3102;
/** hello-app (examples/hello-app): a server-rendered app on its own origin, using the Rust SDK. */
export const helloAppPort = 3103;
/** The development instance's backend key, which hello-app uses. */
export const secretKey = "sk_test_e2e_0123456789abcdefghijklmn";
/** pk_test_ + base64("127.0.0.1:3100$"): the publishable key of the instance under test. */
/** The production instance of the admin-journey test, and the Notion stand-in it talks to. */
export const prodPort = 3200;
export const notionPort = 3201;
export const prodNotionClient = { id: "prod-client-id-0042", secret: "prod-client-secret-Zx81" };
export const adminPassword = "e2e-admin-password-1";
/** How long the dashboard may take to hydrate: the debug build's WASM, main module and the
 * section's chunks, is tens of megabytes, and these machines are shared. */
export const HYDRATION_TIMEOUT = 30_000;
const masterKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
export const publishableKey = "pk_test_MTI3LjAuMC4xOjMxMDAk";
const baseURL = `http://127.0.0.1:${port}`;
const bin = process.env.LATCHKEY_BIN || "./target/debug/latchkey";
const helloApp = process.env.HELLO_APP_BIN || "./target/debug/hello-app";
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
// The server gets a fresh, empty data dir: the one scripts/e2e.sh made (and removes), or else a
// new temporary one that the shell removes when Playwright stops the server.
const serverCommand = process.env.LATCHKEY_E2E_DATA_DIR
  ? `LATCHKEY_DATA_DIR=${shellQuote(process.env.LATCHKEY_E2E_DATA_DIR)} exec ${shellQuote(bin)}`
  : `d="$(mktemp -d -t latchkey-e2e.XXXXXX)" && trap 'rm -rf "$d"' EXIT && trap 'exit 143' TERM INT && ` +
    `LATCHKEY_DATA_DIR="$d" ${shellQuote(bin)} & wait $!`;

const config: PlaywrightTestConfig = {
  testDir: "tests",
  outputDir: "test-results",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: "list",
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    {
      command: serverCommand,
      cwd: root,
      env: {
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        RUST_LOG: process.env.RUST_LOG ?? "warn",
        // The widget tests' host app (another origin) is allowed; the other host is not.
        LATCHKEY_ALLOWED_ORIGINS: `http://127.0.0.1:${hostPort},http://app.localhost:${helloAppPort}`,
        LATCHKEY_ADMIN_PASSWORD: adminPassword,
        LATCHKEY_SECRET_KEY: secretKey,
        // Short-lived tokens, so the tests see renewals and a sign-out reach the apps quickly.
        LATCHKEY_TOKEN_LIFETIME: "10",
      },
      url: `${baseURL}/readyz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore",
      stderr: "pipe",
      gracefulShutdown: { signal: "SIGTERM", timeout: 5_000 },
    },
    {
      // A production instance: custom credentials required, Notion is the stand-in below.
      command:
        `d="$(mktemp -d -t latchkey-e2e-prod.XXXXXX)" && trap 'rm -rf "$d"' EXIT && trap 'exit 143' TERM INT && ` +
        `LATCHKEY_DATA_DIR="$d" ${shellQuote(bin)} & wait $!`,
      cwd: root,
      env: {
        LEPTOS_SITE_ADDR: `127.0.0.1:${prodPort}`,
        LATCHKEY_ENVIRONMENT: "production",
        LATCHKEY_PUBLIC_URL: `http://localhost:${prodPort}`,
        LATCHKEY_MASTER_KEY: masterKey,
        LATCHKEY_ADMIN_PASSWORD: adminPassword,
        NOTION_API_BASE: `http://127.0.0.1:${notionPort}`,
        RUST_LOG: process.env.RUST_LOG ?? "warn",
      },
      url: `http://127.0.0.1:${prodPort}/readyz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore" as const,
      stderr: "pipe" as const,
      gracefulShutdown: { signal: "SIGTERM" as const, timeout: 5_000 },
    },
    {
      command: `node end2end/notion/server.mjs ${notionPort} ${prodNotionClient.id} ${prodNotionClient.secret}`,
      cwd: root,
      url: `http://127.0.0.1:${notionPort}/v1/oauth/authorize`,
      reuseExistingServer: false,
      timeout: 10_000,
      stdout: "ignore" as const,
      stderr: "pipe" as const,
    },
    {
      command: shellQuote(helloApp),
      cwd: root,
      env: {
        LATCHKEY_URL: baseURL,
        // Another host than Latchkey's (Chromium resolves *.localhost to loopback): its cookies
        // are its own, as on app.example.com beside auth.example.com.
        APP_URL: `http://app.localhost:${helloAppPort}`,
        APP_ADDR: `127.0.0.1:${helloAppPort}`,
        LATCHKEY_SECRET_KEY: secretKey,
        RUST_LOG: "warn",
      },
      url: `http://127.0.0.1:${helloAppPort}/`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "ignore" as const,
      stderr: "pipe" as const,
    },
    ...[hostPort, strangerPort].map((p) => ({
      command: `node end2end/host/server.mjs ${p} ${baseURL} ${publishableKey}`,
      cwd: root,
      url: `http://127.0.0.1:${p}/`,
      reuseExistingServer: false,
      timeout: 10_000,
      stdout: "ignore" as const,
      stderr: "pipe" as const,
    })),
  ],
};

export default config;
