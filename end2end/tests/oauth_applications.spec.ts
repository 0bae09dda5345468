// The dashboard's OAuth applications page, in Chromium: an admin registers a relying party,
// copies its client secret (shown once), turns off consent, rotates the secret, is told why a
// bad redirect URI is refused, and deletes the app; every change is in the audit log.
import { test, expect, type Page } from "@playwright/test";
import { adminPassword, HYDRATION_TIMEOUT } from "../playwright.config";

const dev = "http://127.0.0.1:3100";
const name = "Acme Wiki E2E";
const redirect = "https://wiki.example.org/auth/callback";

async function signInAsAdmin(page: Page) {
  await page.goto(`${dev}/dashboard/oauth-applications`);
  await expect(page.locator(".dashboard[data-hydrated=true]")).toBeVisible({ timeout: HYDRATION_TIMEOUT });
  await page.getByLabel("Password").fill(adminPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "OAuth applications", level: 1 })).toBeVisible();
}

/** No sideways scrolling on a phone-sized screen. */
async function expectNoHorizontalScroll(page: Page) {
  await page.setViewportSize({ width: 390, height: 844 });
  const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(widths[0], "page wider than the 390px viewport").toBeLessThanOrEqual(widths[1]);
  await page.setViewportSize({ width: 1280, height: 720 });
}

test("an admin creates an OAuth application, copies its secret once, skips consent, rotates the secret and deletes it", async ({ page, context }) => {
  test.setTimeout(60_000);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: dev });
  await signInAsAdmin(page);

  // What a relying party is configured with: the Issuer and discovery URL the server publishes.
  const issuer = await page.getByLabel("Issuer").inputValue();
  await expect(page.getByLabel("Discovery URL")).toHaveValue(`${issuer}/.well-known/openid-configuration`);
  const discovery = await (await page.request.get(`${issuer}/.well-known/openid-configuration`)).json();
  expect(discovery.issuer).toBe(issuer);

  // A redirect URI that is not a URL is refused, in words, and nothing is made.
  await page.getByRole("button", { name: "Create application" }).click();
  const form = page.getByRole("form", { name: "Create application" });
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Redirect URIs, one per line").fill("not a url");
  await form.getByRole("button", { name: "Create application" }).click();
  await expect(form.getByRole("alert")).toContainText("Redirect URIs: “not a url” is not an absolute URL");
  await expect(page.getByText("No applications yet.")).toBeVisible();

  await form.getByLabel("Redirect URIs, one per line").fill(`${redirect}\n\nhttp://127.0.0.1:4999/cb`);
  await form.getByRole("button", { name: "Create application" }).click();
  const created = page.getByRole("status", { name: "Application created" });
  await expect(created).toContainText(`${name} is registered`);
  await expect(created).toContainText("it will not be shown again");
  const clientId = await created.getByLabel("Client ID").inputValue();
  const secret = await created.getByRole("textbox", { name: "Client secret" }).inputValue();
  expect(secret).toMatch(/^[A-Za-z0-9_-]{40,}$/);
  await created.locator('[data-secret="client-secret"]').getByRole("button", { name: "Copy" }).click();
  await expect(created.locator('[data-secret="client-secret"]').getByRole("button", { name: "Copied" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row).toContainText(clientId);
  await expect(row).toContainText("Confidential");
  await expect(row).toContainText(redirect);
  await expect(row).toContainText("http://127.0.0.1:4999/cb");
  await expect(row).toContainText("Asked");
  await expectNoHorizontalScroll(page);

  // Once: after a reload the secret is nowhere on the page.
  await page.reload();
  await expect(page.locator(".dashboard[data-hydrated=true]")).toBeVisible({ timeout: HYDRATION_TIMEOUT });
  await expect(row).toBeVisible();
  await expect(page.getByRole("textbox", { name: "Client secret" })).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);

  // The application's page: the values to paste, and skip consent turned on (it stays on).
  await row.getByRole("link", { name: `Details of ${name}` }).click();
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
  await expect(page.getByLabel("Client ID")).toHaveValue(clientId);
  await expect(page.getByLabel("Issuer")).toHaveValue(issuer);
  const settings = page.getByRole("form", { name: "Application settings" });
  const skip = settings.getByRole("switch", { name: /Skip consent/ });
  await expect(skip).not.toBeChecked();
  await skip.check();
  await settings.getByRole("button", { name: "Save" }).click();
  await expect(settings.getByRole("status")).toHaveText("Saved.");
  await expectNoHorizontalScroll(page);
  await page.reload();
  await expect(page.locator(".dashboard[data-hydrated=true]")).toBeVisible({ timeout: HYDRATION_TIMEOUT });
  await expect(skip).toBeChecked();
  expect(await page.content()).not.toContain(secret);

  // Editing in a bad redirect URI is refused in words; what was saved stays.
  await settings.getByLabel("Redirect URIs, one per line").fill("not a url");
  await settings.getByRole("button", { name: "Save" }).click();
  await expect(settings.getByRole("alert")).toContainText("Redirect URIs: “not a url” is not an absolute URL");
  await page.reload();
  await expect(page.locator(".dashboard[data-hydrated=true]")).toBeVisible({ timeout: HYDRATION_TIMEOUT });
  await expect(settings.getByLabel("Redirect URIs, one per line")).toHaveValue(`${redirect}\nhttp://127.0.0.1:4999/cb`);

  // Rotate asks first, then shows a new secret, once.
  await page.getByRole("button", { name: "Rotate secret" }).click();
  await page.getByRole("button", { name: "Keep the current secret" }).click();
  await expect(page.getByRole("textbox", { name: "Client secret" })).toHaveCount(0);
  await page.getByRole("button", { name: "Rotate secret" }).click();
  await page.getByRole("alertdialog", { name: "Confirm rotate secret" }).getByRole("button", { name: "Yes, rotate" }).click();
  await expect(page.getByText("it will not be shown again")).toBeVisible();
  const rotated = await page.getByRole("textbox", { name: "Client secret" }).inputValue();
  expect(rotated).toMatch(/^[A-Za-z0-9_-]{40,}$/);
  expect(rotated).not.toBe(secret);
  await expect(page.locator('[data-secret="client-secret"]').getByRole("button", { name: "Copy" })).toBeVisible();

  await page.getByRole("link", { name: "← OAuth applications" }).click();
  await expect(row).toContainText("Skipped");

  // Delete asks first; then the app is gone from the list.
  await row.getByRole("link", { name: `Details of ${name}` }).click();
  await page.getByRole("button", { name: "Delete application" }).click();
  await expect(page.getByRole("alertdialog", { name: "Confirm delete application" })).toContainText("Delete this application?");
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await expect(page.getByRole("heading", { name: "OAuth applications", level: 1 })).toBeVisible();
  await expect(page.getByText("No applications yet.")).toBeVisible();
  await expect(page.getByRole("row").filter({ hasText: name })).toHaveCount(0);

  // Each change is in the audit log as the dashboard admin's; no secret is.
  await page.getByRole("link", { name: "Audit log" }).click();
  await expect(page.getByRole("heading", { name: "Audit log" })).toBeVisible();
  for (const action of [
    "dashboard/add-oauth-application",
    "dashboard/save-oauth-application",
    "dashboard/rotate-oauth-application-secret",
    "dashboard/delete-oauth-application",
  ]) {
    await expect(page.getByRole("row").filter({ hasText: action }).first()).toContainText("Dashboard admin");
  }
  const content = await page.content();
  expect(content).not.toContain(secret);
  expect(content).not.toContain(rotated);
});

