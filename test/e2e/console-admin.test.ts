import OpenAI from "openai";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeProblems, chromiumAvailable, launchChromium, setUpOwner, shoot } from "../support/chromium.js";
import { startTestServer, type TestServer } from "../support/harness.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";

const OWNER = { email: "oona@example.com", name: "Oona Owner", password: "correct horse battery staple" };
const MEMBER = { email: "mia@example.com", name: "Mia Member", password: "a member's long passphrase" };
const READER = { email: "ravi@example.com", name: "Ravi Reader", password: "a reader's long passphrase" };

interface Project {
  id: string;
  name: string;
}

/**
 * The console's admin pages in real Chromium against the real server: Overview after real
 * gateway traffic, Members (invite, accept, role, project access, disable), Admin keys (shown
 * once, revoke), Audit log (Verify chain, before and after tampering), Leaks and Settings.
 */
describe.skipIf(!chromiumAvailable())("console admin pages in Chromium", () => {
  let mock: MockUpstream;
  let t: TestServer;
  let browser: Browser;
  let owner: BrowserContext;
  let page: Page;
  let alpha: Project;
  const axeReport: Record<string, string[]> = {};

  const admin = async <T = unknown>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${t.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${t.ownerKey}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(res.status, `${method} ${path}`).toBeLessThan(300);
    return (await res.json()) as T;
  };
  // A fixed, sizeable usage per request (x-mock-usage), so its cost shows in dollars and cents.
  const chat = (key: string) =>
    new OpenAI({
      apiKey: key,
      baseURL: `${t.url}/v1`,
      maxRetries: 0,
      defaultHeaders: { "x-mock-usage": "100000,50000" },
    }).chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hello from the admin console test" }],
    });
  /** Opens a page from the sidebar. */
  const open = async (p: Page, link: string, heading: string) => {
    await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: link, exact: true }).click();
    await p.getByRole("heading", { name: heading, level: 1 }).waitFor();
  };
  /** A person accepts an invitation link in a browser context of their own. */
  const accept = async (url: string, who: { name: string; password: string }) => {
    const context = await browser.newContext();
    const p = await context.newPage();
    await p.goto(url);
    await p.getByLabel("Display name").fill(who.name);
    await p.getByLabel("Password").fill(who.password);
    await p.getByRole("button", { name: "Create account" }).click();
    await p.getByRole("heading", { name: "Overview" }).waitFor();
    return { context, page: p };
  };

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestServer("sqlite", {
      logLevel: "warn",
      config: { upstreamBaseUrl: mock.url, upstreamApiKey: "sk-console-admin-provider-key" },
    });
    browser = await launchChromium();
    owner = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await owner.grantPermissions(["clipboard-read", "clipboard-write"], { origin: t.url });
    page = await owner.newPage();
    alpha = await admin<Project>("POST", "/projects", { name: "alpha" });
    await admin<Project>("POST", "/projects", { name: "beta" });
    await setUpOwner(page, (await t.ctx.invitations.setupLink(OWNER.email))!.invite_url, OWNER);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await mock?.close();
  });

  it("the Overview shows the spend and requests of requests just made, and the top key", async () => {
    const key = await admin<{ key: string }>("POST", `/projects/${alpha.id}/keys`, { name: "busy-key" });
    for (let i = 0; i < 3; i++) await chat(key.key);
    await t.ctx.usage.flush();
    await page.reload();
    const cards = page.getByRole("region", { name: "This month" });
    await expect.poll(() => cards.textContent(), { timeout: 30_000 }).toContain("Requests this month3");
    // The card shows what the usage API says was spent, to the cent.
    const usage = await admin<{ data: Array<{ cost_usd: number }> }>("GET", "/usage?group_by=project");
    const spent = usage.data.reduce((sum, r) => sum + r.cost_usd, 0);
    expect(spent).toBeGreaterThan(0.01);
    expect(await cards.textContent()).toContain(`Spend this month$${spent.toFixed(2)}`);
    const top = page.getByRole("table", { name: "Top keys by cost this month" });
    await expect.poll(() => top.getByRole("row", { name: /busy-key/ }).textContent()).toContain("3");
    axeReport.overview = await axeProblems(page);
    await shoot(page, "overview");
  });

  it("lays the Overview out for a phone: nothing wider than the screen", async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const p = await phone.newPage();
    await p.context().addCookies(await owner.cookies());
    await p.goto(t.url);
    await p.getByRole("region", { name: "This month" }).waitFor();
    const widths = await p.evaluate(() => {
      const doc = (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } })
        .document;
      return doc.documentElement.scrollWidth;
    });
    expect(widths).toBeLessThanOrEqual(390);
    await p.screenshot({
      path: new URL("../../docs/screenshots/overview-phone.png", import.meta.url).pathname,
    });
    await phone.close();
  });

  let memberPage: Page;
  let memberContext: BrowserContext;
  let readerContext: BrowserContext;
  it("an owner invites a member limited to one project and a reader; each accepts and signs in", async () => {
    await open(page, "Members", "Members");
    const invite = async (email: string, role: string, project?: string) => {
      await page.getByRole("button", { name: "Invite" }).click();
      const dialog = page.getByRole("dialog", { name: "Invite a person" });
      await dialog.getByLabel("Email").fill(email);
      await dialog.getByLabel("Role").selectOption(role);
      if (project) {
        await dialog.getByLabel("Only the projects checked").check();
        await dialog.getByLabel(project).check();
      }
      if (!axeReport["invite dialog"]) axeReport["invite dialog"] = await axeProblems(page);
      await dialog.getByRole("button", { name: "Send invitation" }).click();
      const done = page.getByRole("dialog", { name: "Invitation created" });
      const url = await done.getByLabel("Invitation link").inputValue();
      expect(url).toContain("/invite/");
      await done.getByRole("button", { name: "Done" }).click();
      return url;
    };
    const memberUrl = await invite(MEMBER.email, "member", "alpha");
    const readerUrl = await invite(READER.email, "reader");
    const pending = page.getByRole("table", { name: "Pending invitations" });
    await pending
      .getByRole("row", { name: new RegExp(MEMBER.email) })
      .getByText("alpha")
      .waitFor();
    await pending.getByRole("row", { name: new RegExp(READER.email) }).waitFor();

    const member = await accept(memberUrl, MEMBER);
    memberContext = member.context;
    memberPage = member.page;
    await open(memberPage, "Projects", "Projects");
    await memberPage.getByRole("link", { name: "alpha" }).waitFor();
    expect(await memberPage.getByRole("link", { name: "beta" }).count()).toBe(0);
    // Actions the role may not take are not offered: no Members or Audit log for a member.
    expect(await memberPage.getByRole("link", { name: "Members" }).count()).toBe(0);

    const reader = await accept(readerUrl, READER);
    readerContext = reader.context;
    await reader.page.getByRole("button", { name: "Sign out" }).click();
    await reader.page.getByLabel("Email").fill(READER.email);
    await reader.page.getByLabel("Password").fill(READER.password);
    await reader.page.getByRole("button", { name: "Sign in" }).click();
    await open(reader.page, "Projects", "Projects");
    await reader.page.getByRole("link", { name: "beta" }).waitFor();

    await page.reload();
    await expect
      .poll(() => page.getByRole("table", { name: "Pending invitations" }).getByRole("row").count())
      .toBe(1);
  });

  it("changes a reader's role from the Members page, and the API returns it", async () => {
    await page.getByRole("button", { name: `Edit ${READER.email}` }).click();
    const dialog = page.getByRole("dialog", { name: `Edit ${READER.email}` });
    await dialog.getByLabel("Role").selectOption("member");
    await dialog.getByRole("button", { name: "Save" }).click();
    const row = page
      .getByRole("table", { name: "People" })
      .getByRole("row", { name: new RegExp(READER.email) });
    await expect.poll(() => row.textContent()).toContain("member");
    const users = await admin<{ data: Array<{ email: string; role: string }> }>("GET", "/users");
    expect(users.data.find((u) => u.email === READER.email)?.role).toBe("member");
    axeReport.members = await axeProblems(page);
    await shoot(page, "members");
    await readerContext.close();
  });

  it("disabling a person from the page ends their open session at once", async () => {
    await memberPage.reload();
    await memberPage.getByRole("heading", { name: "Projects" }).waitFor();
    await page.getByRole("button", { name: `Disable ${MEMBER.email}` }).click();
    const row = page
      .getByRole("table", { name: "People" })
      .getByRole("row", { name: new RegExp(MEMBER.email) });
    await expect.poll(() => row.textContent()).toContain("disabled");
    await memberPage.reload();
    await memberPage.getByRole("heading", { name: "Sign in to keyward" }).waitFor();
    await memberContext.close();
  });

  it("creates an admin key shown once, which works until it is revoked with a confirmation naming it", async () => {
    await open(page, "Admin keys", "Admin keys");
    await page.getByRole("button", { name: "Create admin key" }).click();
    const dialog = page.getByRole("dialog", { name: "Create admin key" });
    await dialog.getByLabel("Name").fill("ci-bot");
    await dialog.getByLabel("Role").selectOption("reader");
    await dialog.getByRole("button", { name: "Create admin key" }).click();
    const saved = page.getByRole("dialog", { name: "Save your admin key" });
    const secret = await saved.getByLabel("Your new key").inputValue();
    expect(secret).toMatch(/_admin_/);
    await saved.getByText("It will not be shown again", { exact: false }).waitFor();
    const me = () => fetch(`${t.url}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } });
    expect((await me()).status).toBe(200);
    await saved.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => page.getByRole("dialog").count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    const row = page.getByRole("row", { name: /ci-bot/ });
    await expect.poll(() => row.textContent()).toContain(`…${secret.slice(-4)}`);
    axeReport["admin keys"] = await axeProblems(page);
    await shoot(page, "admin-keys");

    await page.getByRole("button", { name: "Revoke ci-bot" }).click();
    const confirm = page.getByRole("dialog", { name: "Revoke ci-bot?" });
    await confirm.getByText("ci-bot", { exact: true }).waitFor();
    await confirm.getByRole("button", { name: "Revoke" }).click();
    await expect.poll(() => row.textContent()).toContain("revoked");
    expect((await me()).status).toBe(401);
  });

  it("the Leaks page lists a reported leak and the key it revoked automatically; a canary key is created there", async () => {
    const leaky = await admin<{ id: string; key: string }>("POST", `/projects/${alpha.id}/keys`, {
      name: "leaky",
    });
    const report = await fetch(`${t.url}/api/v1/leaks`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.ownerKey}`, "content-type": "application/json" },
      body: JSON.stringify([{ type: "keyward", token: leaky.key, location: "https://paste.example/abc" }]),
    });
    expect(report.status).toBe(202);
    await open(page, "Leaks", "Leaks");
    const row = page
      .getByRole("table", { name: "Keys contained after a leak" })
      .getByRole("row", { name: /leaky/ });
    await expect.poll(() => row.textContent()).toContain("revoked automatically");
    expect(await row.textContent()).toContain("https://paste.example/abc");

    await page.getByRole("button", { name: "Create canary key" }).click();
    const dialog = page.getByRole("dialog", { name: "Create canary key" });
    await dialog.getByLabel("Project").selectOption({ label: "beta" });
    await dialog.getByLabel("Name").fill("tripwire");
    await dialog.getByRole("button", { name: "Create canary key" }).click();
    const saved = page.getByRole("dialog", { name: "Save your canary key" });
    const canary = await saved.getByLabel("Your new key").inputValue();
    await saved.getByRole("button", { name: "Done" }).click();
    const canaryRow = page.getByRole("table", { name: "Canary keys" }).getByRole("row", { name: /tripwire/ });
    await expect.poll(() => canaryRow.textContent()).toContain("beta");
    expect(await page.content()).not.toContain(canary);
    axeReport.leaks = await axeProblems(page);
    await shoot(page, "leaks");
  });

  it("a rotation policy saved on Settings is returned by the API; an upstream key is rotated there, masked", async () => {
    await admin("POST", `/projects/${alpha.id}/upstreams`, {
      name: "openai-main",
      base_url: mock.url,
      api_key: "sk-first-upstream-key-1111",
    });
    await open(page, "Settings", "Settings");
    await page.getByLabel("Project").selectOption({ label: "alpha" });
    const policy = page.getByRole("form", { name: "Rotation policy" });
    await policy.getByLabel("Rotate keys every (days; empty: no maximum age)").fill("90");
    await policy.getByLabel("Expire keys at their rotation deadline (otherwise only warn)").check();
    await policy.getByLabel("Flag keys unused for (days; empty: never)").fill("30");
    await policy.getByRole("button", { name: "Save policy" }).click();
    await page.getByRole("status").filter({ hasText: "Rotation policy of alpha saved." }).waitFor();
    const saved = await admin<{
      rotation_max_age_days: number;
      rotation_enforce: boolean;
      stale_after_days: number;
    }>("GET", `/projects/${alpha.id}`);
    expect(saved).toMatchObject({ rotation_max_age_days: 90, rotation_enforce: true, stale_after_days: 30 });

    const upstreams = page.getByRole("table", { name: "Upstream providers of alpha" });
    const row = upstreams.getByRole("row", { name: /openai-main/ });
    await expect.poll(() => row.textContent()).toContain("1111");
    expect(await page.content()).not.toContain("sk-first-upstream-key-1111");
    axeReport.settings = await axeProblems(page);
    await shoot(page, "settings");
    await page.getByRole("button", { name: "Rotate key of openai-main" }).click();
    const dialog = page.getByRole("dialog", { name: "Rotate key of openai-main" });
    await dialog.getByLabel("New provider API key").fill("sk-second-upstream-key-2222");
    await dialog.getByRole("button", { name: "Replace key" }).click();
    await expect.poll(() => row.textContent()).toContain("2222");
    expect(await page.content()).not.toContain("sk-second-upstream-key-2222");
  });

  it("Verify chain reports intact, then names the entry tampered with directly in the store", async () => {
    await open(page, "Audit log", "Audit log");
    await page.getByRole("table", { name: "Audit entries" }).getByRole("row").nth(1).waitFor();
    await page.getByLabel("Action").fill("admin_key.revoked");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect
      .poll(() => page.getByRole("table", { name: "Audit entries" }).getByRole("row").count())
      .toBe(2);
    await page.getByRole("button", { name: "Verify chain" }).click();
    const status = page.getByRole("status");
    await expect.poll(() => status.textContent()).toContain("The audit chain is intact");
    axeReport.audit = await axeProblems(page);
    await shoot(page, "audit");
    await page.getByRole("button", { name: "Clear" }).click();
    await expect
      .poll(() => page.getByRole("table", { name: "Audit entries" }).getByRole("row").count())
      .toBeGreaterThan(10);

    await t.ctx.store.db
      .updateTable("audit_log")
      .set({ actor_id: "adm_someone_else" })
      .where("seq", "=", 3)
      .execute();
    await page.getByRole("button", { name: "Verify chain" }).click();
    await expect.poll(() => status.textContent()).toContain("The audit chain was tampered with");
    expect(await status.textContent()).toContain("entry 3: its content was changed");
  });

  it("every page passes axe with no serious or critical violation", () => {
    expect(axeReport).toEqual({
      overview: [],
      "invite dialog": [],
      members: [],
      "admin keys": [],
      leaks: [],
      settings: [],
      audit: [],
    });
  });
});
