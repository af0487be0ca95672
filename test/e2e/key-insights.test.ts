import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser } from "../support/browser.js";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";

interface BudgetStatus {
  limit_usd: number;
  spent_usd: number;
  period: string;
  period_start: string;
  resets_at: string | null;
}

/**
 * What the console's key detail and alerts pages read beside the key: its budget status (key and
 * project), the IPs it was used from, and the webhook event catalogue; with the same role and
 * project checks as GET /keys/{id}.
 */
describe.each(testDialects())("key budget, key IPs and the event catalogue (%s)", (dialect) => {
  let mock: MockUpstream;
  let t: TestServer;
  let projectId = "";
  let otherProject = "";
  let keyId = "";
  let secret = "";

  const admin = async <T>(method: string, path: string, body?: unknown) => {
    const res = await fetch(`${t.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${t.ownerKey}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T };
  };

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestServer(dialect, {
      logLevel: "warn",
      config: { upstreamBaseUrl: mock.url, upstreamApiKey: "sk-insights-provider" },
    });
    projectId = (
      await admin<{ id: string }>("POST", "/projects", {
        name: "insights",
        limits: { budget: { usd: 10, period: "month", timezone: "UTC" } },
      })
    ).body.id;
    otherProject = (await admin<{ id: string }>("POST", "/projects", { name: "elsewhere" })).body.id;
    const created = await admin<{ id: string; key: string }>("POST", `/projects/${projectId}/keys`, {
      name: "budgeted",
      limits: { budget: { usd: 5, period: "day", timezone: "UTC" } },
    });
    expect(created.status).toBe(201);
    keyId = created.body.id;
    secret = created.body.key;
  });
  afterAll(async () => {
    await t?.stop();
    await mock?.close();
  });

  it("reports spent / limit / resets at for the key and its project, and spend grows with use", async () => {
    const before = await admin<{ key: BudgetStatus; project: BudgetStatus }>("GET", `/keys/${keyId}/budget`);
    expect(before.status).toBe(200);
    expect(before.body.key).toMatchObject({ limit_usd: 5, spent_usd: 0, period: "day" });
    expect(before.body.project).toMatchObject({ limit_usd: 10, spent_usd: 0, period: "month" });
    expect(Date.parse(before.body.key.resets_at!)).toBeGreaterThan(Date.now());

    const client = new OpenAI({ apiKey: secret, baseURL: `${t.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    });
    const after = await admin<{ key: BudgetStatus; project: BudgetStatus }>("GET", `/keys/${keyId}/budget`);
    expect(after.body.key.spent_usd).toBeGreaterThan(0);
    expect(after.body.project.spent_usd).toBe(after.body.key.spent_usd);
  });

  it("a key with no budget has null there", async () => {
    const plain = await admin<{ id: string }>("POST", `/projects/${otherProject}/keys`, { name: "plain" });
    const r = await admin<{ key: unknown; project: unknown }>("GET", `/keys/${plain.body.id}/budget`);
    expect(r).toMatchObject({ status: 200, body: { object: "key_budget", key: null, project: null } });
  });

  it("lists the IPs the key was used from, once the usage is recorded", async () => {
    await t.ctx.usage.flush();
    const r = await admin<{ data: Array<{ ip: string; first_seen_at: string }>; has_more: boolean }>(
      "GET",
      `/keys/${keyId}/ips`,
    );
    expect(r.status).toBe(200);
    expect(r.body.has_more).toBe(false);
    expect(r.body.data.map((d) => d.ip)).toEqual(["127.0.0.1"]);
    expect(Date.parse(r.body.data[0]!.first_seen_at)).toBeLessThanOrEqual(Date.now());
  });

  it("refuses what GET /keys/{id} refuses: no credentials, a bad or unknown id, a project the person may not see", async () => {
    expect((await fetch(`${t.url}/api/v1/keys/${keyId}/ips`)).status).toBe(401);
    expect((await admin("GET", "/keys/nope/budget")).status).toBe(400);
    expect((await admin("GET", "/keys/key_01JD3ZK5Q8XW2V7N4M6B9C1D2E/ips")).status).toBe(404);

    const invited = await admin<{ invite_url: string }>("POST", "/users/invitations", {
      email: `m-${dialect}@example.com`,
      role: "member",
      projects: [otherProject],
    });
    const member = new Browser(t.url);
    expect(
      (
        await member.accept(invited.body.invite_url, {
          display_name: "M",
          password: "a long member passphrase",
        })
      ).status,
    ).toBe(200);
    expect((await member.get(`/keys/${keyId}/budget`)).status).toBe(404);
    expect((await member.get(`/keys/${keyId}/ips`)).status).toBe(404);
  });

  it("serves the event catalogue and the fixed budget thresholds", async () => {
    const r = await admin<{
      data: Array<{ type: string; kind: string }>;
      budget_thresholds_percent: number[];
    }>("GET", "/webhooks/event-types");
    expect(r.status).toBe(200);
    expect(r.body.budget_thresholds_percent).toEqual([50, 80, 100]);
    expect(r.body.data).toContainEqual({ type: "webhook.test", kind: "rule" });
    expect(r.body.data).toContainEqual({ type: "key.revoked", kind: "lifecycle" });
  });
});
