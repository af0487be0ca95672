import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey } from "../../src/core/key-format.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

const PROVIDER_KEY = "sk-mock-provider-key-for-leak-tests";
const KEY_ID = "github-test-key-1";

/** A GitHub secret-scanning partner keypair, made here; the public half is configured. */
const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const { privateKey: otherKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });

const githubSign = (raw: string, key: KeyObject = privateKey) =>
  sign("sha256", Buffer.from(raw), { key, dsaEncoding: "der" }).toString("base64");

/**
 * Leak reports and canary keys, end to end over HTTP: signed GitHub reports revoke keys at once
 * (the next gateway request is 401), bad signatures change nothing, replays add nothing, the
 * response is the same for known and unknown tokens, 1,000 tokens are handled well within 10 s;
 * a canary key gets 401 at the gateway and raises exactly one `key.canary_used` alert.
 */
describe.each(testDialects())("leak reports and canary keys (%s)", (dialect) => {
  let t: TestServer;
  let mock: MockUpstream;
  let project: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestServer(dialect, {
      logLevel: "warn",
      config: {
        upstreamBaseUrl: mock.url,
        upstreamApiKey: PROVIDER_KEY,
        upstreamTimeoutMs: 2000,
        alertDispatchMs: 0,
        alertSweepMs: 0,
        githubLeakPublicKeys: JSON.stringify({
          [KEY_ID]: publicKey.export({ type: "spki", format: "pem" }).toString(),
        }),
      },
    });
    project = (await t.client.createProject({ name: "leaky" })).id;
  });
  afterAll(async () => {
    await t?.stop();
    await mock?.close();
  });

  const newKey = async (body: Record<string, unknown> = {}) =>
    t.client.createKey(project, { name: "k", ...body });

  const gateway = (key: string) =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        "user-agent": "trufflehog-attacker/1.0",
      },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    });

  const postGithub = async (raw: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${t.url}/api/v1/leaks/github`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "github-public-key-identifier": KEY_ID,
        "github-public-key-signature": githubSign(raw),
        ...headers,
      },
      body: raw,
    });
    return { status: res.status, body: await res.text() };
  };

  const githubReport = (tokens: string[], url = "https://github.com/acme/app/blob/abc/.env#L3") =>
    JSON.stringify(tokens.map((token) => ({ token, type: "keyward_api_key", url, source: "content" })));

  const auditOf = async (keyId: string) => (await t.client.listAudit({ target_id: keyId })).data;

  it("a correctly signed report revokes the key; the next gateway request gets 401; replay adds nothing", async () => {
    const k = await newKey();
    expect((await gateway(k.key)).status).toBe(200);
    const raw = githubReport([k.key]);
    const r = await postGithub(raw);
    expect(r.status).toBe(202);

    const res = await gateway(k.key);
    expect(res.status).toBe(401);
    const got = await t.client.getKey(k.id);
    expect(got.status).toBe("revoked");
    expect(got.revoked_reason).toBe(
      "leaked: reported by github at content https://github.com/acme/app/blob/abc/.env#L3",
    );
    const revocations = (await auditOf(k.id)).filter((e) => e.action === "key.revoked");
    expect(revocations).toHaveLength(1);
    expect(revocations[0]).toMatchObject({ actor_id: "leak-report:github", actor_role: null });

    // Replay: same bytes, same signature → same response, no second revocation or audit entry.
    const again = await postGithub(raw);
    expect(again).toEqual(r);
    // A different report of the now-revoked key changes nothing either.
    expect(await postGithub(githubReport([k.key], "https://gist.github.com/x"))).toEqual(r);
    expect((await auditOf(k.id)).filter((e) => e.action === "key.revoked")).toHaveLength(1);
  });

  it("documents both endpoints in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/v1/leaks/github", "/api/v1/leaks"]));
  });

  it("bad, missing or unknown-key signatures get 401 and change nothing", async () => {
    const k = await newKey();
    const raw = githubReport([k.key]);
    const forged = await postGithub(raw, { "github-public-key-signature": githubSign(raw, otherKey) });
    expect(forged.status).toBe(401);
    const tampered = await postGithub(raw, {
      "github-public-key-signature": githubSign(raw.replace("content", "commit")),
    });
    expect(tampered.status).toBe(401);
    const unknownId = await postGithub(raw, { "github-public-key-identifier": "nope" });
    expect(unknownId.status).toBe(401);
    const missing = await fetch(`${t.url}/api/v1/leaks/github`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: raw,
    });
    expect(missing.status).toBe(401);
    const garbage = await postGithub(raw, { "github-public-key-signature": "not-base64!!" });
    expect(garbage.status).toBe(401);

    expect((await t.client.getKey(k.id)).status).toBe("active");
    expect((await gateway(k.key)).status).toBe(200);
    expect((await auditOf(k.id)).map((e) => e.action)).toEqual(["key.created"]);
  });

  it("answers identically for known, unknown, malformed and already-revoked tokens (no oracle)", async () => {
    const known = await newKey();
    const revoked = await newKey();
    await t.client.revokeKey(revoked.id, "test");
    const reports = [[known.key], [generateKey("kw", "live")], ["kw_live_not-a-real-key"], [revoked.key]].map(
      (tokens) => githubReport(tokens),
    );
    const answers = [];
    for (const raw of reports) answers.push(await postGithub(raw));
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(answers[0]).toEqual({ status: 202, body: '{"status":"accepted"}' });
    expect((await t.client.getKey(known.id)).status).toBe("revoked");
  });

  it("the admin endpoint (GitLab-style) contains a key under the project's disable policy", async () => {
    const patched = await t.client.updateProject(project, { leak_action: "disable" });
    expect(patched.leak_action).toBe("disable");
    try {
      const k = await newKey();
      const res = await fetch(`${t.url}/api/v1/leaks`, {
        method: "POST",
        headers: { authorization: `Bearer ${t.ownerKey}`, "content-type": "application/json" },
        body: JSON.stringify([{ type: "keyward", token: k.key, location: "ci/logs/123" }]),
      });
      expect(res.status).toBe(202);
      expect(await res.text()).toBe('{"status":"accepted"}');
      expect((await t.client.getKey(k.id)).status).toBe("disabled");
      const disabled = (await auditOf(k.id)).find((e) => e.action === "key.disabled");
      expect(disabled?.changes).toMatchObject({ reason: expect.stringContaining("ci/logs/123") });
      const noAuth = await fetch(`${t.url}/api/v1/leaks`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "[]",
      });
      expect(noAuth.status).toBe(401);
    } finally {
      await t.client.updateProject(project, { leak_action: "revoke" });
    }
  });

  it("lists the reports processed, newest first: source, tokens and keys contained, never a token", async () => {
    const k = await newKey();
    const unknown = generateKey("kw", "live");
    const res = await fetch(`${t.url}/api/v1/leaks`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.ownerKey}`, "content-type": "application/json" },
      body: JSON.stringify([
        { type: "keyward", token: k.key, location: "ci/logs/7" },
        { type: "keyward", token: unknown },
        { type: "other", token: "not-a-key" },
      ]),
    });
    expect(res.status).toBe(202);
    const owner = (await t.client.listAdminKeys()).data.find((a) => a.name === "owner")!;
    const list = (key: string, query = "") =>
      fetch(`${t.url}/api/v1/leaks/reports${query}`, { headers: { authorization: `Bearer ${key}` } });
    const first = await list(t.ownerKey, "?limit=1");
    expect(first.status).toBe(200);
    const text = await first.text();
    expect(text).not.toContain(k.key);
    expect(text).not.toContain(unknown);
    const page = JSON.parse(text) as {
      data: Array<{ source: string; tokens: number; contained: number | null; received_at: string }>;
      has_more: boolean;
      next_before: string | null;
    };
    expect(page.data).toEqual([
      {
        object: "leak_report",
        source: `admin ${owner.id}`,
        tokens: 3,
        contained: 1,
        received_at: expect.any(String),
      },
    ]);
    // Earlier tests' reports follow on the next pages, each older than the last.
    expect(page.has_more).toBe(true);
    const older = (await (await list(t.ownerKey, `?before=${page.next_before}`)).json()) as typeof page;
    expect(older.data.length).toBeGreaterThan(0);
    for (const r of older.data) expect(r.received_at < page.data[0]!.received_at).toBe(true);
    // Readers read the audit log, so they may read reports; members may not.
    const reader = await t.client.createAdminKey({ name: "auditor", role: "reader" });
    expect((await list(reader.key)).status).toBe(200);
    const member = await t.client.createAdminKey({ name: "dev", role: "member" });
    expect((await list(member.key)).status).toBe(403);
    expect((await list(t.ownerKey, "?limit=0")).status).toBe(400);
    // Someone limited to some projects may not: reports cover every project.
    const limited = {
      id: "usr_x",
      role: "reader" as const,
      name: "x",
      ip: null,
      userAgent: null,
      projects: [project],
    };
    await expect(t.ctx.leaks.listReports(limited, { limit: 10 })).rejects.toMatchObject({
      code: "forbidden",
    });
  });

  it("handles a 1,000-token report in under 10 s", async () => {
    const real: Array<{ id: string; key: string }> = [];
    const owner = { id: "test", role: "owner" as const, name: "test", ip: null, userAgent: null };
    for (let i = 0; i < 500; i++) {
      const r = await t.ctx.keys.create(owner, project, { name: `bulk-${i}` }, null);
      real.push({ id: r.body.id, key: r.body.key });
    }
    const tokens = [...real.map((r) => r.key)];
    while (tokens.length < 1000) tokens.push(generateKey("kw", "live"));
    const raw = githubReport(tokens);
    const started = performance.now();
    const r = await postGithub(raw);
    const ms = performance.now() - started;
    console.log(
      `[bench] leak report (${dialect}): 1,000 tokens (500 live keys revoked) in ${ms.toFixed(0)} ms`,
    );
    expect(r.status).toBe(202);
    expect(ms).toBeLessThan(10_000);
    const left = await t.ctx.store.db
      .selectFrom("api_keys")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("name", "like", "bulk-%")
      .where("status", "!=", "revoked")
      .executeTakeFirstOrThrow();
    expect(Number(left.n)).toBe(0);
  }, 60_000);

  it("a canary key gets 401 at the gateway and raises exactly one key.canary_used alert, audited", async () => {
    const receiver = await new WebhookReceiver().listen();
    try {
      await t.client.createWebhook({ url: receiver.url, event_types: ["key.canary_used"] });
      const c = await newKey({ canary: true, name: "tripwire" });
      expect(c.canary).toBe(true);
      const upstreamBefore = mock.stats.requests;
      const res = await gateway(c.key);
      expect(res.status).toBe(401);
      const unknown = await gateway(generateKey("kw", "live"));
      // Same answer as a key that does not exist (request ids aside).
      const strip = (b: string) => b.replace(/"request_id":"[^"]*"/, "");
      expect(strip(await res.text())).toBe(strip(await unknown.text()));
      expect(mock.stats.requests).toBe(upstreamBefore);

      await t.ctx.canary.idle();
      await t.ctx.alerting.sink.flush();
      await t.ctx.alerting.tailer.runOnce();
      await t.ctx.alerting.dispatcher.runOnce();
      const alerts = receiver.ofType("key.canary_used");
      expect(alerts).toHaveLength(1);
      expect(alerts[0]!.payload.subject).toBe(c.id);
      expect(JSON.stringify(alerts[0]!.payload)).toContain("trufflehog-attacker/1.0");
      expect(JSON.stringify(alerts[0]!.payload)).not.toContain(c.key);

      const used = (await auditOf(c.id)).filter((e) => e.action === "key.canary_used");
      expect(used).toHaveLength(1);
      expect(used[0]).toMatchObject({ actor_id: "canary", user_agent: "trufflehog-attacker/1.0" });
      expect(used[0]!.changes).toMatchObject({ endpoint: "/v1/chat/completions" });
    } finally {
      await receiver.close();
    }
  });
});
