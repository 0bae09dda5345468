// The dashboard's Webhooks page, in Chromium: an admin registers an app's endpoint, a person
// signs in, and the delivery arrives signed (checked with the `standardwebhooks` package, not
// Latchkey's code); a failed delivery shows why and Retry sends it again; the secret is
// revealed and rotated; the endpoint is deleted.
import { test, expect, type Page } from "@playwright/test";
import { createServer, type Server } from "node:http";
import { Webhook } from "standardwebhooks";
import { adminPassword, HYDRATION_TIMEOUT } from "../playwright.config";

const dev = "http://127.0.0.1:3100";

/** The app's endpoint: verifies each delivery; answers 500 while `failing`. */
function startEndpoint() {
  const state = { secret: "", failing: false, received: [] as { id: string; type: string; data: any }[], invalid: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (c) => chunks.push(c));
    request.on("end", () => {
      if (state.failing) return void response.writeHead(500).end();
      try {
        const event = new Webhook(state.secret).verify(Buffer.concat(chunks).toString("utf8"), request.headers as any) as any;
        state.received.push({ id: String(request.headers["webhook-id"]), type: event.type, data: event.data });
        response.writeHead(204).end();
      } catch {
        state.invalid += 1;
        response.writeHead(400).end();
      }
    });
  });
  const listening = new Promise<string>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as any).port}/hooks`)),
  );
  return { state, server, listening };
}

async function signInAsAdmin(page: Page) {
  await page.goto(`${dev}/dashboard/webhooks`);
  await expect(page.locator(".dashboard[data-hydrated=true]")).toBeVisible({ timeout: HYDRATION_TIMEOUT });
  await page.getByLabel("Password").fill(adminPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Webhooks" })).toBeVisible();
}

async function personSignsIn(page: Page, name: string) {
  await page.goto(`${dev}/sign-in`);
  await page.getByRole("link", { name: "Sign in with Notion" }).click();
  await page.locator('input[name="person"][value="custom"]').check();
  await page.locator('input[name="custom_name"]').fill(name);
  await page.locator('input[name="custom_email"]').fill(`${name.toLowerCase().replace(/\W/g, "")}@example.org`);
  await page.getByRole("button", { name: "Allow access" }).click();
  await expect(page.locator("h1.name")).toHaveText(name);
}

test("an admin adds an endpoint, sees each delivery, retries a failed one, rotates the secret and deletes it", async ({ page, browser }) => {
  test.setTimeout(60_000);
  const endpoint = startEndpoint();
  const url = await endpoint.listening;
  try {
    await signInAsAdmin(page);
    await page.getByRole("button", { name: "Add endpoint" }).click();
    const form = page.getByRole("form", { name: "Add endpoint" });
    // Not a web URL (the browser's own check lets it through): the server says so.
    await form.getByLabel("Endpoint URL").fill("ftp://example.org/hooks");
    await form.getByRole("button", { name: "Add endpoint" }).click();
    await expect(form.getByRole("alert")).toContainText("must be an https URL");
    await form.getByLabel("Endpoint URL").fill(url);
    // Only sign-ins.
    for (const box of await form.getByRole("checkbox").all()) await box.uncheck();
    await form.getByRole("checkbox", { name: /session\.created/ }).check();
    await form.getByRole("button", { name: "Add endpoint" }).click();
    const secret = (await page.locator('[data-key="webhook-secret"]').textContent()) ?? "";
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    endpoint.state.secret = secret;
    await expect(page.getByRole("cell", { name: url })).toBeVisible();
    await expect(page.getByRole("cell", { name: "session.created", exact: true })).toBeVisible();

    // A person signs in (another browser): the app hears of it, signed.
    const person = await browser.newContext();
    await personSignsIn(await person.newPage(), "Webhook Walker");
    await expect.poll(() => endpoint.state.received.length).toBe(1);
    expect(endpoint.state.received[0].type).toBe("session.created");
    expect(endpoint.state.invalid).toBe(0);

    await page.getByRole("link", { name: "Details" }).click();
    const rows = page.locator("tr[data-delivery]");
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText("delivered");
    await expect(rows.first()).toContainText("HTTP 204");
    expect(await rows.first().getAttribute("data-delivery")).toBe(endpoint.state.received[0].id);

    // The app is down: the delivery waits and says why; Retry sends it once the app is back.
    endpoint.state.failing = true;
    await personSignsIn(await person.newPage(), "Webhook Waiter");
    await expect(async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      await expect(rows.first()).toContainText("answered 500", { timeout: 1_000 });
    }).toPass({ timeout: 10_000 });
    await expect(rows.first()).toContainText("pending");
    endpoint.state.failing = false;
    await rows.first().getByRole("button", { name: "Retry" }).click();
    await expect.poll(() => endpoint.state.received.length).toBe(2);
    await expect(async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      await expect(rows.first()).toContainText("delivered", { timeout: 1_000 });
    }).toPass({ timeout: 10_000 });

    // Reveal shows the secret; Rotate asks first, then makes a new one.
    await page.getByRole("button", { name: "Reveal" }).click();
    await expect(page.locator('[data-key="webhook-secret"]')).toHaveText(secret);
    await page.getByRole("button", { name: "Rotate" }).click();
    await page.getByRole("button", { name: "Yes, rotate" }).click();
    await expect(page.locator('[data-key="webhook-secret"]')).not.toHaveText(secret);
    await expect(page.locator('[data-key="webhook-secret"]')).toHaveText(/^whsec_/);

    // Deleting asks first; afterwards nothing more is sent.
    await page.getByRole("button", { name: "Delete endpoint" }).click();
    await page.getByRole("button", { name: "Yes, delete" }).click();
    await expect(page.getByText("No endpoints yet.")).toBeVisible();
    await personSignsIn(await person.newPage(), "Webhook Wanderer");
    await page.waitForTimeout(800);
    expect(endpoint.state.received.length).toBe(2);
    await person.close();

    // Each of those changes is in the audit log, with who and from where; the secret is not.
    await page.getByRole("link", { name: "Audit log" }).click();
    await expect(page.getByRole("heading", { name: "Audit log" })).toBeVisible();
    for (const action of ["dashboard/add-webhook", "dashboard/rotate-webhook-secret", "dashboard/delete-webhook"]) {
      await expect(page.getByRole("row").filter({ hasText: action }).first()).toContainText("Dashboard admin");
    }
    expect(await page.content()).not.toContain(secret);
  } finally {
    endpoint.server.close();
  }
});
