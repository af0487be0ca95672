import OpenAI from "openai";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWebhook } from "../../src/alerts/signature.js";
import { axeProblems, chromiumAvailable, launchChromium, setUpOwner, shoot } from "../support/chromium.js";
import { startTestServer, type TestServer } from "../support/harness.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

const OWNER = { email: "kim@example.com", name: "Kim Owner", password: "a long owner passphrase 7" };
const KEY_NAME = "detail-key";
const HOOK_NAME = "console receiver";

/**
 * The key detail and alerts pages in real Chromium against the real server: the usage chart
 * shows the requests just made with the official SDK; Regenerate, Disable / Enable and Revoke
 * act on the gateway at once; a webhook added in the console receives its signed test event and
 * the delivery log shows it.
 */
describe.skipIf(!chromiumAvailable())("key detail and alerts in Chromium", () => {
  let mock: MockUpstream;
  let t: TestServer;
  let receiver: WebhookReceiver;
  let browser: Browser;
  let page: Page;
  let secret = "";
  const axeReport: Record<string, string[]> = {};

  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${t.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${t.ownerKey}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(res.status).toBeLessThan(300);
    return (await res.json()) as T;
  };
  const chat = (key: string) =>
    new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0 }).chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hello from the key detail test" }],
    });
  const statusText = () => page.locator(".status").textContent();

  beforeAll(async () => {
    mock = await startMockUpstream();
    receiver = await new WebhookReceiver().listen();
    t = await startTestServer("sqlite", {
      logLevel: "warn",
      config: { upstreamBaseUrl: mock.url, upstreamApiKey: "sk-console-detail-provider" },
    });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: t.url });
    page = await context.newPage();
    await setUpOwner(page, (await t.ctx.invitations.setupLink(OWNER.email))!.invite_url, OWNER);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await receiver?.close();
    await mock?.close();
  });

  it("the key detail page shows the requests just made through the gateway, the IP and the audit trail", async () => {
    const project = await admin<{ id: string }>("POST", "/projects", { name: "detail" });
    const created = await admin<{ id: string; key: string }>("POST", `/projects/${project.id}/keys`, {
      name: KEY_NAME,
      limits: { rpm: 600, budget: { usd: 25, period: "month", timezone: "UTC" } },
    });
    secret = created.key;
    await chat(secret);
    await chat(secret);
    await t.ctx.usage.flush();

    await page.goto(`${t.url}/projects`);
    await page.getByRole("link", { name: "detail" }).click();
    await page.getByRole("link", { name: KEY_NAME }).click();
    await page.getByRole("heading", { name: KEY_NAME }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/keys/${created.id}`);
    await page.getByText(/^2 requests · 0 errors · /).waitFor();
    const chart = page.getByRole("table", { name: /Usage of this key/ });
    await chart.waitFor({ state: "attached" });
    const cells = await chart.getByRole("row").nth(1).getByRole("cell").allTextContents();
    expect(cells[0]).toBe("2");
    expect(Number(cells[1])).toBeGreaterThan(0);
    await page.getByText(/spent of \$25\.00 this month/).waitFor();
    await page
      .getByRole("table", { name: "IP addresses this key was used from" })
      .getByRole("cell", { name: "127.0.0.1" })
      .waitFor();
    await page
      .getByRole("table", { name: "Changes to this key, newest first" })
      .getByRole("cell", { name: "key.created" })
      .waitFor();
    axeReport["key detail"] = await axeProblems(page);
    await shoot(page, "key-detail");
  });

  it("stays usable at phone width: nothing wider than the screen", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("button", { name: "Revoke" }).waitFor();
    const overflow = await page.evaluate(() => {
      const doc = (
        globalThis as unknown as {
          document: { documentElement: { scrollWidth: number; clientWidth: number } };
        }
      ).document.documentElement;
      return doc.scrollWidth - doc.clientWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it("Regenerate shows the new secret once, and the old one is refused by the gateway at once", async () => {
    await page.getByRole("button", { name: "Regenerate" }).click();
    const dialog = page.getByRole("dialog", { name: `Regenerate ${KEY_NAME}` });
    await dialog.getByText("The old secret stops working at once", { exact: false }).waitFor();
    await dialog.getByRole("button", { name: "Regenerate" }).click();
    const saved = page.getByRole("dialog", { name: "Save your new key" });
    const fresh = await saved.getByLabel("Your new key").inputValue();
    expect(fresh).toMatch(/^kw_live_/);
    expect(fresh).not.toBe(secret);
    await saved.getByText("It will not be shown again", { exact: false }).waitFor();
    await saved.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => page.getByRole("dialog").count()).toBe(0);
    expect(await page.content()).not.toContain(fresh);
    await expect(chat(secret)).rejects.toMatchObject({ status: 401 });
    await chat(fresh);
    secret = fresh;
    await page
      .getByRole("table", { name: "Changes to this key, newest first" })
      .getByRole("cell", { name: "key.rotated" })
      .waitFor();
  });

  it("Disable refuses the key at the gateway, Enable lets it in again", async () => {
    await page.getByRole("button", { name: "Disable" }).click();
    await expect.poll(statusText).toBe("disabled");
    await expect(chat(secret)).rejects.toMatchObject({ status: 401 });
    await page.getByRole("button", { name: "Enable" }).click();
    await expect.poll(statusText).toBe("active");
    await chat(secret);
  });

  it("Revoke from the detail page names the key, and the next gateway request is refused", async () => {
    await page.getByRole("button", { name: "Revoke" }).click();
    const dialog = page.getByRole("dialog", { name: `Revoke ${KEY_NAME}?` });
    const warning = dialog.getByText("are refused at once", { exact: false });
    expect(await warning.textContent()).toContain(`Requests with ${KEY_NAME} are refused at once`);
    await dialog.getByLabel("Reason (for the audit log)").fill("detail page test");
    await dialog.getByRole("button", { name: "Revoke" }).click();
    await expect.poll(statusText).toBe("revoked");
    await page.getByText("detail page test", { exact: false }).first().waitFor();
    expect(await page.getByRole("button", { name: "Rotate" }).count()).toBe(0);
    await expect(chat(secret)).rejects.toMatchObject({ status: 401 });
  });

  it("a webhook added on the Alerts page receives its signed test event, and the delivery log shows it", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Alerts" }).click();
    await page.getByRole("heading", { name: "Alerts", level: 1 }).waitFor();
    await page.getByText("These thresholds are fixed", { exact: false }).waitFor();
    await page.getByRole("button", { name: "Add webhook" }).click();
    const dialog = page.getByRole("dialog", { name: "Add webhook" });
    await dialog.getByLabel("Endpoint URL").fill(receiver.url);
    await dialog.getByLabel("Description").fill(HOOK_NAME);
    await dialog.getByRole("button", { name: "Add webhook" }).click();
    const saved = page.getByRole("dialog", { name: "Save your signing secret" });
    const signing = await saved.getByLabel("Signing secret").inputValue();
    expect(signing).toMatch(/^whsec_/);
    await saved.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => page.getByRole("dialog").count()).toBe(0);
    expect(await page.content()).not.toContain(signing);

    await page.getByRole("button", { name: `Send test event to ${HOOK_NAME}` }).click();
    await page
      .getByRole("status")
      .filter({ hasText: `Test event delivered to ${HOOK_NAME}` })
      .waitFor();
    const tests = receiver.ofType("webhook.test");
    expect(tests).toHaveLength(1);
    const d = tests[0]!;
    expect(
      verifyWebhook({
        secret: signing,
        id: d.headers["keyward-webhook-id"] as string | undefined,
        timestamp: d.headers["keyward-webhook-timestamp"] as string | undefined,
        signature: d.headers["keyward-signature"] as string | undefined,
        rawBody: d.rawBody,
        nowSeconds: Math.floor(Date.now() / 1000),
      }),
    ).toEqual({ ok: true });

    const log = page.getByRole("table", { name: "Deliveries, newest first" });
    const row = log.getByRole("row", { name: /webhook\.test/ });
    await row.waitFor();
    expect(await row.getByRole("cell").allTextContents()).toEqual(
      expect.arrayContaining(["webhook.test", "Delivered", "200", "1"]),
    );
    axeReport.alerts = await axeProblems(page);
    await shoot(page, "alerts");
  });

  it("key detail and alerts pass axe with no serious or critical violation", () => {
    expect(axeReport).toEqual({ "key detail": [], alerts: [] });
  });
});
