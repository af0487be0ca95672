import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeliveryView } from "../../src/alerts/delivery-view.js";
import type { WebhookView } from "../../src/alerts/webhook-model.js";
import type { WebhookTestResult } from "../../src/alerts/webhook-service.js";
import type { Page } from "../../src/client/client.js";
import { ManualClock } from "../../src/core/clock.js";
import type { KeyView } from "../../src/keys/model.js";
import { startTestServer, type TestServer } from "../support/harness.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = path.join(ROOT, "bin", "keyward.js");

function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 20_000, cwd: ROOT },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** `keyward webhooks …` and `keyward keys list --stale` as a user runs them (needs `npm run build`). */
describe("keyward webhooks, keys --stale and project policy CLI (sqlite)", () => {
  let t: TestServer;
  let receiver: WebhookReceiver;
  let env: Record<string, string>;
  const clock = new ManualClock(Date.UTC(2026, 6, 1));
  const run = (...args: string[]) => cli(args, env);
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await run(...args, "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as T;
  };

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, "dist", "cli", "main.js")))
      throw new Error("dist/ is missing: run `npm run build` before this test");
    t = await startTestServer("sqlite", {
      clock,
      logLevel: "warn",
      config: { alertDispatchMs: 0, alertSweepMs: 0 },
    });
    receiver = await new WebhookReceiver().listen();
    env = { KEYWARD_URL: t.url, KEYWARD_ADMIN_KEY: t.ownerKey, KEYWARD_CLI_CONFIG: "/nonexistent/cli.json" };
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.stop();
  });

  it("add prints the secret once; list/show mask URL and secret; test delivers (exit 0) or not (exit 1)", async () => {
    const added = await run(
      "webhooks",
      "add",
      receiver.url,
      "--events",
      "key.*,webhook.test",
      "--description",
      "ops",
    );
    expect(added.code).toBe(0);
    const secret = /whsec_[0-9A-Za-z]{32}/.exec(added.stdout)?.[0];
    expect(secret).toBeDefined();
    expect(added.stdout).toContain("shown once");
    const id = /whk_[0-9A-Z]{26}/.exec(added.stdout)![0];

    const list = await json<{ data: WebhookView[] }>("webhooks", "list");
    expect(list.data.map((w) => w.id)).toEqual([id]);
    const shown = await run("webhooks", "show", id);
    expect(shown.stdout).toContain(`http://127.0.0.1:${receiver.port}/hooks/…`);
    expect(shown.stdout + JSON.stringify(list)).not.toContain(secret!);
    expect(shown.stdout).not.toContain("abc123");

    const ok = await json<WebhookTestResult>("webhooks", "test", id);
    expect(ok).toMatchObject({ delivered: true, delivery: { status_code: 200 } });
    expect(receiver.ofType("webhook.test")).toHaveLength(1);
    const human = await run("webhooks", "test", id);
    expect(human).toMatchObject({ code: 0 });
    expect(human.stdout).toMatch(/^delivered evt_\w+: HTTP 200 in \d+ ms\n$/);

    const gone = await new WebhookReceiver().listen();
    await gone.close(); // a port nothing listens on (not 9: fetch refuses "bad ports")
    const downUrl = `http://127.0.0.1:${gone.port}/down`;
    const updated = await json<WebhookView>("webhooks", "update", id, "--endpoint", downUrl, "--disable");
    expect(updated).toMatchObject({ enabled: false, masked_url: downUrl });
    const down = await run("webhooks", "test", id);
    expect(down.code).toBe(1);
    expect(down.stdout).toContain("not delivered");
    expect(down.stdout).toContain("ECONNREFUSED");

    const log = await json<Page<DeliveryView>>("webhooks", "deliveries", id);
    // Newest first by id; on a frozen ManualClock the three share a millisecond, so compare as a set.
    expect(log.data.map((d) => d.outcome).sort()).toEqual(["delivered", "delivered", "retrying"]);
    expect((await run("webhooks", "deliveries", id)).stdout.split("\n")[0]).toMatch(/^ATTEMPTED\s+EVENT/);

    expect(await run("webhooks", "update", id)).toMatchObject({ code: 2 });
    expect(await run("webhooks", "add", "ftp://x/y")).toMatchObject({ code: 1 });
    expect(await run("webhooks", "remove", id)).toMatchObject({ code: 0 });
    expect(await run("webhooks", "show", id)).toMatchObject({ code: 1 });
  });

  it("keys list --stale lists only stale keys", async () => {
    const p = await t.client.createProject({ name: "stale-cli" });
    const policy = await json<Record<string, unknown>>(
      "projects",
      "update",
      p.id,
      "--rotation-max-age",
      "30",
      "--rotation-enforce",
      "on",
      "--stale-after",
      "5",
    );
    expect(policy).toMatchObject({ rotation_max_age_days: 30, rotation_enforce: true, stale_after_days: 5 });
    expect((await run("projects", "show", p.id)).stdout).toContain("on (keys expire at the deadline)");
    expect(await run("projects", "update", p.id, "--rotation-enforce", "maybe")).toMatchObject({ code: 2 });
    expect(await run("projects", "update", p.id, "--stale-after", "0")).toMatchObject({ code: 2 });
    await json("projects", "update", p.id, "--rotation-max-age", "none", "--rotation-enforce", "off");
    const idle = await t.client.createKey(p.id, { name: "idle" });
    clock.advance(6 * 86_400_000);
    const used = await t.client.createKey(p.id, { name: "new" });
    const stale = await json<Page<KeyView>>("keys", "list", "--project", p.id, "--stale");
    expect(stale.data.map((k) => k.id)).toEqual([idle.id]);
    expect(stale.data[0]).toMatchObject({ stale: true });
    const all = await run("keys", "list", "--project", p.id);
    expect(all.stdout).toContain("active (stale)");
    expect(all.stdout).toContain(used.id);
  });
});
