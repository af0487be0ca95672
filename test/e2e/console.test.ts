import OpenAI from "openai";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  axeProblems,
  chromiumAvailable,
  launchChromium,
  shoot,
  type BrowserGlobals,
} from "../support/chromium.js";
import { startTestServer, type TestServer } from "../support/harness.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";

const OWNER = { email: "olga@example.com", name: "Olga Owner", password: "correct horse battery staple" };
const READER = { email: "rita@example.com", name: "Rita Reader", password: "another long passphrase 42" };
const XSS_NAME = "<img src=x onerror=window.__xss=1>";

/**
 * The console in real Chromium against the real server: the first owner from the setup link,
 * a key created, copied once, used through the gateway with the official SDK, rotated and
 * revoked; a reader who is offered no writes; a disabled person's session ending at once.
 */
describe.skipIf(!chromiumAvailable())("web console in Chromium", () => {
  let mock: MockUpstream;
  let t: TestServer;
  let browser: Browser;
  let owner: BrowserContext;
  let page: Page;
  const axeReport: Record<string, string[]> = {};

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestServer("sqlite", {
      logLevel: "warn",
      config: { upstreamBaseUrl: mock.url, upstreamApiKey: "sk-console-provider-key" },
    });
    browser = await launchChromium();
    owner = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await owner.grantPermissions(["clipboard-read", "clipboard-write"], { origin: t.url });
    page = await owner.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await mock?.close();
  });

  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${t.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${t.ownerKey}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const chat = (key: string) =>
    new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0 }).chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hello from the console test" }],
    });

  it("serves the console with a strict CSP, and the setup link makes the first owner", async () => {
    const setup = (await t.ctx.invitations.setupLink(OWNER.email))!;
    const res = await page.goto(setup.invite_url);
    const csp = res!.headers()["content-security-policy"]!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res!.headers()["x-content-type-options"]).toBe("nosniff");
    await page.getByRole("heading", { name: "Set up the first owner" }).waitFor();
    axeReport.invite = await axeProblems(page);
    await page.getByLabel("Display name").fill(OWNER.name);
    await page.getByLabel("Password").fill(OWNER.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await expect.poll(() => page.getByText(OWNER.name).count()).toBe(1);
  });

  it("signs out and in again", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to keyward" }).waitFor();
    axeReport.login = await axeProblems(page);
    await shoot(page, "login");
    await page.getByLabel("Email").fill(OWNER.email);
    await page.getByLabel("Password").fill("not the password at all");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "Wrong email or password." }).waitFor();
    await page.getByLabel("Password").fill(OWNER.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.getByRole("link", { name: "Projects", exact: true }).click();
    await page.getByRole("heading", { name: "Projects" }).waitFor();
  });

  let secret = "";
  it("creates a key: shown once, Copy puts exactly it in the clipboard, then only the masked form remains", async () => {
    await page.getByLabel("New project name").fill("web");
    await page.getByRole("button", { name: "Create project" }).click();
    await page.getByRole("link", { name: "web" }).click();
    await page.getByRole("heading", { name: "API keys" }).waitFor();
    await page.getByRole("button", { name: "Create key" }).click();
    const dialog = page.getByRole("dialog", { name: "Create key" });
    axeReport["create key"] = await axeProblems(page);
    await shoot(page, "create-key");
    await dialog.getByLabel("Name").fill("console-key");
    await dialog.getByRole("button", { name: "Create key" }).click();
    const saved = page.getByRole("dialog", { name: "Save your key" });
    secret = await saved.getByLabel("Your new key").inputValue();
    expect(secret).toMatch(/^kw_live_/);
    await saved.getByText("It will not be shown again", { exact: false }).waitFor();
    await saved.getByRole("button", { name: "Copy" }).click();
    await saved.getByText("Copied to the clipboard.").waitFor();
    expect(
      await page.evaluate(() => (globalThis as unknown as BrowserGlobals).navigator.clipboard.readText()),
    ).toBe(secret);
    await saved.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => page.getByRole("dialog").count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    const storage = await page.evaluate(() => {
      const { localStorage, sessionStorage } = globalThis as unknown as BrowserGlobals;
      return JSON.stringify({ ...localStorage, ...sessionStorage });
    });
    expect(storage).not.toContain(secret);
    const row = page.getByRole("row", { name: /console-key/ });
    await expect.poll(() => row.textContent()).toContain(`…${secret.slice(-4)}`);
    axeReport.keys = await axeProblems(page);
    await shoot(page, "keys");
  });

  it("that key works through the gateway with the official SDK", async () => {
    const reply = await chat(secret);
    expect(reply.choices[0]?.message.content).toBeTruthy();
  });

  it("Rotate with a grace period: old and new secrets both work", async () => {
    await page.getByRole("button", { name: "Rotate console-key" }).click();
    const dialog = page.getByRole("dialog", { name: "Rotate console-key" });
    await dialog.getByLabel("Grace period (the old key keeps working)").selectOption({ label: "24 hours" });
    await dialog.getByRole("button", { name: "Rotate" }).click();
    const saved = page.getByRole("dialog", { name: "Save your new key" });
    const rotated = await saved.getByLabel("Your new key").inputValue();
    expect(rotated).not.toBe(secret);
    await saved.getByRole("button", { name: "Done" }).click();
    expect(await page.content()).not.toContain(rotated);
    await chat(secret);
    await chat(rotated);
    secret = rotated;
  });

  it("Revoke asks, names the key, and the very next gateway request is refused", async () => {
    await page.getByRole("button", { name: "Revoke console-key" }).click();
    const dialog = page.getByRole("dialog", { name: "Revoke console-key?" });
    await dialog.getByLabel("Reason (for the audit log)").fill("console test");
    await dialog.getByRole("button", { name: "Revoke" }).click();
    await expect
      .poll(() => page.getByRole("row", { name: /console-key/ }).textContent())
      .toContain("revoked");
    await expect(chat(secret)).rejects.toMatchObject({ status: 401 });
  });

  it("names with markup render as text", async () => {
    const projects = (await (await admin("GET", "/projects")).json()) as { data: Array<{ id: string }> };
    const created = await admin("POST", `/projects/${projects.data[0]!.id}/keys`, { name: XSS_NAME });
    expect(created.status).toBe(201);
    await page.reload();
    await page.getByRole("cell", { name: XSS_NAME, exact: true }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator("table img").count()).toBe(0);
  });

  it("a reader is offered no Create key or Revoke, the API refuses them, and disabling ends the session", async () => {
    const invited = await admin("POST", "/users/invitations", { email: READER.email, role: "reader" });
    expect(invited.status).toBe(201);
    const { invite_url } = (await invited.json()) as { invite_url: string };
    const context = await browser.newContext();
    const reader = await context.newPage();
    await reader.goto(invite_url);
    await reader.getByLabel("Display name").fill(READER.name);
    await reader.getByLabel("Password").fill(READER.password);
    await reader.getByRole("button", { name: "Create account" }).click();
    await reader.getByRole("link", { name: "Projects", exact: true }).click();
    await reader.getByRole("link", { name: "web" }).click();
    await reader.getByRole("table", { name: "Keys" }).waitFor();
    await reader.getByRole("cell", { name: "console-key", exact: true }).waitFor();
    expect(await reader.getByRole("button", { name: "Create key" }).count()).toBe(0);
    expect(await reader.getByRole("button", { name: /Revoke/ }).count()).toBe(0);
    const refused = await reader.evaluate(
      async (path) => {
        const res = await fetch(path, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ name: "sneaky" }),
        });
        return res.status;
      },
      new URL(reader.url()).pathname.replace("/projects/", "/api/v1/projects/") + "/keys",
    );
    expect(refused).toBe(403);

    const users = (await (await admin("GET", "/users")).json()) as {
      data: Array<{ id: string; email: string }>;
    };
    const rita = users.data.find((u) => u.email === READER.email)!;
    expect((await admin("PATCH", `/users/${rita.id}`, { disabled: true })).status).toBe(200);
    await reader.reload();
    await reader.getByRole("heading", { name: "Sign in to keyward" }).waitFor();
    await context.close();
  });

  it("every page passes axe with no serious or critical violation", () => {
    expect(axeReport).toEqual({ invite: [], login: [], "create key": [], keys: [] });
  });
});
