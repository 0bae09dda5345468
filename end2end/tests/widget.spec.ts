// The embeddable widget on another origin: a person signs in from a third-party app's page and
// comes back to it signed in; signs out from the widget; its account menu works by mouse and by
// keyboard alone; a page on an origin that is not allowed gets no user data, and its visitors a
// neutral word while the console tells the developer what to fix; so does a wrong key; a
// signed-out visit leaves the console clean; hostile host CSS does not break it.
import { test, expect, type ConsoleMessage, type Page } from "@playwright/test";
import { hostPort, strangerPort, publishableKey } from "../playwright.config";

const host = `http://127.0.0.1:${hostPort}`;
const stranger = `http://127.0.0.1:${strangerPort}`;

async function pickAndAllow(page: Page, person: string) {
  await expect(page.getByText("Notion sandbox")).toBeVisible();
  await page.locator(`input[name="person"][value="${person}"]`).check();
  await page.getByRole("button", { name: "Allow access" }).click();
}

/** Every console error and uncaught exception of the page, as text (and where), from now on. */
function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m: ConsoleMessage) => {
    if (m.type() === "error") errors.push(`${m.text()} [${m.location().url}]`);
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  return errors;
}

/** Signs `person` in from the host page; returns the widget's account button. */
async function signInOnHost(page: Page, person: string, name: string) {
  await page.goto(`${host}/`);
  await page.getByRole("button", { name: "Sign in with Notion" }).click();
  await pickAndAllow(page, person);
  await page.waitForURL(`${host}/`);
  const account = page.getByRole("button", { name });
  await expect(account).toBeVisible();
  return account;
}

test("signing in from a third-party page returns there, signed in, and signs out from the widget", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${host}/`);
  const signIn = page.getByRole("button", { name: "Sign in with Notion" });
  await expect(signIn).toBeVisible();
  await expect(page.locator("#host-content")).toHaveText("The host page's own content.");

  await signIn.click();
  await pickAndAllow(page, "katherine");
  await page.waitForURL(`${host}/`);
  const account = page.getByRole("button", { name: "Katherine Johnson" });
  await expect(account).toBeVisible();

  // Keyboard: open the menu with Enter, close with Escape.
  await account.focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("menuitem", { name: "Manage account" })).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(page.getByRole("menuitem", { name: "Manage account" })).toHaveCount(0);

  await account.click();
  // Manage account carries this page, and the account page leads back to it.
  const manage = page.getByRole("menuitem", { name: "Manage account" });
  await expect(manage).toHaveAttribute("href", `http://127.0.0.1:3100/user?redirect_url=${encodeURIComponent(`${host}/`)}`);
  await manage.click();
  await expect(page.locator("h1.name")).toHaveText("Katherine Johnson");
  await page.getByRole("link", { name: "← Back to 127.0.0.1" }).click();
  await page.waitForURL(`${host}/`);
  await account.click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(page.getByRole("button", { name: "Sign in with Notion" })).toBeVisible();
  const me = await page.request.get("http://127.0.0.1:3100/v1/me");
  expect(me.status()).toBe(401);
  expect(errors).toEqual([]);
});

test("an origin that is not allowed gets no user data; visitors see a neutral word, the console the fix", async ({ page }) => {
  // Sign in on Latchkey itself first, so there is a session the stranger must not see.
  await signInOnHost(page, "ada", "Ada Lovelace");

  const errors = consoleErrors(page);
  await page.goto(`${stranger}/`);
  await expect(page.getByRole("alert")).toHaveText("Sign-in is not available on this site right now.");
  await expect(page.getByText("Ada Lovelace")).toHaveCount(0);
  // Nothing meant for the site's owner reaches its visitors...
  const shown = await page.locator("#latchkey").evaluate((el) => (el.shadowRoot?.querySelector(".lk") as HTMLElement).innerText);
  expect(shown).toBe("Sign-in is not available on this site right now.");
  for (const adminWord of ["origin", "allowed", "Account Portal", "LATCHKEY_", strangerPort.toString()]) {
    expect(shown).not.toContain(adminWord);
  }
  await expect(page.locator("body")).not.toContainText("origin");
  // ...it is in the console: which origin to allow, and where.
  await expect.poll(() => errors.find((e) => e.startsWith("Latchkey widget:"))).toBeTruthy();
  const detail = errors.find((e) => e.startsWith("Latchkey widget:"))!;
  expect(detail).toContain(`${stranger} is not an allowed origin`);
  expect(detail).toContain("LATCHKEY_ALLOWED_ORIGINS");
  expect(detail).toContain("http://127.0.0.1:3100/dashboard/account-portal");
  await page.request.post("http://127.0.0.1:3100/v1/sign-out");
});

