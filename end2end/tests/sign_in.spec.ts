// "Sign in with Notion", as a person clicks it, against the built-in Notion sandbox.
import { expect, test, type Page } from "@playwright/test";

type Identity =
  | { person: "Ada Lovelace" | "Grace Hopper" | "Katherine Johnson" }
  | { person: "custom"; name: string; email: string };
type Workspace = { workspace: "Acme Corp" | "Analytical Engines" } | { workspace: "custom"; name: string };

/** /sign-in → "Sign in with Notion" → the sandbox's consent page. */
async function openConsent(page: Page) {
  await page.goto("/sign-in");
  await page.getByRole("link", { name: "Sign in with Notion" }).click();
  await expect(page).toHaveURL(/\/sandbox\/notion\/v1\/oauth\/authorize\?/);
  await expect(page.getByText("Notion sandbox", { exact: false }).first()).toBeVisible();
}

/** On the consent page: pick who and which workspace. */
async function choose(page: Page, who: Identity, where: Workspace) {
  if (who.person === "custom") {
    await page.locator('input[name="person"][value="custom"]').check();
    await page.locator('input[name="custom_name"]').fill(who.name);
    await page.locator('input[name="custom_email"]').fill(who.email);
  } else {
    await page.getByRole("radio", { name: who.person }).check();
  }
  if (where.workspace === "custom") {
    await page.locator('input[name="workspace"][value="custom"]').check();
    await page.locator('input[name="custom_workspace"]').fill(where.name);
  } else {
    await page.getByRole("radio", { name: where.workspace }).check();
  }
}

/** The whole sign-in, ending on /user. */
async function signIn(page: Page, who: Identity, where: Workspace) {
  await openConsent(page);
  await choose(page, who, where);
  await page.getByRole("button", { name: "Allow access" }).click();
  await expect(page).toHaveURL(/\/user$/);
}

/** The account pages are plain HTML and forms: no script, no WASM (the dashboard's bundle stays with the dashboard). */
const scriptless = async (page: Page) => {
  await expect(page.locator("script[src], link[rel=modulepreload], link[rel=preload]")).toHaveCount(0);
  // Leptos' few inline bootstrap lines remain; the profile itself is not copied into a script.
  expect(await page.locator("script").allTextContents()).not.toContainEqual(expect.stringContaining("@"));
};

/** The profile card's own "Sign out" (session rows have one too, for other devices). */
const signOutButton = (page: Page) =>
  page.locator("section.identity").getByRole("button", { name: "Sign out" });

async function expectSignedOut(page: Page) {
  expect((await page.request.get("/v1/me")).status()).toBe(401);
  await page.goto("/user");
  await expect(page).toHaveURL(/\/sign-in(\?|$)/);
  await expect(page.getByRole("link", { name: "Sign in with Notion" })).toBeVisible();
}

test("sign in, see your account without loading any script, sign out", async ({ page }) => {
  const problems: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") problems.push(`console.${msg.type()}: ${msg.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));

  await openConsent(page);
  await choose(page, { person: "Grace Hopper" }, { workspace: "Analytical Engines" });
  await page.getByRole("button", { name: "Allow access" }).click();
  await expect(page).toHaveURL(/\/user$/);

  await expect(page.locator("h1.name")).toHaveText("Grace Hopper");
  await expect(page.locator("p.email")).toHaveText("grace@example.com");
  await expect(page.locator("ul.workspaces")).toContainText("Analytical Engines");
  await expect(page.locator("ul.sessions")).toContainText("This device");
  await expect(page.locator("ul.sessions > li")).toHaveCount(1);

  await scriptless(page);
  const fatal = problems.filter((p) =>
    /content.security.policy|refused to (execute|load|compile|evaluate)|panicked|hydration|unreachable|RuntimeError/i.test(p),
  );
  expect(fatal, `console errors while loading /user:\n${problems.join("\n")}`).toEqual([]);

  const me = await page.request.get("/v1/me");
  expect(me.status()).toBe(200);
  expect((await me.json()).user).toMatchObject({ name: "Grace Hopper", email: "grace@example.com" });

  await signOutButton(page).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await expectSignedOut(page);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("sign in and sign out with plain links and forms", async ({ page }) => {
    await signIn(page, { person: "Ada Lovelace" }, { workspace: "Acme Corp" });
    await expect(page.locator("h1.name")).toHaveText("Ada Lovelace");
    await expect(page.locator("p.email")).toHaveText("ada@example.com");
    await expect(page.locator("ul.workspaces")).toContainText("Acme Corp");
    await expect(page.locator("ul.sessions")).toContainText("This device");

    await signOutButton(page).click();
    await expect(page).toHaveURL(/\/sign-in$/);
    await expectSignedOut(page);
  });
});

test("the sandbox's Allow access is on the first screen, on a laptop and on a phone", async ({ page }) => {
  for (const viewport of [{ width: 1280, height: 720 }, { width: 390, height: 844 }]) {
    await page.setViewportSize(viewport);
    await openConsent(page);
    await expect(page.getByRole("button", { name: "Allow access" }), `${viewport.width}×${viewport.height}`).toBeInViewport();
  }
});

