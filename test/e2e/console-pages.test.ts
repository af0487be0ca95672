import OpenAI from "openai";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeProblems, chromiumAvailable, launchChromium } from "../support/chromium.js";
import { startTestServer, type TestServer } from "../support/harness.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";

const OWNER = { email: "kai@example.com", name: "Kai Keyboard", password: "only the keyboard today" };

/** Marks every visible control on the page and returns how many there are. */
function markControls(page: Page): Promise<number> {
  return page.evaluate(() => {
    const doc = (globalThis as unknown as { document: DocumentLike }).document;
    const selector =
      'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
    let n = 0;
    for (const el of doc.querySelectorAll(selector)) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) continue;
      el.setAttribute("data-kbd", String(n++));
    }
    return n;
  });
}

/** The parts of the DOM the tests touch (the suite compiles without the DOM library). */
interface ElementLike {
  getBoundingClientRect(): { width: number; height: number };
  setAttribute(name: string, value: string): void;
  getAttribute(name: string): string | null;
  closest(selector: string): ElementLike | null;
  textContent: string | null;
}
interface DocumentLike {
  querySelectorAll(selector: string): Iterable<ElementLike>;
  activeElement: ElementLike | null;
  scrollingElement: { scrollWidth: number; clientWidth: number } | null;
}

const active = (page: Page, attribute: string) =>
  page.evaluate(
    (name) =>
      (globalThis as unknown as { document: DocumentLike }).document.activeElement?.getAttribute(name) ??
      null,
    attribute,
  );

/** Presses Tab until every marked control has had focus (or twice their number of presses). */
async function unreachedByTab(page: Page, controls: number): Promise<number[]> {
  const seen = new Set<string>();
  for (let i = 0; i < controls * 2 + 2 && seen.size < controls; i++) {
    await page.keyboard.press("Tab");
    const id = await active(page, "data-kbd");
    if (id !== null) seen.add(id);
  }
  return Array.from({ length: controls }, (_, i) => i).filter((i) => !seen.has(String(i)));
}

/** Horizontal overflow of the page at the current viewport, in CSS pixels (0 = fits). */
const overflow = (page: Page) =>
  page.evaluate(() => {
    const s = (globalThis as unknown as { document: DocumentLike }).document.scrollingElement!;
    return s.scrollWidth - s.clientWidth;
  });

/**
 * Every console page as a keyboard-only and a phone user meets it: each control is reached with
 * Tab, dialogs keep focus inside and give it back on Escape, no page scrolls sideways at phone
 * width, and axe-core finds no serious or critical problem.
 */
describe.skipIf(!chromiumAvailable())("console pages: keyboard, phone width, axe", () => {
  let mock: MockUpstream;
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  let projectId = "";
  let keyId = "";

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestServer("sqlite", {
      logLevel: "warn",
      config: { upstreamBaseUrl: mock.url, upstreamApiKey: "sk-pages-provider-key" },
    });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const project = await t.client.createProject({ name: "keyboard" });
    projectId = project.id;
    const key = await t.client.createKey(project.id, { name: "kbd-key" });
    keyId = key.id;
    const openai = new OpenAI({ apiKey: key.key, baseURL: `${t.url}/v1`, maxRetries: 0 });
    await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await mock?.close();
  });

  it("the first owner is set up and signs in with the keyboard alone", async () => {
    const setup = (await t.ctx.invitations.setupLink(OWNER.email))!;
    await page.goto(setup.invite_url);
    await page.getByRole("heading", { name: "Set up the first owner" }).waitFor();
    await page.getByLabel("Display name").focus();
    await page.keyboard.type(OWNER.name);
    await page.keyboard.press("Tab");
    await page.keyboard.type(OWNER.password);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Overview" }).waitFor();

    await page.getByRole("button", { name: "Sign out" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Sign in to keyward" }).waitFor();
    expect(await unreachedByTab(page, await markControls(page))).toEqual([]);
    await page.getByLabel("Email").focus();
    await page.keyboard.type(OWNER.email);
    await page.keyboard.press("Tab");
    await page.keyboard.type(OWNER.password);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Overview" }).waitFor();
  });

  const pages = () => [
    { path: "/", heading: "Overview" },
    { path: "/projects", heading: "Projects" },
    { path: `/projects/${projectId}`, heading: "API keys" },
    { path: `/keys/${keyId}`, heading: "kbd-key" },
    { path: `/usage?key_id=${keyId}&group_by=hour`, heading: "Usage" },
    { path: "/alerts", heading: "Alerts" },
    { path: "/members", heading: "Members" },
    { path: "/admin-keys", heading: "Admin keys" },
    { path: "/audit", heading: "Audit log" },
    { path: "/leaks", heading: "Leaks" },
    { path: "/settings", heading: "Settings" },
  ];

  it("every page: each control is reached with Tab, nothing scrolls sideways on a phone, axe is clean", async () => {
    const problems: Record<string, unknown> = {};
    for (const p of pages()) {
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.goto(t.url + p.path);
      await page.getByRole("heading", { name: p.heading, level: 1 }).waitFor();
      await page.waitForLoadState("networkidle");
      const unreached = await unreachedByTab(page, await markControls(page));
      if (unreached.length) problems[`${p.path} unreached by Tab`] = unreached;
      const axe = await axeProblems(page);
      if (axe.length) problems[`${p.path} axe`] = axe;
      await page.setViewportSize({ width: 390, height: 844 });
      const sideways = await overflow(page);
      if (sideways > 1) problems[`${p.path} overflows a phone by`] = `${sideways}px`;
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(problems).toEqual({});
  });

  it("a dialog keeps focus inside, closes on Escape and gives focus back to its opener", async () => {
    await page.goto(`${t.url}/projects/${projectId}`);
    await page.getByRole("heading", { name: "API keys", level: 1 }).waitFor();
    const opener = page.getByRole("button", { name: "Create key" });
    await opener.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "Create key" });
    await dialog.waitFor();
    const insideDialog = () =>
      page.evaluate(() =>
        Boolean(
          (globalThis as unknown as { document: DocumentLike }).document.activeElement?.closest(
            '[role="dialog"]',
          ),
        ),
      );
    expect(await insideDialog()).toBe(true);
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press(i % 7 === 6 ? "Shift+Tab" : "Tab");
      expect(await insideDialog()).toBe(true);
    }
    await page.keyboard.press("Escape");
    await expect.poll(() => dialog.count()).toBe(0);
    await expect
      .poll(() =>
        page.evaluate(
          () => (globalThis as unknown as { document: DocumentLike }).document.activeElement?.textContent,
        ),
      )
      .toBe("Create key");
  });
});
