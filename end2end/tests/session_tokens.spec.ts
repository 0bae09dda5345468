// Session tokens on other origins, in Chromium: the widget keeps a token on the app's origin
// that `jose` (a library no one here wrote) verifies against Latchkey's JWKS; a server-rendered
// app on its own origin (examples/hello-app, the Rust SDK) learns who is signed in with
// JavaScript off, calls Notion (the sandbox) as them, and sees the sign-out.
import { test, expect, type Page } from "@playwright/test";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { hostPort, helloAppPort } from "../playwright.config";

const latchkey = "http://127.0.0.1:3100";
const host = `http://127.0.0.1:${hostPort}`;
const helloApp = `http://app.localhost:${helloAppPort}`;
const jwks = createRemoteJWKSet(new URL(`${latchkey}/.well-known/jwks.json`));

async function pickAndAllow(page: Page, person: string) {
  await expect(page.getByText("Notion sandbox")).toBeVisible();
  await page.locator(`input[name="person"][value="${person}"]`).check();
  await page.getByRole("button", { name: "Allow access" }).click();
}

const tokenCookie = async (page: Page) =>
  (await page.context().cookies(host)).find((c) => c.name === "latchkey_token")?.value;

test("the widget keeps a session token on the app's origin that jose verifies, renews it, and drops it at sign-out", async ({ page }) => {
  test.setTimeout(60_000);
  await page.goto(`${host}/`);
  await page.getByRole("button", { name: "Sign in with Notion" }).click();
  await pickAndAllow(page, "grace");
  await page.waitForURL(`${host}/`);
  await expect(page.getByRole("button", { name: "Grace Hopper" })).toBeVisible();

  const token = await page.evaluate(() => (window as any).Latchkey.getToken());
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: latchkey, algorithms: ["EdDSA"] });
  expect(protectedHeader.typ).toBe("JWT");
  expect(payload.azp).toBe(host);
  const me = await (await page.request.get(`${latchkey}/v1/me`)).json();
  expect(payload.sub).toBe(me.user.id);
  expect(payload.sid).toBe(me.session.id);

  // The app's own server gets it as a cookie on its own origin: readable, Lax.
  await expect.poll(() => tokenCookie(page)).toBeTruthy();
  const cookie = (await page.context().cookies(host)).find((c) => c.name === "latchkey_token");
  expect(cookie?.httpOnly).toBe(false);
  expect(cookie?.sameSite).toBe("Lax");
  await jwtVerify(cookie!.value, jwks, { issuer: latchkey });

  // Renewed before it expires (10 s tokens here) while the page is open.
  const first = payload.jti;
  await expect
    .poll(async () => (await jwtVerify(await tokenCookie(page) ?? "", jwks, { issuer: latchkey }).catch(() => null))?.payload.jti, { timeout: 15_000 })
    .not.toBe(first);

  // Sign-out from the widget clears it; getToken answers null.
  await page.getByRole("button", { name: "Grace Hopper" }).click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(page.getByRole("button", { name: "Sign in with Notion" })).toBeVisible();
  await expect.poll(() => tokenCookie(page)).toBeUndefined();
  expect(await page.evaluate(() => (window as any).Latchkey.getToken())).toBeNull();
});

test("a server-rendered app on another origin knows the person with JavaScript off, and sees the sign-out", async ({ browser }) => {
  test.setTimeout(60_000);
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${helloApp}/`);
  await expect(page.locator("#who")).toHaveText("You are signed out.");

  await page.getByRole("link", { name: "Sign in with Notion" }).click();
  await page.waitForURL(/\/sign-in\?/);
  await page.getByRole("link", { name: "Sign in with Notion" }).click();
  await pickAndAllow(page, "ada");
  await page.waitForURL(`${helloApp}/`);
  await expect(page.locator("#who")).toHaveText("Hello, Ada Lovelace!");
  // Its server called Notion (the sandbox) with Ada's token from the backend API.
  await expect(page.locator("#notion")).toContainText("Notion says your workspace is");
  expect(page.url()).not.toContain("__latchkey_handshake");
  // The token lives on the app's host only; Latchkey's session cookie never reaches it.
  const appCookies = (await context.cookies(helloApp)).map((c) => c.name);
  expect(appCookies).toContain("latchkey_token");
  expect(appCookies).not.toContain("latchkey_session");

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/sign-in/);
  // Within the token's lifetime (10 s here) the app's server sees signed out.
  await expect
    .poll(
      async () => {
        await page.goto(`${helloApp}/`);
        return page.locator("#who").textContent();
      },
      { timeout: 30_000, intervals: [2_000] },
    )
    .toBe("You are signed out.");
  await context.close();
});