test("hostile host CSS does not reach into the widget", async ({ page }) => {
  await page.goto(`${host}/hostile`);
  const button = page.getByRole("button", { name: "Sign in with Notion" });
  await expect(button).toBeVisible();
  const style = await button.evaluate((el) => {
    const s = getComputedStyle(el);
    return { fontSize: s.fontSize, background: s.backgroundColor, border: s.borderTopStyle, display: s.display };
  });
  expect(style.fontSize).toBe("14px");
  expect(style.background).not.toBe("rgb(0, 255, 0)");
  expect(style.border).toBe("solid");
  expect(style.display).toBe("inline-flex");
  // The host's own page is untouched by the widget's styles.
  const title = await page.locator("#host-title").evaluate((el) => getComputedStyle(el).fontSize);
  expect(title).toBe("40px");
});

test("a wrong publishable key shows a short message in the widget's place and the fix in the console", async ({ page }) => {
  const errors = consoleErrors(page);
  await page.goto(`${host}/wrong-key`);
  await expect(page.getByRole("alert")).toHaveText("Sign-in is unavailable: this publishable key is not valid.");
  await expect(page.getByRole("button", { name: "Sign in with Notion" })).toHaveCount(0);
  await expect.poll(() => errors.filter((e) => e.startsWith("Latchkey widget:")).length).toBe(1);
  const detail = errors.find((e) => e.startsWith("Latchkey widget:"))!;
  expect(detail).toContain("belongs to auth.example.com");
  expect(detail).toContain("widget.js was loaded from 127.0.0.1:3100");
  expect(detail).toContain("http://127.0.0.1:3100/dashboard/api-keys");

  // A script added later, with a secret key, into another element: said there too, and the
  // secret is not repeated in the console.
  const second = page.waitForEvent("console", (m) => m.type() === "error" && m.text().includes("secret key"));
  await page.evaluate(() => {
    const div = document.createElement("div");
    div.id = "second";
    document.body.append(div);
    const s = document.createElement("script");
    s.src = "http://127.0.0.1:3100/widget.js";
    s.dataset.publishableKey = "sk_test_oops";
    s.dataset.mount = "second";
    document.body.append(s);
  });
  expect((await second).text()).toContain("http://127.0.0.1:3100/dashboard/api-keys");
  expect((await second).text()).not.toContain("oops");
  await expect(page.locator("#second").getByRole("alert")).toHaveText(
    "Sign-in is unavailable: this publishable key is not valid.",
  );
  expect(publishableKey.startsWith("pk_test_")).toBe(true);
});

test("a malformed publishable key is shown as not valid too", async ({ page }) => {
  const errors = consoleErrors(page);
  await page.goto(`${host}/malformed-key`);
  await expect(page.getByRole("alert")).toHaveText("Sign-in is unavailable: this publishable key is not valid.");
  await expect.poll(() => errors.find((e) => e.startsWith("Latchkey widget:"))).toContain('it is "pk_live_not a key"');
});

