// Latchkey as operators run it (README, "Operating it"): Debian's nginx terminates TLS with a
// certificate made here and proxies to one Latchkey, or round-robin to two replicas on one
// PostgreSQL database; Chromium does everything through nginx's https URL.
//   - one replica: a development instance on SQLite, a person signs in with the sandbox;
//   - two replicas: a production instance; the admin adds the Notion connection in the
//     dashboard and a person signs in with it, the requests spread over both replicas.
// (scripts/setup.sh --test installs nginx and openssl; scripts/test.sh passes the PostgreSQL
// server in LATCHKEY_TEST_POSTGRES. Without them the tests are skipped, and under CI=true fail.)
import { test, expect, type Browser, type Page } from "@playwright/test";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { adminPassword, notionPort, prodNotionClient, HYDRATION_TIMEOUT } from "../playwright.config";

const root = path.resolve(__dirname, "../..");
const bin = path.resolve(root, process.env.LATCHKEY_BIN || "target/debug/latchkey");
const nginxBin = "/usr/sbin/nginx";
const nginxPort = 3105;
const replicaPorts = [3106, 3107];
const publicUrl = `https://localhost:${nginxPort}`;
const masterKey = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const ci = process.env.CI === "true";

/** Polls until `url` answers 200, or throws with `why()` after 20 s. */
async function waitFor(url: string, why: () => string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} never answered:\n${why()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** Everything one test starts (nginx, replicas), in one temp dir, stopped and removed at the end. */
class Deployment {
  readonly dir = mkdtempSync(path.join(tmpdir(), "latchkey-nginx-"));
  private children: ChildProcess[] = [];

  constructor() {
    // As root (CI), nginx's workers run as root too (see below) and read this dir.
    chmodSync(this.dir, 0o755);
  }

  log(name: string) {
    const file = path.join(this.dir, name);
    return existsSync(file) ? readFileSync(file, "utf8") : "";
  }

  /** The Latchkey replicas nginx sent requests to, by listen port, from nginx's access log. */
  upstreamsSeen(): Set<number> {
    const ports = this.log("access.log").split("\n").map((line) => Number(line.split(" ")[0].split(":")[1]));
    return new Set(ports.filter((p) => replicaPorts.includes(p)));
  }

  /** A Latchkey on `port` with a data dir of its own. */
  async startReplica(port: number, env: Record<string, string>) {
    const data = path.join(this.dir, `data-${port}`);
    mkdirSync(data);
    const out = openSync(path.join(this.dir, `latchkey-${port}.log`), "a");
    const child = spawn(bin, [], {
      cwd: root,
      stdio: ["ignore", out, out],
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        LATCHKEY_PUBLIC_URL: publicUrl,
        LATCHKEY_TRUSTED_PROXIES: "127.0.0.1",
        LATCHKEY_ADMIN_PASSWORD: adminPassword,
        LATCHKEY_DATA_DIR: data,
        RUST_LOG: "warn",
        ...env,
      },
    });
    this.children.push(child);
    await waitFor(`http://127.0.0.1:${port}/readyz`, () => this.log(`latchkey-${port}.log`));
  }

  async startNginx(upstreams: number[]) {
    const cert = path.join(this.dir, "cert.pem");
    const key = path.join(this.dir, "key.pem");
    const openssl = spawnSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1",
      "-keyout", key, "-out", cert,
    ]);
    if (openssl.status !== 0) throw new Error(`openssl: ${openssl.stderr}`);
    const d = this.dir;
    // README's server block, with the replicas as an upstream and a log of which one answered.
    const conf = `${process.getuid?.() === 0 ? "user root;" : ""}
worker_processes 1;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 256; }
http {
    log_format upstream '$upstream_addr $request_method $uri $status';
    access_log ${d}/access.log upstream;
    client_body_temp_path ${d}/client_body;
    proxy_temp_path ${d}/proxy;
    fastcgi_temp_path ${d}/fastcgi;
    uwsgi_temp_path ${d}/uwsgi;
    scgi_temp_path ${d}/scgi;
    upstream latchkey {
${upstreams.map((p) => `        server 127.0.0.1:${p};`).join("\n")}
    }
    server {
        listen 127.0.0.1:${nginxPort} ssl;
        server_name localhost;
        ssl_certificate ${cert};
        ssl_certificate_key ${key};
        location / {
            proxy_pass http://latchkey;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }
    }
}
`;
    writeFileSync(path.join(d, "nginx.conf"), conf);
    const child = spawn(nginxBin, ["-p", d, "-c", `${d}/nginx.conf`, "-e", `${d}/error.log`, "-g", "daemon off;"], {
      stdio: "ignore",
    });
    this.children.push(child);
    const deadline = Date.now() + 10_000;
    while (!(await portOpen(nginxPort))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start:\n${this.log("error.log")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM (nginx's master then stops its workers), then the temp dir goes. */
  async stop() {
    for (const child of this.children) child.kill("SIGTERM");
    await Promise.all(
      this.children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once("exit", r)))),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A fresh database on the test PostgreSQL server, or `null` where there is none. */
function freshPostgresDatabase(): string | null {
  const server = process.env.LATCHKEY_TEST_POSTGRES;
  if (!server) return null;
  const dirs = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").sort() : [];
  const psql = dirs.map((v) => `/usr/lib/postgresql/${v}/bin/psql`).filter(existsSync).pop() ?? "psql";
  const name = `e2e_nginx_${Date.now()}`;
  const created = spawnSync(psql, [server, "-v", "ON_ERROR_STOP=1", "-c", `CREATE DATABASE ${name}`]);
  if (created.status !== 0) throw new Error(`psql: ${created.stderr}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Chromium for the public URL: it trusts the test's own certificate, nothing else changes. */
async function browserFor(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, baseURL: publicUrl });
  return context.newPage();
}

async function expectSecureSession(page: Page) {
  const cookies = await page.context().cookies(publicUrl);
  const session = cookies.find((c) => c.name === "__Host-latchkey_session");
  expect(session, JSON.stringify(cookies.map((c) => c.name))).toBeDefined();
  expect(session?.secure && session.httpOnly).toBe(true);
  const me = await page.request.get("/v1/me");
  expect(me.status()).toBe(200);
  expect(me.headers()["strict-transport-security"]).toContain("max-age=");
}

function skipWithout(what: string, missing: boolean) {
  if (missing && ci) throw new Error(`CI=true needs ${what} for this test (scripts/test.sh provides it)`);
  test.skip(missing, `needs ${what}`);
}

test("one Latchkey behind nginx with TLS: a person signs in with the sandbox in Chromium", async ({ browser }) => {
  test.setTimeout(60_000);
  skipWithout("nginx (scripts/setup.sh --test)", !existsSync(nginxBin));
  const deployment = new Deployment();
  try {
    await deployment.startReplica(replicaPorts[0], { LATCHKEY_ENVIRONMENT: "development" });
    await deployment.startNginx([replicaPorts[0]]);
    const page = await browserFor(browser);

    await page.goto("/sign-in");
    await page.getByRole("link", { name: "Sign in with Notion" }).click();
    // The sandbox's consent page, through nginx at the public URL.
    await expect(page).toHaveURL(new RegExp(`^${publicUrl}/sandbox/notion/v1/oauth/authorize\\?`));
    await page.locator('input[name="person"][value="custom"]').check();
    await page.locator('input[name="custom_name"]').fill("Proxied Person");
    await page.locator('input[name="custom_email"]').fill("proxied@example.com");
    await page.getByRole("button", { name: "Allow access" }).click();
    await expect(page).toHaveURL(`${publicUrl}/user`);
    await expect(page.locator("h1.name")).toHaveText("Proxied Person");
    await expectSecureSession(page);

    await page.locator("section.identity").getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/sign-in(\?|$)/);
    expect((await page.request.get("/v1/me")).status()).toBe(401);
    expect(deployment.log("error.log")).not.toContain("[error]");
  } catch (error) {
    throw new Error(`${error}\n--- nginx error.log ---\n${deployment.log("error.log")}`);
  } finally {
    await deployment.stop();
  }
});

test("two replicas behind nginx: the admin adds Notion in the dashboard and a person signs in", async ({ browser }) => {
  test.setTimeout(90_000);
  skipWithout("nginx (scripts/setup.sh --test)", !existsSync(nginxBin));
  const database = freshPostgresDatabase();
  skipWithout("a PostgreSQL server in LATCHKEY_TEST_POSTGRES", database === null);
  const deployment = new Deployment();
  try {
    // Production: the same database, master key and public URL on both, as README says.
    const env = {
      LATCHKEY_ENVIRONMENT: "production",
      DATABASE_URL: database!,
      LATCHKEY_MASTER_KEY: masterKey,
      NOTION_API_BASE: `http://127.0.0.1:${notionPort}`,
    };
    // One starts first (it migrates the schema), then the other.
    await deployment.startReplica(replicaPorts[0], env);
    await deployment.startReplica(replicaPorts[1], env);
    await deployment.startNginx(replicaPorts);
    const page = await browserFor(browser);

    // The admin's journey, through nginx: every server function call is a dashboard change
    // checked against the public URL's origin, on whichever replica nginx picks.
    await page.goto("/dashboard");
    await expect(page.locator(".dashboard[data-hydrated=true]")).toBeVisible({ timeout: HYDRATION_TIMEOUT });
    await page.getByLabel("Password").fill(adminPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "SSO connections" })).toBeVisible();
    await page.getByRole("button", { name: "Add connection" }).click();
    await page.getByRole("button", { name: "For all users" }).click();
    await page.getByLabel("Choose provider").selectOption("Notion");
    const dialog = page.getByRole("dialog");
    await expect(dialog.getByLabel("Authorization URL")).toHaveValue(`${publicUrl}/v1/oauth_callback`);
    await page.getByLabel("OAuth Client ID").fill(prodNotionClient.id);
    await page.getByLabel("OAuth Client Secret").fill(prodNotionClient.secret);
    await dialog.getByRole("button", { name: "Add connection" }).click();
    await expect(page.getByRole("dialog")).toHaveCount(0);
    await expect(page.getByRole("cell", { name: "Custom" })).toBeVisible();
    // Seen by both replicas at once: the list, reloaded a few times, always has it.
    for (let i = 0; i < 3; i++) {
      await page.reload();
      await expect(page.getByRole("cell", { name: "Custom" })).toBeVisible();
    }

    // A person signs in with it: started on one replica, finished on whichever nginx picks.
    const person = await browserFor(browser);
    await person.goto("/sign-in");
    await person.getByRole("link", { name: "Sign in with Notion" }).click();
    await expect(person.getByRole("heading", { name: "Notion stand-in" })).toBeVisible();
    await person.getByRole("link", { name: "Allow access" }).click();
    await expect(person).toHaveURL(`${publicUrl}/user`);
    await expect(person.locator("h1.name")).toHaveText("Production Pat");
    await expectSecureSession(person);
    for (let i = 0; i < 4; i++) {
      await person.reload();
      await expect(person.locator("h1.name")).toHaveText("Production Pat");
    }
    expect([...deployment.upstreamsSeen()].sort()).toEqual(replicaPorts);

    // Signing out on one replica ends the session on both.
    await person.locator("section.identity").getByRole("button", { name: "Sign out" }).click();
    await expect(person).toHaveURL(/\/sign-in(\?|$)/);
    for (let i = 0; i < 2; i++) expect((await person.request.get("/v1/me")).status()).toBe(401);
    expect(deployment.log("error.log")).not.toContain("[error]");
  } catch (error) {
    const logs = replicaPorts.map((p) => `--- latchkey ${p} ---\n${deployment.log(`latchkey-${p}.log`)}`).join("\n");
    throw new Error(`${error}\n--- nginx error.log ---\n${deployment.log("error.log")}\n${logs}`);
  } finally {
    await deployment.stop();
  }
});
