// Latchkey as the OpenID Provider of a relying party no one here wrote: Apache httpd with
// Debian's mod_auth_openidc protects a page; in Chromium, a person opens it, signs in with
// Notion (the sandbox), allows the app on Latchkey's consent page, and Apache shows the page
// with their email. (scripts/setup.sh --test installs apache2 and libapache2-mod-auth-openidc.)
import { test, expect } from "@playwright/test";
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { secretKey } from "../playwright.config";

const dev = "http://127.0.0.1:3100";
const apachePort = 3104;
// Another host than Latchkey's, so each keeps its own cookies (Chromium resolves *.localhost).
const apache = `http://apache.localhost:${apachePort}`;
const modules = "/usr/lib/apache2/modules";

async function backend(method: string, route: string, body?: unknown) {
  const response = await fetch(`${dev}${route}`, {
    method,
    headers: { authorization: `Bearer ${secretKey}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json().catch(() => null) };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** A minimal httpd: only the modules this page needs, everything in `dir`. */
function apacheConfig(dir: string, clientId: string, clientSecret: string) {
  const load = (name: string, file: string) => `LoadModule ${name}_module ${modules}/${file}.so`;
  return [
    load("mpm_event", "mod_mpm_event"),
    load("authn_core", "mod_authn_core"),
    load("authz_core", "mod_authz_core"),
    load("authz_user", "mod_authz_user"),
    load("mime", "mod_mime"),
    load("include", "mod_include"),
    load("auth_openidc", "mod_auth_openidc"),
    `ServerName apache.localhost`,
    `Listen 127.0.0.1:${apachePort}`,
    `PidFile ${dir}/httpd.pid`,
    `ErrorLog ${dir}/error.log`,
    `LogLevel warn auth_openidc:info`,
    // As root (CI), the workers drop to www-data; otherwise this is ignored.
    `User www-data`,
    `Group www-data`,
    `TypesConfig /etc/mime.types`,
    `DocumentRoot ${dir}/www`,
    `OIDCProviderMetadataURL ${dev}/.well-known/openid-configuration`,
    `OIDCClientID ${clientId}`,
    `OIDCClientSecret ${clientSecret}`,
    `OIDCRedirectURI ${apache}/protected/redirect_uri`,
    `OIDCCryptoPassphrase ${Math.random().toString(36).slice(2)}${Date.now()}`,
    `OIDCScope "openid email profile"`,
    `OIDCPKCEMethod S256`,
    `OIDCRemoteUserClaim email`,
    `<Directory ${dir}/www>`,
    `  Options +Includes`,
    `  AddOutputFilter INCLUDES .shtml`,
    `</Directory>`,
    `<Location /protected>`,
    `  AuthType openid-connect`,
    `  Require valid-user`,
    `</Location>`,
    "",
  ].join("\n");
}

test("Apache with mod_auth_openidc protects a page, and a person signs in to it with Notion", async ({ page }) => {
  test.setTimeout(60_000);
  test.skip(!existsSync(`${modules}/mod_auth_openidc.so`), "needs libapache2-mod-auth-openidc (scripts/setup.sh --test)");
  const created = await backend("POST", "/v1/admin/oauth_applications", {
    name: "Team wiki",
    redirect_uris: [`${apache}/protected/redirect_uri`],
  });
  expect(created.status).toBe(201);
  const app = created.json;

  const dir = mkdtempSync(path.join(tmpdir(), "latchkey-apache-"));
  mkdirSync(`${dir}/www/protected`, { recursive: true });
  chmodSync(dir, 0o755);
  writeFileSync(
    `${dir}/www/protected/index.shtml`,
    `<!doctype html><title>Team wiki</title><h1>Team wiki</h1><p>Signed in as <b id="who"><!--#echo var="REMOTE_USER" --></b></p>\n`,
  );
  writeFileSync(`${dir}/httpd.conf`, apacheConfig(dir, app.client_id, app.client_secret));
  let httpd: ChildProcess | undefined;
  try {
    httpd = spawn("/usr/sbin/apache2", ["-DFOREGROUND", "-f", `${dir}/httpd.conf`], { stdio: "ignore" });
    const started = Date.now();
    while (!(await portOpen(apachePort))) {
      const log = existsSync(`${dir}/error.log`) ? readFileSync(`${dir}/error.log`, "utf8") : "";
      if (httpd.exitCode !== null || Date.now() - started > 10_000) throw new Error(`apache did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // Opening the protected page goes to Latchkey, and there to sign in with Notion.
    await page.goto(`${apache}/protected/index.shtml`);
    await expect(page).toHaveURL(/\/sign-in\?/);
    await page.getByRole("link", { name: "Sign in with Notion" }).click();
    await page.locator('input[name="person"][value="custom"]').check();
    await page.locator('input[name="custom_name"]').fill("Wiki Reader");
    await page.locator('input[name="custom_email"]').fill("wiki.reader@example.org");
    await page.getByRole("button", { name: "Allow access" }).click();

    // Latchkey's consent page says which app and what it will see.
    await expect(page.getByRole("heading", { name: /Team wiki/ })).toBeVisible();
    await expect(page.getByText("apache.localhost")).toBeVisible();
    await expect(page.getByText(/email address/)).toBeVisible();
    await page.getByRole("button", { name: "Allow" }).click();

    // Back at Apache, which checked the ID token and shows the page with the person's email.
    await expect(page).toHaveURL(`${apache}/protected/index.shtml`);
    await expect(page.locator("#who")).toHaveText("wiki.reader@example.org");
    // A second visit is Apache's own session: no trip to Latchkey.
    await page.goto(`${apache}/protected/index.shtml`);
    await expect(page.locator("#who")).toHaveText("wiki.reader@example.org");
  } catch (error) {
    const log = existsSync(`${dir}/error.log`) ? readFileSync(`${dir}/error.log`, "utf8") : "";
    throw new Error(`${error}\n--- apache error.log ---\n${log}`);
  } finally {
    httpd?.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
    await backend("DELETE", `/v1/admin/oauth_applications/${app.id}`);
  }
});