test("a signed-out visit leaves the console without a single error", async ({ page }) => {
  const errors = consoleErrors(page);
  const toLatchkey = (url: string) => url.startsWith("http://127.0.0.1:3100/v1/");
  let asked = 0;
  const pending = new Set<unknown>();
  page.on("request", (r) => {
    if (toLatchkey(r.url())) (asked++, pending.add(r));
  });
  page.on("response", (r) => pending.delete(r.request()));
  page.on("requestfailed", (r) => pending.delete(r));
  const settled = async () => {
    await expect.poll(() => asked > 0 && pending.size === 0).toBe(true);
    await page.waitForTimeout(300); // what the console says of the last answer
  };
  await page.goto(`${host}/`);
  await expect(page.getByRole("button", { name: "Sign in with Notion" })).toBeVisible();
  // The widget has asked Latchkey whether anyone is signed in, and every answer has arrived.
  await settled();
  // A page that asks for a token gets null, quietly too.
  const token = await page.evaluate(() =>
    (window as unknown as { Latchkey: { getToken(): Promise<string | null> } }).Latchkey.getToken(),
  );
  expect(token).toBeNull();
  await settled();
  expect(errors).toEqual([]);
});

test("the account menu closes on a click outside it, and not on one inside", async ({ page }) => {
  const account = await signInOnHost(page, "katherine", "Katherine Johnson");
  const manage = page.getByRole("menuitem", { name: "Manage account" });
  await account.click();
  await expect(manage).toBeVisible();
  await expect(account).toHaveAttribute("aria-expanded", "true");
  // A click on the menu's own padding keeps it open.
  await page.getByRole("menu").click({ position: { x: 2, y: 2 } });
  await expect(manage).toBeVisible();
  await page.locator("#host-content").click();
  await expect(manage).toHaveCount(0);
  await expect(account).toHaveAttribute("aria-expanded", "false");
  // And the button opens it again.
  await account.click();
  await expect(manage).toBeVisible();
  await page.locator("#host-title").click();
  await expect(manage).toHaveCount(0);
  await page.request.post("http://127.0.0.1:3100/v1/sign-out");
});

test("the account menu works by keyboard alone (WAI-ARIA menu button)", async ({ page }) => {
  const errors = consoleErrors(page);
  const account = await signInOnHost(page, "katherine", "Katherine Johnson");
  const menu = page.getByRole("menu");
  const manage = page.getByRole("menuitem", { name: "Manage account" });
  const signOut = page.getByRole("menuitem", { name: "Sign out" });
  await expect(account).toHaveAttribute("aria-haspopup", "menu");
  await expect(account).toHaveAttribute("aria-expanded", "false");

  // Tab reaches the button; Enter opens the menu on its first item.
  await page.locator("body").click({ position: { x: 1, y: 1 } });
  await page.keyboard.press("Tab");
  await expect(account).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(manage).toBeFocused();
  await expect(account).toHaveAttribute("aria-expanded", "true");
  expect(await account.getAttribute("aria-controls")).toBe(await menu.getAttribute("id"));
  // Down and Up move between the items, and wrap.
  await page.keyboard.press("ArrowDown");
  await expect(signOut).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(manage).toBeFocused();
  await page.keyboard.press("ArrowUp");
  await expect(signOut).toBeFocused();
  await page.keyboard.press("Home");
  await expect(manage).toBeFocused();
  await page.keyboard.press("End");
  await expect(signOut).toBeFocused();
  // Escape closes it and gives the focus back to the button.
  await page.keyboard.press("Escape");
  await expect(manage).toHaveCount(0);
  await expect(account).toBeFocused();
  await expect(account).toHaveAttribute("aria-expanded", "false");

  // ArrowUp on the button opens it on the last item; Tab closes it.
  await page.keyboard.press("ArrowUp");
  await expect(signOut).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(menu).toHaveCount(0);
  await expect(account).toHaveAttribute("aria-expanded", "false");

  // ArrowDown opens it on the first item; Space activates one: sign out.
  await account.focus();
  await page.keyboard.press("ArrowDown");
  await expect(manage).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press(" ");
  await expect(page.getByRole("button", { name: "Sign in with Notion" })).toBeVisible();
  expect((await page.request.get("http://127.0.0.1:3100/v1/me")).status()).toBe(401);
  expect(errors).toEqual([]);
});
