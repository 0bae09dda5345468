// The admin's journey, click for click (PRODUCT.md): a development instance and a production
// instance, from the dashboard's sign-in to a person signing in through the new connection.
import { test, expect, type Page } from "@playwright/test";
import { adminPassword, prodPort, prodNotionClient, HYDRATION_TIMEOUT } from "../playwright.config";

const dev = "http://127.0.0.1:3100";
const prod = `http://localhost:${prodPort}`;

async function signInAsAdmin(page: Page, base: string, password = adminPassword) {
  await page.goto(`${base}/dashboard`);
  await expect(page.locator(".dashboard[data-hydrated=true]")).toBeVisible({ timeout: HYDRATION_TIMEOUT });
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
  await page.getByLabel("Choose provider").selectOption("Notion");
  await expect(page.getByLabel("Enable for sign-up and sign-in")).toBeChecked();
  await expect(page.getByLabel("Use custom credentials")).not.toBeChecked();
  await page.getByRole("dialog").getByRole("button", { name: "Add connection" }).click();
  await expect(page.getByRole("dialog")).toHaveCount(0);
  await expect(page.getByRole("cell", { name: "Shared" })).toHaveCount(1);
  // Adding a second one explains why not.
  await page.getByRole("button", { name: "Add connection" }).click();
  await page.getByRole("button", { name: "For all users" }).click();
  await page.getByLabel("Choose provider").selectOption("Notion");
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
  // Sign-ups are open until the admin closes them.
  await expect(page.getByRole("switch", { name: "Anyone with a Notion account can sign up" })).toBeChecked();
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
  await page.getByLabel("Choose provider").selectOption("Notion");
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

test("the Users page pages through 45 users, both ways", async ({ page, playwright }) => {
  test.setTimeout(90_000);
  for (let n = 1; n <= 45; n++) await signUpPerson(playwright, n);
  await signInAsAdmin(page, dev);
  await page.getByRole("link", { name: "Users" }).click();
  const next = page.getByRole("button", { name: "Next", exact: true });
  const previous = page.getByRole("button", { name: "Previous", exact: true });
  await expect(next).toBeEnabled();
  await expect(previous).toBeDisabled();
  const total = Number((await page.locator(".pager .muted").textContent())?.match(/\d+/)?.[0]);
  expect(total).toBeGreaterThanOrEqual(45);
  const seen = new Set<string>();
  const pages: string[] = [];
  for (let p = 0; p < Math.ceil(total / 20); p++) {
    if (p > 0) {
      await next.click();
      // The next page's rows, not the last page's, nor none while it loads.
      await expect
        .poll(async () => {
          const shown = (await page.locator("tbody tr").allTextContents()).join("|");
          return shown !== "" && shown !== pages[p - 1];
        })
        .toBe(true);
    }
    const rows = await page.locator("tbody tr").allTextContents();
    expect(rows.length).toBe(p < Math.ceil(total / 20) - 1 ? 20 : total - 20 * p);
    rows.forEach((r) => seen.add(r));
    pages.push(rows.join("|"));
  }
  // Every user once, and Next stops on the last page.
  expect(seen.size).toBe(total);
  await expect(next).toBeDisabled();
  await previous.click();
  await expect.poll(async () => (await page.locator("tbody tr").allTextContents()).join("|")).toBe(pages[pages.length - 2]);
});

/** Presses Tab until `target` has the focus (at most `max` times), as a keyboard user would. */
async function tabTo(page: Page, target: import("@playwright/test").Locator, max = 40) {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
    await page.keyboard.press("Tab");
  }
  await expect(target).toBeFocused();
}

const focusInside = (page: Page, selector: string) =>
  page.evaluate((s) => !!document.activeElement && !!document.querySelector(s)?.contains(document.activeElement), selector);

