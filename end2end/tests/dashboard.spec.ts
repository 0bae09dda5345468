// The admin's journey, click for click (PRODUCT.md): a development instance and a production
// instance, from the dashboard's sign-in to a person signing in through the new connection.
import { test, expect, type Page } from "@playwright/test";
import { adminPassword, prodPort, prodNotionClient } from "../playwright.config";

const dev = "http://127.0.0.1:3100";
const prod = `http://localhost:${prodPort}`;

async function signInAsAdmin(page: Page, base: string, password = adminPassword) {
  await page.goto(`${base}/dashboard`);
  await expect(page.locator(".dashboard[data-hydrated=true]")).toBeVisible();
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("the dashboard needs the admin password, and refuses a wrong one", async ({ page }) => {
  await page.goto(`${dev}/dashboard/users`);
  await expect(page.getByRole("heading", { name: "Dashboard sign-in" })).toBeVisible();
  await expect(page.getByText("SSO connections")).toHaveCount(0);
  await signInAsAdmin(page, dev, "not-the-password");
  await expect(page.getByRole("alert")).toContainText("do not match");
  await expect(page.getByRole("heading", { name: "SSO connections" })).toHaveCount(0);
  // The server functions refuse without the admin cookie, too.
  const answer = await page.request.post(`${dev}/api/dashboard/connections`, { data: {} });
  expect(answer.status()).toBeGreaterThanOrEqual(400);
  expect(await answer.text()).not.toContain("redirect_uri");
});

test("development: Add connection → For all users → Notion → Add connection → Visit → sign in", async ({ page }) => {
  // The dashboard hydrates under the strict CSP (nonce scripts, WASM): nothing refused, nothing panics.
  const problems: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") problems.push(`console.${msg.type()}: ${msg.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  await signInAsAdmin(page, dev);
  const fatal = problems.filter((p) =>
    /content.security.policy|refused to (execute|load|compile|evaluate)|panicked|hydration|unreachable|RuntimeError/i.test(p),
  );
  expect(fatal, `console errors while loading /dashboard:\n${problems.join("\n")}`).toEqual([]);
  await expect(page.getByRole("heading", { name: "SSO connections" })).toBeVisible();
  await expect(page.getByText("Development instance")).toBeVisible();

  // A development instance starts with a shared-credentials connection, so signing in works at
  // once; following the journey from there adds Notion by taking that one over.
  await page.getByRole("button", { name: "Add connection" }).click();
  await page.getByRole("button", { name: "For all users" }).click();
  await page.getByRole("button", { name: "Notion" }).click();
  await expect(page.getByLabel("Enable for sign-up and sign-in")).toBeChecked();
  await expect(page.getByLabel("Use custom credentials")).not.toBeChecked();
  await page.getByRole("dialog").getByRole("button", { name: "Add connection" }).click();
  await expect(page.getByRole("dialog")).toHaveCount(0);
  await expect(page.getByRole("cell", { name: "Shared" })).toHaveCount(1);
  // Adding a second one explains why not.
  await page.getByRole("button", { name: "Add connection" }).click();
  await page.getByRole("button", { name: "For all users" }).click();
  await page.getByRole("button", { name: "Notion" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Add connection" }).click();
  await expect(page.getByRole("dialog").getByRole("alert")).toContainText("already a Notion connection");
  await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();

  // Delete asks first.
  await page.getByRole("link", { name: "Configure" }).click();
  await page.getByRole("button", { name: "Delete" }).click();
  await expect(page.getByRole("alertdialog")).toContainText("Delete this connection?");
  await page.getByRole("button", { name: "Keep it" }).click();
  await expect(page.getByRole("alertdialog")).toHaveCount(0);

  await page.getByRole("link", { name: "Account Portal" }).click();
  await page.getByRole("listitem").filter({ hasText: "Sign-in URL" }).getByRole("link", { name: "Visit" }).click();
  await expect(page).toHaveURL(`${dev}/sign-in`);
  await page.getByRole("link", { name: "Sign in with Notion" }).click();
  // A person of this test's own, so other tests' session counts are untouched.
  await page.locator('input[name="person"][value="custom"]').check();
  await page.locator('input[name="custom_name"]').fill("Dana Journey");
  await page.locator('input[name="custom_email"]').fill("dana@example.com");
  await page.getByRole("button", { name: "Allow access" }).click();
  await expect(page.locator("h1.name")).toHaveText("Dana Journey");
});

test("production: custom credentials, copy the Authorization URL, Add connection, Visit, sign in", async ({ page, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: prod });
  await signInAsAdmin(page, prod);
  await expect(page.getByRole("heading", { name: "SSO connections" })).toBeVisible();
  await expect(page.getByText("Development instance")).toHaveCount(0);
  await expect(page.getByText("No connections yet")).toBeVisible();

  await page.getByRole("button", { name: "Add connection" }).click();
  await page.getByRole("button", { name: "For all users" }).click();
  await page.getByRole("button", { name: "Notion" }).click();
  await expect(page.getByLabel("Enable for sign-up and sign-in")).toBeChecked();
  const custom = page.getByLabel("Use custom credentials");
  await expect(custom).toBeChecked();
  await expect(custom).toBeDisabled();

  // Saving without credentials is refused with a message a person can act on.
  const dialog = page.getByRole("dialog");
  await dialog.getByRole("button", { name: "Add connection" }).click();
  await expect(dialog.getByRole("alert")).toContainText("client ID and client secret");

  await expect(page.getByLabel("Authorization URL")).toHaveValue(`${prod}/v1/oauth_callback`);
  await expect(page.getByText("Notion wants https")).toBeVisible();
  await dialog.getByRole("button", { name: "Copy" }).click();
  await expect(dialog.getByRole("button", { name: "Copied" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${prod}/v1/oauth_callback`);

  await page.getByLabel("OAuth Client ID").fill(prodNotionClient.id);
  await page.getByLabel("OAuth Client Secret").fill(prodNotionClient.secret);
  await dialog.getByRole("button", { name: "Add connection" }).click();
  await expect(page.getByRole("dialog")).toHaveCount(0);
  await expect(page.getByRole("cell", { name: "Custom" })).toBeVisible();

  // The secret is write-only: the connection's page says one is set and never shows it.
  await page.getByRole("link", { name: "Configure" }).click();
  await expect(page.getByLabel("OAuth Client Secret")).toHaveAttribute("placeholder", /A secret is set/);
  expect(await page.content()).not.toContain(prodNotionClient.secret);

  await page.getByRole("link", { name: "Account Portal" }).click();
  await page.getByRole("listitem").filter({ hasText: "Sign-in URL" }).getByRole("link", { name: "Visit" }).click();
  await page.getByRole("link", { name: "Sign in with Notion" }).click();
  await expect(page.getByRole("heading", { name: "Notion stand-in" })).toBeVisible();
  await page.getByRole("link", { name: "Allow access" }).click();
  await expect(page.locator("h1.name")).toHaveText("Production Pat");
  await expect(page.locator("p.email")).toHaveText("pat@example.com");
});

/** Signs a new person up through the sandbox with HTTP alone (no page), as the person typed in. */
async function signUpPerson(playwright: typeof import("@playwright/test"), n: number) {
  const request = await playwright.request.newContext({ maxRedirects: 0 });
  const start = await request.get(`${dev}/v1/oauth/notion/start?intent=sign_up`);
  const authorize = new URL(start.headers()["location"]);
  const form: Record<string, string> = {
    person: "custom", custom_name: `Pager Person ${n}`, custom_email: `pager${n}@example.com`,
    workspace: "0", quirk: "none", decision: "allow",
  };
  for (const name of ["client_id", "redirect_uri", "response_type", "owner", "state"]) {
    form[name] = authorize.searchParams.get(name) ?? "";
  }
  const decided = await request.post(`${dev}/sandbox/notion/v1/oauth/authorize`, { form });
  const landed = await request.get(decided.headers()["location"]);
  expect(landed.status()).toBe(303);
  await request.dispose();
}

test("the Users page pages through more than 20 users", async ({ page, playwright }) => {
  test.setTimeout(60_000);
  for (let n = 1; n <= 21; n++) await signUpPerson(playwright, n);
  await signInAsAdmin(page, dev);
  await page.getByRole("link", { name: "Users" }).click();
  const next = page.getByRole("button", { name: "Next", exact: true });
  const previous = page.getByRole("button", { name: "Previous", exact: true });
  await expect(next).toBeEnabled();
  await expect(previous).toBeDisabled();
  const firstPage = await page.locator("tbody tr").allTextContents();
  expect(firstPage.length).toBe(20);
  await next.click();
  await expect(previous).toBeEnabled();
  await expect.poll(async () => (await page.locator("tbody tr").allTextContents()).join("|")).not.toBe(firstPage.join("|"));
});
