import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium, type Browser, type Page } from "playwright-core";

/** Debian's chromium, installed by .ci/run; the console's browser tests drive it headless. */
export const CHROMIUM = "/usr/bin/chromium";

/** True when the browser tests can run; in CI a missing browser is an error, never a skip. */
export function chromiumAvailable(): boolean {
  if (process.env.CI === "true" && !existsSync(CHROMIUM))
    throw new Error(
      `CI=true but ${CHROMIUM} is missing: .ci/run installs Debian's chromium for the console tests`,
    );
  return existsSync(CHROMIUM);
}

/** Headless Chromium with the flags this closed network needs (no background connections). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const SHOTS = new URL("../../docs/screenshots/", import.meta.url).pathname;

/** What the tests read of the page's globals (the suite compiles without the DOM library). */
export interface BrowserGlobals {
  navigator: { clipboard: { readText(): Promise<string> } };
  localStorage: Record<string, string>;
  sessionStorage: Record<string, string>;
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: unknown[];
}

/** axe-core on the page as it is now: the serious and critical violations. */
export async function axeProblems(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE }).catch(() => page.evaluate(AXE));
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run()).violations;
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help}, ${v.nodes.length} nodes`);
}

/** Full-page screenshots in light and dark, for docs/console.md. */
export async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: `${SHOTS}${name}-${scheme}.png`, fullPage: true });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

/** Opens the first owner's setup link in `page` and creates the account; ends on the Overview. */
export async function setUpOwner(
  page: Page,
  setupUrl: string,
  owner: { name: string; password: string },
): Promise<void> {
  await page.goto(setupUrl);
  await page.getByLabel("Display name").fill(owner.name);
  await page.getByLabel("Password").fill(owner.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Overview" }).waitFor();
}