test("a name and workspace that look like HTML are shown as text", async ({ page }) => {
  const dialogs: string[] = [];
  page.on("dialog", async (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss();
  });
  const name = "<b>Eve</b> O'Hara";
  const workspace = "<img src=x onerror=alert(1)>";

  await signIn(page, { person: "custom", name, email: "eve@example.com" }, { workspace: "custom", name: workspace });
  await scriptless(page);

  await expect(page.locator("h1.name")).toHaveText(name);
  await expect(page.locator("h1.name b")).toHaveCount(0);
  await expect(page.locator("p.email")).toHaveText("eve@example.com");
  await expect(page.locator("ul.workspaces .ws-name")).toHaveText(workspace);
  await expect(page.locator("ul.workspaces img")).toHaveCount(0);
  await expect(page.locator('img[src="x"]')).toHaveCount(0);

  // Give a smuggled onerror handler the time it would need to fire.
  await page.waitForTimeout(500);
  expect(dialogs).toEqual([]);

  expect((await (await page.request.get("/v1/me")).json()).user).toMatchObject({ name, email: "eve@example.com" });
});

test("cancelling on Notion's consent page explains what happened, and the way back keeps the app", async ({ page }) => {
  // The person came from an app (the widget's host, an allowed origin).
  const app = "http://127.0.0.1:3101/after?tab=2";
  await page.goto(`/sign-in?redirect_url=${encodeURIComponent(app)}`);
  await page.getByRole("link", { name: "Sign in with Notion" }).click();
  const callback = page.waitForResponse(
    (r) => r.url().includes("/v1/oauth_callback") && r.request().isNavigationRequest(),
  );
  await page.getByRole("button", { name: "Cancel" }).click();
  const response = await callback;
  // The person's own choice: a page, not an error.
  expect(response.status()).toBe(200);

  await expect(page.getByRole("heading", { level: 1 })).toHaveText("You cancelled the sign-in");
  await expect(page.locator('[data-error="access_denied"]')).toBeVisible();
  await expect(page.getByText("Error code")).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Back to 127.0.0.1" })).toHaveAttribute("href", app);
  expect((await page.request.get("/v1/me")).status()).toBe(401);

  // Try again still ends in the app.
  await page.getByRole("link", { name: "Try again" }).click();
  await expect(page).toHaveURL(`/sign-in?redirect_url=${encodeURIComponent(app)}`);
  await page.getByRole("link", { name: "Sign in with Notion" }).click();
  await page.locator('input[name="person"][value="custom"]').check();
  await page.locator('input[name="custom_name"]').fill("Returning Rita");
  await page.locator('input[name="custom_email"]').fill("rita@example.com");
  await page.getByRole("button", { name: "Allow access" }).click();
  await expect(page).toHaveURL(app);

  // Manage account from that app: /user leads back to it.
  await page.goto(`/user?redirect_url=${encodeURIComponent(app)}`);
  await expect(page.locator("h1.name")).toHaveText("Returning Rita");
  await page.getByRole("link", { name: "← Back to 127.0.0.1" }).click();
  await expect(page).toHaveURL(app);
  // A site that is not allowed gets no link.
  await page.goto(`/user?redirect_url=${encodeURIComponent("https://evil.example/")}`);
  await expect(page.locator("h1.name")).toHaveText("Returning Rita");
  await expect(page.getByRole("link", { name: /Back to/ })).toHaveCount(0);
  await signOutButton(page).click();
});

test("signing another device out ends that device's session", async ({ browser }) => {
  const first = await browser.newContext();
  const second = await browser.newContext();
  try {
    const laptop = await first.newPage();
    const phone = await second.newPage();
    await signIn(laptop, { person: "Katherine Johnson" }, { workspace: "Acme Corp" });
    await signIn(phone, { person: "Katherine Johnson" }, { workspace: "Acme Corp" });
    expect((await phone.request.get("/v1/me")).status()).toBe(200);

    await laptop.reload();
    await scriptless(laptop);
    const sessions = laptop.locator("ul.sessions > li");
    await expect(sessions).toHaveCount(2);
    await expect(laptop.locator("ul.sessions")).toContainText("This device");
    const other = sessions.filter({ hasNot: laptop.getByText("This device") });
    await expect(other).toHaveCount(1);

    await other.getByRole("button", { name: "Sign out" }).click();
    await expect(laptop).toHaveURL(/\/user$/);
    await expect(sessions).toHaveCount(1);
    await expect(sessions.first()).toContainText("This device");

    expect((await phone.request.get("/v1/me")).status()).toBe(401);
    await phone.goto("/user");
    await expect(phone).toHaveURL(/\/sign-in(\?|$)/);
    expect((await laptop.request.get("/v1/me")).status()).toBe(200);

    // Leave no session behind for a later run against the same server.
    await signOutButton(laptop).click();
    await expect(laptop).toHaveURL(/\/sign-in$/);
  } finally {
    await first.close();
    await second.close();
  }
});

test("Back after signing in, and Allow again, leaves a signed-in person on their account", async ({ page }) => {
  await signIn(page, { person: "Katherine Johnson" }, { workspace: "Acme Corp" });
  // Back lands on Notion's (the sandbox's) consent page of the finished sign-in; answering it
  // again brings a used state to the callback.
  await page.goBack();
  await expect(page).toHaveURL(/\/sandbox\/notion\/v1\/oauth\/authorize\?/);
  await page.getByRole("radio", { name: "Katherine Johnson" }).check();
  await page.getByRole("button", { name: "Allow access" }).click();
  await expect(page).toHaveURL(/\/user$/);
  await expect(page.locator("h1.name")).toHaveText("Katherine Johnson");
  await expect(page.getByText("no longer valid")).toHaveCount(0);
  await expect(page.locator("ul.sessions > li")).toHaveCount(1);
});