test("the admin's journey by keyboard alone: focus moves into the dialog, stays there, and comes back", async ({ page }) => {
  await page.goto(`${dev}/dashboard`);
  await expect(page.locator(".dashboard[data-hydrated=true]")).toBeVisible({ timeout: HYDRATION_TIMEOUT });
  await tabTo(page, page.getByLabel("Password"));
  await page.keyboard.type(adminPassword);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "SSO connections" })).toBeVisible();

  // Enter opens the dialog; focus goes to its first choice and Tab goes round inside it.
  const opener = page.getByRole("button", { name: "Add connection" });
  await tabTo(page, opener);
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog");
  await expect(dialog.getByRole("button", { name: "For all users" })).toBeFocused();
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press("Tab");
    expect(await focusInside(page, "[role=dialog]"), `Tab ${i + 1} left the dialog`).toBe(true);
  }
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press("Shift+Tab");
    expect(await focusInside(page, "[role=dialog]"), `Shift+Tab ${i + 1} left the dialog`).toBe(true);
  }
  // Escape closes it and gives the focus back to the button that opened it.
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  await expect(opener).toBeFocused();

  // Space opens it again; the provider is a labelled select the arrow keys choose in.
  await page.keyboard.press(" ");
  await expect(dialog.getByRole("button", { name: "For all users" })).toBeFocused();
  await page.keyboard.press("Enter");
  const provider = dialog.getByLabel("Choose provider");
  await expect(provider).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(provider).toHaveValue("notion");
  const enable = dialog.getByRole("switch", { name: "Enable for sign-up and sign-in" });
  await page.keyboard.press("Tab");
  await expect(enable).toBeFocused();
  await page.keyboard.press(" ");
  await expect(enable).not.toBeChecked();
  await page.keyboard.press(" ");
  await expect(enable).toBeChecked();
  await tabTo(page, dialog.getByRole("button", { name: "Add connection" }));
  await page.keyboard.press("Enter");
  // A development instance already has its connection (an earlier test, or the first start's
  // own, which this takes over): either way the dialog says what happened.
  const refused = dialog.getByRole("alert");
  await expect(refused.or(page.getByRole("status").filter({ hasText: "Notion" }))).toBeVisible();
  if (await refused.isVisible()) {
    await expect(refused).toContainText("already a Notion connection");
    expect(await focusInside(page, "[role=dialog]")).toBe(true);
    await page.keyboard.press("Escape");
  }
  await expect(dialog).toHaveCount(0);
  await expect(opener).toBeFocused();

  // The connection's page: a switch turned off asks before saving, and Save says so.
  await tabTo(page, page.getByRole("link", { name: "Configure" }));
  await page.keyboard.press("Enter");
  const on = page.getByRole("switch", { name: "Enable for sign-up and sign-in" });
  await tabTo(page, on);
  await page.keyboard.press(" ");
  await tabTo(page, page.getByRole("button", { name: "Save" }));
  await page.keyboard.press("Enter");
  await expect(page.getByRole("alertdialog", { name: "Confirm disable" })).toBeVisible();
  await tabTo(page, page.getByRole("button", { name: "Keep it on" }));
  await page.keyboard.press("Enter");
  await expect(page.getByRole("alertdialog")).toHaveCount(0);
  await tabTo(page, on);
  await page.keyboard.press(" ");
  await expect(on).toBeChecked();
  await tabTo(page, page.getByRole("button", { name: "Save" }));
  await page.keyboard.press("Enter");
  await expect(page.locator(".save-notice")).toHaveText("Saved.");
  // …and the message goes after a few seconds.
  await expect(page.locator(".save-notice")).toHaveText("", { timeout: 8_000 });
});

test("on a phone (390×844) no dashboard page scrolls sideways, and the sections stay one tap away", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signInAsAdmin(page, dev);
  await expect(page.getByRole("heading", { name: "SSO connections" })).toBeVisible();
  const sections = ["SSO connections", "Account Portal", "Users", "Webhooks", "OAuth applications", "API keys", "Audit log"];
  for (const name of sections) {
    await page.getByRole("navigation", { name: "Dashboard" }).getByRole("link", { name }).click();
    await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
    await expect(page.locator(".loading")).toHaveCount(0);
    const [scrollWidth, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(scrollWidth, `${name} is wider than the phone`).toBeLessThanOrEqual(width);
    // The sidebar is one row at the top, not a column of tall tiles.
    const nav = await page.getByRole("navigation", { name: "Dashboard" }).boundingBox();
    expect(nav!.height, `${name}: the sidebar's height`).toBeLessThan(80);
  }
  // Moving between sections keeps the frame: the sidebar never gives way to a bare "Loading…".
  await page.getByRole("navigation", { name: "Dashboard" }).getByRole("link", { name: "Users" }).click();
  await expect(page.getByRole("navigation", { name: "Dashboard" })).toBeVisible();
});

test("opening the dashboard fetches what its page names, and a section's code only when it is first opened", async ({ page }) => {
  await signInAsAdmin(page, dev);
  await expect(page.getByRole("heading", { name: "SSO connections" })).toBeVisible();
  // A fresh load of the first section, signed in, every same-origin file the browser asks for.
  const fetched: string[] = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.origin === dev) fetched.push(url.pathname);
  });
  await page.goto(`${dev}/dashboard`);
  await expect(page.locator(".dashboard[data-hydrated=true]")).toBeVisible({ timeout: HYDRATION_TIMEOUT });
  await expect(page.getByRole("heading", { name: "SSO connections" })).toBeVisible();
  await page.waitForLoadState("networkidle");
  // What the page names: the files the benchmark's page weight counts (with the main module,
  // which the hydration script loads).
  const named = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLLinkElement | HTMLScriptElement>("link[href], script[src]")].map(
      (element) => new URL("href" in element ? element.href : element.src).pathname,
    ),
  );
  const wasm = (list: string[]) => [...new Set(list.filter((path) => path.endsWith(".wasm")))];
  const chunks = wasm(fetched).filter((path) => !path.endsWith("/latchkey.wasm"));
  expect(chunks.length, `the first section's chunks: ${fetched.join(", ")}`).toBeGreaterThan(0);
  for (const chunk of chunks) expect(named, `${chunk} is fetched but the page does not name it`).toContain(chunk);

  // Another section's code comes when it is opened, not before.
  const before = wasm(fetched).length;
  await page.getByRole("navigation", { name: "Dashboard" }).getByRole("link", { name: "Users" }).click();
  await expect(page.getByRole("heading", { name: "Users", level: 1 })).toBeVisible();
  expect(wasm(fetched).length, "the Users section's chunks").toBeGreaterThan(before);
});
