// The embeddable widget on another origin: a person signs in from a third-party app's page and
// comes back to it signed in; signs out from the widget; a page on an origin that is not allowed
// gets no user data and says why; hostile host CSS does not break it.
import { test, expect, type Page } from "@playwright/test";
import { hostPort, strangerPort, publishableKey } from "../playwright.config";

const host = `http://127.0.0.1:${hostPort}`;
const stranger = `http://127.0.0.1:${strangerPort}`;

async function pickAndAllow(page: Page, person: string) {
  await expect(page.getByText("Notion sandbox")).toBeVisible();
  await page.locator(`input[name="person"][value="${person}"]`).check();
  await page.getByRole("button", { name: "Allow access" }).click();
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
  await expect(page.getByRole("menuitem", { name: "Manage account" })).toHaveAttribute("href", "http://127.0.0.1:3100/user");
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(page.getByRole("button", { name: "Sign in with Notion" })).toBeVisible();
  const me = await page.request.get("http://127.0.0.1:3100/v1/me");
  expect(me.status()).toBe(401);
  expect(errors).toEqual([]);
});

test("an origin that is not allowed gets no user data and the widget says why", async ({ page }) => {
  // Sign in on Latchkey itself first, so there is a session the stranger must not see.
  await page.goto(`${host}/`);
  await page.getByRole("button", { name: "Sign in with Notion" }).click();
  await pickAndAllow(page, "ada");
  await expect(page.getByRole("button", { name: "Ada Lovelace" })).toBeVisible();

  const answers: string[] = [];
  page.on("response", async (r) => {
    if (r.url().includes("/v1/me")) answers.push(`${r.status()}`);
  });
  await page.goto(`${stranger}/`);
  await expect(page.getByRole("alert")).toContainText("not an allowed origin");
  await expect(page.getByText("Ada Lovelace")).toHaveCount(0);
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

test("a wrong publishable key is explained in the console", async ({ page }) => {
  await page.goto(`${host}/`);
  const message = page.waitForEvent("console", (m) => m.type() === "error" && m.text().includes("Latchkey widget"));
  await page.evaluate((wrongKey) => {
    const div = document.createElement("div");
    div.id = "second";
    document.body.append(div);
    const s = document.createElement("script");
    s.src = "http://127.0.0.1:3100/widget.js";
    s.dataset.publishableKey = wrongKey;
    s.dataset.mount = "second";
    document.body.append(s);
  }, "pk_test_" + btoa("auth.example.com$"));
  expect((await message).text()).toContain("belongs to auth.example.com");
  expect(publishableKey.startsWith("pk_test_")).toBe(true);
});