test("a public OAuth application has no client secret to show or rotate", async ({ page }) => {
  await signInAsAdmin(page);
  await page.getByRole("button", { name: "Create application" }).click();
  const form = page.getByRole("form", { name: "Create application" });
  await form.getByLabel("Name").fill("Public SPA E2E");
  await form.getByLabel("Redirect URIs, one per line").fill("http://localhost:5173/callback");
  await form.getByRole("switch", { name: "Public client (no secret, PKCE required)" }).check();
  await form.getByRole("button", { name: "Create application" }).click();
  const created = page.getByRole("status", { name: "Application created" });
  await expect(created).toContainText("PKCE with S256 is required");
  await expect(created.getByRole("textbox", { name: "Client secret" })).toHaveCount(0);
  const row = page.getByRole("row").filter({ hasText: "Public SPA E2E" });
  await expect(row).toContainText("Public");
  await row.getByRole("link", { name: "Details of Public SPA E2E" }).click();
  await expect(page.getByRole("heading", { name: "Public SPA E2E", level: 1 })).toBeVisible();
  await expect(page.getByRole("button", { name: "Rotate secret" })).toHaveCount(0);
  await page.getByRole("button", { name: "Delete application" }).click();
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await expect(page.getByRole("row").filter({ hasText: "Public SPA E2E" })).toHaveCount(0);
});
