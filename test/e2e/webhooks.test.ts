import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { computeSignature, verifyWebhook } from "../../src/alerts/signature.js";
import { createContext } from "../../src/app/context.js";
import { KeywardClient } from "../../src/client/client.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { ManualClock } from "../../src/core/clock.js";
import { loadConfig, type ConfigInput } from "../../src/config/config.js";
import { createLogger } from "../../src/log/logger.js";
import { startServer } from "../../src/server/server.js";
import { LogCapture, startTestServer, testDialects, type TestServer } from "../support/harness.js";
import { WebhookReceiver, type ReceivedDelivery } from "../support/webhook-receiver.js";

const SECOND = 1000;

/** The documented verification recipe, as a receiver would run it (README "Alerts and webhooks"). */
function verify(d: ReceivedDelivery, secret: string, nowMs: number, seen?: Set<string>) {
  return verifyWebhook({
    secret,
    id: d.headers["keyward-webhook-id"] as string | undefined,
    timestamp: d.headers["keyward-webhook-timestamp"] as string | undefined,
    signature: d.headers["keyward-signature"] as string | undefined,
    rawBody: d.rawBody,
    nowSeconds: Math.floor(nowMs / 1000),
    ...(seen ? { seenIds: seen } : {}),
  });
}

/**
 * Alerts as signed webhooks, end to end over HTTP: a receiver started here gets each alert
 * exactly once with a valid signature; a receiver that is down gets it after it returns (retries
 * driven by a ManualClock and `runOnce`); forged and replayed deliveries are detected by the
 * documented recipe; the outbox survives a restart.
 */
describe.each(testDialects())("alert webhooks (%s)", (dialect) => {
  let t: TestServer;
  const clock = new ManualClock(Date.UTC(2026, 2, 1, 12));
  let projectA: string;
  let projectB: string;
  const receivers: WebhookReceiver[] = [];
  const webhookIds: string[] = [];
  const receiver = async () => {
    const r = await new WebhookReceiver().listen();
    receivers.push(r);
    return r;
  };
  /** Creates a webhook; each test's webhooks are removed after it, so tests do not see each other's events. */
  const addWebhook = async (body: Parameters<KeywardClient["createWebhook"]>[0]) => {
    const w = await t.client.createWebhook(body);
    webhookIds.push(w.id);
    return w;
  };
  const alerting = () => t.ctx.alerting;
  /** Alerts emitted → outbox → due deliveries, once. */
  const deliver = async () => {
    await alerting().sink.flush();
    await alerting().tailer.runOnce();
    return alerting().dispatcher.runOnce();
  };
  const threshold = (subject: string, projectId: string, pct: number, periodStart: number) => ({
    type: "budget.threshold",
    subject,
    projectId,
    data: {
      scope: "key",
      threshold_percent: pct,
      spent_usd: pct / 2,
      limit_usd: 50,
      period_start: periodStart,
    },
    dedupeKey: `budget.threshold:key:${subject}:${pct}:${periodStart}`,
    at: clock.now(),
  });

  beforeAll(async () => {
    t = await startTestServer(dialect, {
      clock,
      logLevel: "trace",
      // Deliveries happen when the test says so: no background loop races the assertions.
      config: { alertDispatchMs: 0, alertSweepMs: 0, webhookTimeoutMs: 2000 },
    });
    projectA = (await t.client.createProject({ name: "alpha" })).id;
    projectB = (await t.client.createProject({ name: "beta" })).id;
  });
  afterEach(async () => {
    for (const id of webhookIds.splice(0)) await t.client.deleteWebhook(id).catch(() => undefined);
    for (const r of receivers.splice(0)) await r.close();
    // Events of the previous test that found no webhook are recorded and done: start clean.
    await deliver();
  });
  afterAll(async () => t?.stop());

  it("creates a webhook with a whsec_ secret shown once, masked and encrypted afterwards, audited", async () => {
    const r = await receiver();
    const w = await addWebhook({
      url: r.url,
      description: "ops channel",
      event_types: ["key.*", "budget.threshold"],
    });
    expect(w.secret).toMatch(/^whsec_[0-9A-Za-z]{32}$/);
    expect(w.masked_secret).toBe(`whsec_…${w.secret.slice(-4)}`);
    expect(w.masked_url).toBe(`http://127.0.0.1:${r.port}/hooks/…`);
    expect(w).toMatchObject({ enabled: true, project_id: null, event_types: ["budget.threshold", "key.*"] });
    const got = await t.client.getWebhook(w.id);
    expect(JSON.stringify(got)).not.toContain(w.secret);
    expect(JSON.stringify(await t.client.listWebhooks())).not.toContain(w.secret);
    expect(got).not.toHaveProperty("secret");

    // At rest: neither the secret nor the URL (its token) is readable.
    const row = await t.ctx.store.db
      .selectFrom("webhooks")
      .selectAll()
      .where("id", "=", w.id)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(w.secret);
    expect(JSON.stringify(row)).not.toContain("abc123");
    if (dialect === "sqlite") {
      const file = readFileSync(path.join(t.store.dataDir, "keyward.db")).toString("latin1");
      expect(file).not.toContain(w.secret);
    }

    const updated = await t.client.updateWebhook(w.id, { enabled: false, event_types: ["*"] });
    expect(updated).toMatchObject({ enabled: false, event_types: ["*"] });
    const audit = await t.client.listAudit({ target_id: w.id });
    expect(audit.data.map((e) => e.action).sort()).toEqual(["webhook.created", "webhook.updated"]);
    expect(JSON.stringify(audit.data)).not.toContain(w.secret);
    expect(JSON.stringify(audit.data)).not.toContain("abc123");
    expect(t.logs.text).not.toContain(w.secret);
  });

  it("refuses bad input with specific 400s, and checks roles", async () => {
    await expect(t.client.createWebhook({ url: "ftp://example.com/x" })).rejects.toMatchObject({
      status: 400,
      code: "invalid_request",
    });
    await expect(t.client.createWebhook({ url: "not a url" })).rejects.toMatchObject({ status: 400 });
    await expect(
      t.client.createWebhook({ url: "https://example.com/h", event_types: ["budget.treshold"] }),
    ).rejects.toMatchObject({ status: 400, message: expect.stringContaining("event_types.0") as unknown });
    await expect(
      t.client.createWebhook({ url: "https://example.com/h", project_id: "proj_01JD3ZK5Q8XW2V7N4M6B9C1D2E" }),
    ).rejects.toMatchObject({ status: 404 });
    await expect(t.client.getWebhook("whk_01JD3ZK5Q8XW2V7N4M6B9C1D2E")).rejects.toMatchObject({
      status: 404,
    });
    await expect(t.client.getWebhook("nope")).rejects.toMatchObject({ status: 400, code: "invalid_id" });

    const before = (await t.client.listWebhooks()).data.length;
    const send = async (method: string, p: string, body: string) => {
      const res = await fetch(`${t.url}/api/v1${p}`, {
        method,
        headers: { authorization: `Bearer ${t.ownerKey}`, "content-type": "application/json" },
        ...(method === "GET" ? {} : { body }),
      });
      return {
        status: res.status,
        body: (await res.json()) as { error: { code: string; details?: { path: string }[] } },
      };
    };
    const json = JSON.stringify;
    const cases: Array<[string, string, string, string, string?]> = [
      ["POST", "/webhooks", json({ url: 5 }), "invalid_request", "url"],
      ["POST", "/webhooks", json({ url: "https://x.example/h", colour: "red" }), "invalid_request"],
      ["POST", "/webhooks", json({ url: `https://x.example/${"a".repeat(3000)}` }), "invalid_request", "url"],
      [
        "POST",
        "/webhooks",
        json({ url: "https://x.example/h", event_types: [] }),
        "invalid_request",
        "event_types",
      ],
      [
        "POST",
        "/webhooks",
        json({ url: "https://x.example/h", event_types: "key.*" }),
        "invalid_request",
        "event_types",
      ],
      [
        "POST",
        "/webhooks",
        json({ url: "https://x.example/h", description: "a\u0000b" }),
        "invalid_request",
        "description",
      ],
      [
        "POST",
        "/webhooks",
        json({ url: "https://x.example/h", enabled: "yes" }),
        "invalid_request",
        "enabled",
      ],
      [
        "POST",
        "/webhooks",
        json({ url: "https://x.example/h", project_id: "proj_x" }),
        "invalid_request",
        "project_id",
      ],
      ["POST", "/webhooks", "{", "invalid_json"],
      ["POST", "/webhooks", "[]", "invalid_request"],
      ["GET", "/webhooks/whk_01JD3ZK5Q8XW2V7N4M6B9C1D2E/deliveries?limit=0", "", "invalid_request"],
      ["GET", "/webhooks/whk_01JD3ZK5Q8XW2V7N4M6B9C1D2E/deliveries?after=x", "", "invalid_request"],
      ["PATCH", "/webhooks/whk_01JD3ZK5Q8XW2V7N4M6B9C1D2E", json({}), "invalid_request"],
    ];
    for (const [method, p, body, code, detail] of cases) {
      const r = await send(method, p, body);
      expect({ p, body, status: r.status, code: r.body.error.code }).toEqual({ p, body, status: 400, code });
      if (detail) expect(r.body.error.details?.[0]?.path).toBe(detail);
    }
    expect((await t.client.listWebhooks()).data).toHaveLength(before);

    const reader = new KeywardClient(
      t.url,
      (await t.client.createAdminKey({ name: "r", role: "reader" })).key,
    );
    const w = await addWebhook({ url: "https://example.com/h" });
    await expect(reader.createWebhook({ url: "https://example.com/x" })).rejects.toMatchObject({
      status: 403,
    });
    await expect(reader.testWebhook(w.id)).rejects.toMatchObject({ status: 403 });
    await expect(reader.deleteWebhook(w.id)).rejects.toMatchObject({ status: 403 });
    await expect(reader.listWebhooks()).resolves.toMatchObject({ object: "list" });
    await expect(reader.listDeliveries(w.id)).resolves.toMatchObject({ object: "list" });
  });

  it("delivers each threshold alert exactly once per period, with a valid signature", async () => {
    const r = await receiver();
    const w = await addWebhook({ url: r.url, event_types: ["budget.*"] });
    const key = "key_01JD3ZK5Q8XW2V7N4M6B9C1D2E";
    const period = Date.UTC(2026, 2, 1);
    // The gateway emits on every request past the threshold: many copies, one alert.
    for (let i = 0; i < 500; i++) t.ctx.alerts.emit(threshold(key, projectA, 80, period));
    await deliver();
    for (let i = 0; i < 50; i++) t.ctx.alerts.emit(threshold(key, projectA, 80, period));
    clock.advance(60 * SECOND);
    await deliver();
    expect(r.ofType("budget.threshold")).toHaveLength(1);

    const d = r.ofType("budget.threshold")[0]!;
    expect(verify(d, w.secret, clock.now())).toEqual({ ok: true });
    expect(d.headers["keyward-webhook-id"]).toBe(d.payload.id);
    expect(d.headers["content-type"]).toBe("application/json");
    expect(d.payload).toMatchObject({
      type: "budget.threshold",
      subject: key,
      project_id: projectA,
      data: { threshold_percent: 80, limit_usd: 50 },
    });
    expect(Object.keys(d.payload).sort()).toEqual([
      "created_at",
      "data",
      "id",
      "project_id",
      "subject",
      "text",
      "type",
    ]);
    expect(d.payload.text).toContain("80%");

    // Another threshold, and the next period: one each.
    t.ctx.alerts.emit(threshold(key, projectA, 100, period));
    t.ctx.alerts.emit(threshold(key, projectA, 80, Date.UTC(2026, 3, 1)));
    await deliver();
    expect(r.ofType("budget.threshold")).toHaveLength(3);
    expect(new Set(r.accepted.map((x) => x.payload.id)).size).toBe(3);

    const log = await t.client.listDeliveries(w.id);
    expect(log.data).toHaveLength(3);
    expect(log.data.every((x) => x.outcome === "delivered" && x.status_code === 200 && x.attempt === 1)).toBe(
      true,
    );
  });

  it("detects forged and replayed deliveries with the documented recipe", async () => {
    const r = await receiver();
    const w = await addWebhook({ url: r.url });
    t.ctx.alerts.emit({
      type: "key.stale",
      subject: "key_x",
      projectId: projectA,
      data: {},
      at: clock.now(),
    });
    await deliver();
    const d = r.accepted[0]!;
    const seen = new Set<string>();
    expect(verify(d, w.secret, clock.now(), seen)).toEqual({ ok: true });
    seen.add(d.payload.id); // processed

    // Wrong secret, altered body, a signature made up without the secret.
    expect(verify(d, "whsec_wrongwrongwrongwrongwrongwrong00", clock.now())).toEqual({
      ok: false,
      problem: "bad_signature",
    });
    const tampered = { ...d, rawBody: d.rawBody.replace('"key.stale"', '"key.revoked"') };
    expect(verify(tampered, w.secret, clock.now())).toEqual({ ok: false, problem: "bad_signature" });
    const forgedTs = String(Math.floor(clock.now() / 1000));
    const forged = {
      ...d,
      headers: {
        ...d.headers,
        "keyward-webhook-timestamp": forgedTs,
        "keyward-signature": `v1=${computeSignature("guess", Number(forgedTs), d.rawBody)}`,
      },
    };
    expect(verify(forged, w.secret, clock.now())).toEqual({ ok: false, problem: "bad_signature" });
    // Replays: the same delivery again is a seen id; a captured one later is a stale timestamp,
    // and moving its timestamp forward breaks the signature.
    expect(verify(d, w.secret, clock.now() + 30 * SECOND, seen)).toEqual({ ok: false, problem: "replayed" });
    expect(verify(d, w.secret, clock.now() + 6 * 60 * SECOND)).toEqual({
      ok: false,
      problem: "stale_timestamp",
    });
    const moved = {
      ...d,
      headers: { ...d.headers, "keyward-webhook-timestamp": String(Number(forgedTs) + 600) },
    };
    expect(verify(moved, w.secret, clock.now() + 10 * 60 * SECOND)).toEqual({
      ok: false,
      problem: "bad_signature",
    });
    expect(verify({ ...d, headers: {} }, w.secret, clock.now())).toEqual({
      ok: false,
      problem: "missing_headers",
    });
  });

  it("retries with backoff while the receiver is down (closed port), and delivers after it returns", async () => {
    const r = await receiver();
    const port = r.port;
    const w = await addWebhook({ url: r.url, event_types: ["budget.threshold"] });
    await r.close();
    t.ctx.alerts.emit(threshold("key_down", projectA, 50, 1));
    const first = await deliver();
    expect(first).toMatchObject({ attempted: 1, retrying: 1 });
    let log = await t.client.listDeliveries(w.id);
    expect(log.data[0]).toMatchObject({
      attempt: 1,
      outcome: "retrying",
      status_code: null,
      error: "ECONNREFUSED",
    });
    const next = Date.parse(log.data[0]!.next_retry_at!);
    expect(next - clock.now()).toBeGreaterThanOrEqual(10 * SECOND);
    expect(next - clock.now()).toBeLessThanOrEqual(12 * SECOND);

    // Not due yet: nothing is attempted.
    clock.advance(5 * SECOND);
    expect(await deliver()).toMatchObject({ attempted: 0 });
    // Due, still down: the second delay is longer (30 s + jitter).
    clock.advance(8 * SECOND);
    expect(await deliver()).toMatchObject({ attempted: 1, retrying: 1 });
    log = await t.client.listDeliveries(w.id);
    const second = log.data.find((x) => x.attempt === 2)!;
    expect(Date.parse(second.next_retry_at!) - clock.now()).toBeGreaterThanOrEqual(30 * SECOND);

    // Back on the same URL: the next due attempt delivers, once.
    const back = await new WebhookReceiver().listen(port);
    receivers.push(back);
    clock.advance(37 * SECOND);
    expect(await deliver()).toMatchObject({ attempted: 1, delivered: 1 });
    expect(verify(back.accepted[0]!, w.secret, clock.now())).toEqual({ ok: true });
    clock.advance(3600 * SECOND);
    expect(await deliver()).toMatchObject({ attempted: 0 });
    expect(back.ofType("budget.threshold")).toHaveLength(1);
    log = await t.client.listDeliveries(w.id);
    expect(log.data.map((x) => [x.attempt, x.outcome])).toEqual([
      [3, "delivered"],
      [2, "retrying"],
      [1, "retrying"],
    ]);
  });

  it("retries a receiver answering 500 with the same idempotency id, re-signed each time", async () => {
    const r = await receiver();
    r.status = 500;
    const w = await addWebhook({ url: r.url, event_types: ["budget.threshold"] });
    t.ctx.alerts.emit(threshold("key_500", projectA, 50, 2));
    await deliver();
    clock.advance(13 * SECOND);
    await deliver();
    r.status = 200;
    clock.advance(40 * SECOND);
    await deliver();
    expect(r.received.map((x) => x.status)).toEqual([500, 500, 200]);
    expect(new Set(r.received.map((x) => x.headers["keyward-webhook-id"])).size).toBe(1);
    expect(new Set(r.received.map((x) => x.headers["keyward-webhook-timestamp"])).size).toBe(3);
    for (const x of r.received) expect(verify(x, w.secret, clock.now())).toEqual({ ok: true });
    const log = await t.client.listDeliveries(w.id);
    expect(log.data.find((x) => x.attempt === 1)).toMatchObject({ status_code: 500, error: "HTTP 500" });
  });

  it("gives up after the schedule (~24 h): the message is failed, not retried forever", async () => {
    const r = await receiver();
    r.status = 503;
    const w = await addWebhook({ url: r.url, event_types: ["budget.threshold"] });
    t.ctx.alerts.emit(threshold("key_gone", projectA, 50, 3));
    await deliver();
    for (let i = 0; i < 12; i++) {
      clock.advance(10 * 3600 * SECOND);
      await deliver();
    }
    expect(r.received).toHaveLength(11);
    const log = await t.client.listDeliveries(w.id, { limit: 100 });
    expect(log.data[0]).toMatchObject({ attempt: 11, outcome: "failed", next_retry_at: null });
  });

  it("a project-filtered webhook gets only that project's events; a global one gets all", async () => {
    const onlyA = await receiver();
    const all = await receiver();
    await addWebhook({ url: onlyA.url, project_id: projectA, event_types: ["budget.threshold"] });
    await addWebhook({ url: all.url, event_types: ["budget.threshold"] });
    t.ctx.alerts.emit(threshold("key_a", projectA, 50, 4));
    t.ctx.alerts.emit(threshold("key_b", projectB, 50, 4));
    await deliver();
    expect(onlyA.accepted.map((d) => d.payload.subject)).toEqual(["key_a"]);
    expect(all.accepted.map((d) => d.payload.subject).sort()).toEqual(["key_a", "key_b"]);
  });

  it("forwards key lifecycle events from the audit log, once, with who did it", async () => {
    const r = await receiver();
    await addWebhook({ url: r.url, project_id: projectA, event_types: ["key.*"] });
    const k = await t.client.createKey(projectA, { name: "lifecycle" });
    await t.client.rotateKey(k.id, 0);
    await t.client.revokeKey(k.id, "test");
    await deliver();
    await deliver();
    const types = r.accepted.filter((d) => d.payload.subject === k.id).map((d) => d.payload.type);
    expect(types).toEqual(expect.arrayContaining(["key.created", "key.rotated", "key.revoked"]));
    expect(types).toHaveLength(3);
    const revoked = r.ofType("key.revoked")[0]!;
    expect(revoked.payload.data).toMatchObject({ actor_role: "owner", target_type: "key" });
    expect(revoked.rawBody).not.toContain(k.key);
  });

  it("`webhooks test` delivers a signed webhook.test now, and reports a failure", async () => {
    const r = await receiver();
    const w = await addWebhook({ url: r.url, event_types: ["key.revoked"], enabled: false });
    const ok = await t.client.testWebhook(w.id);
    expect(ok).toMatchObject({
      delivered: true,
      delivery: { attempt: 1, status_code: 200, outcome: "delivered" },
    });
    expect(r.ofType("webhook.test")).toHaveLength(1);
    expect(verify(r.ofType("webhook.test")[0]!, w.secret, clock.now())).toEqual({ ok: true });

    await r.close();
    const down = await t.client.testWebhook(w.id);
    expect(down.delivered).toBe(false);
    expect(down.delivery).toMatchObject({ outcome: "retrying", error: "ECONNREFUSED" });
  });

  it("keeps the outbox across a restart: queued before stop, delivered after start, still once", async () => {
    const r = await receiver();
    const port = r.port;
    const w = await addWebhook({ url: r.url, event_types: ["budget.threshold"] });
    await r.close();
    t.ctx.alerts.emit(threshold("key_restart", projectA, 80, 5));
    await deliver(); // written to the outbox; the attempt fails

    // Stop (graceful: the sink is flushed), then start a new process on the same store.
    await t.server.close();
    const logs = new LogCapture();
    const config = loadConfig(
      {},
      {
        host: "127.0.0.1",
        port: 0,
        dataDir: t.store.dataDir,
        logLevel: "debug",
        alertDispatchMs: 0,
        alertSweepMs: 0,
        ...(t.store.databaseUrl ? { databaseUrl: t.store.databaseUrl } : {}),
      },
    );
    const ctx = await createContext(config, createLogger("debug", logs), {
      clock,
      ...(t.store.pgSchema ? { pgSchema: t.store.pgSchema } : {}),
    });
    const server = await startServer(ctx);
    t = { ...t, ctx, server, url: server.url, client: new KeywardClient(server.url, t.ownerKey) };

    const back = await new WebhookReceiver().listen(port);
    receivers.push(back);
    clock.advance(15 * SECOND);
    // The same alert emitted again after the restart is still the one alert.
    t.ctx.alerts.emit(threshold("key_restart", projectA, 80, 5));
    await deliver();
    clock.advance(60 * SECOND);
    await deliver();
    expect(back.ofType("budget.threshold")).toHaveLength(1);
    expect(verify(back.accepted[0]!, w.secret, clock.now())).toEqual({ ok: true });
  });

  it("moves webhook secrets to a new master key at start-up, so the old key can be retired", async () => {
    const oldKey = randomBytes(32).toString("base64");
    const newKey = randomBytes(32).toString("base64");
    const quiet = { alertDispatchMs: 0, alertSweepMs: 0 };
    const s = await startTestServer(dialect, {
      clock,
      logLevel: "warn",
      config: { masterKey: oldKey, ...quiet },
    });
    const r = await receiver();
    const w = await s.client.createWebhook({ url: r.url });
    await s.server.close();
    const open = (extra: Partial<ConfigInput>) =>
      createContext(
        loadConfig(
          {},
          {
            host: "127.0.0.1",
            port: 0,
            dataDir: s.store.dataDir,
            ...quiet,
            ...extra,
            ...(s.store.databaseUrl ? { databaseUrl: s.store.databaseUrl } : {}),
          },
        ),
        createLogger("warn", new LogCapture()),
        { clock, ...(s.store.pgSchema ? { pgSchema: s.store.pgSchema } : {}) },
      );
    // Step 1 of a master key change: new key, old one as previous. The start re-seals.
    const during = await open({ masterKey: newKey, masterKeyPrevious: oldKey });
    const row = await during.store.db.selectFrom("webhooks").selectAll().executeTakeFirstOrThrow();
    expect(SecretBox.keyIdOf(row.secret_cipher)).toBe(during.masterKeys.current.id);
    expect(SecretBox.keyIdOf(row.url_cipher)).toBe(during.masterKeys.current.id);
    await during.close();
    // Old key retired: deliveries still sign with the same secret.
    const after = await open({ masterKey: newKey });
    const server = await startServer(after);
    try {
      const client = new KeywardClient(server.url, s.ownerKey);
      expect(await client.testWebhook(w.id)).toMatchObject({ delivered: true });
      expect(verify(r.ofType("webhook.test")[0]!, w.secret, clock.now())).toEqual({ ok: true });
      const audit = await client.listAudit({ action: "webhook.master_key_rotated" });
      expect(audit.data).toHaveLength(1);
      expect(audit.data[0]).toMatchObject({ actor_id: "system", changes: { rotated: 1 } });
    } finally {
      await server.close();
      await s.store.cleanup();
    }
  });
});

/** The background loops as deployed (no manual runOnce): alerts arrive on their own. */
describe.each(testDialects())("alert webhooks in the background (%s)", (dialect) => {
  let t: TestServer;
  let r: WebhookReceiver;
  beforeAll(async () => {
    t = await startTestServer(dialect, {
      logLevel: "warn",
      config: { alertFlushMs: 20, alertDispatchMs: 50 },
    });
    r = await new WebhookReceiver().listen();
  });
  afterAll(async () => {
    await r?.close();
    await t?.stop();
  });

  it("delivers emitted and lifecycle alerts without being asked, once", async () => {
    const w = await t.client.createWebhook({ url: r.url, event_types: ["budget.threshold", "key.created"] });
    const p = await t.client.createProject({ name: "bg" });
    const k = await t.client.createKey(p.id, { name: "bg-key" });
    for (let i = 0; i < 20; i++)
      t.ctx.alerts.emit({
        type: "budget.threshold",
        subject: k.id,
        projectId: p.id,
        data: { threshold_percent: 50 },
        dedupeKey: `bg:${k.id}:50`,
        at: Date.now(),
      });
    const deadline = Date.now() + 10_000;
    while (r.accepted.length < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 25));
    await new Promise((res) => setTimeout(res, 300)); // nothing more arrives
    expect(r.accepted.map((d) => d.payload.type).sort()).toEqual(["budget.threshold", "key.created"]);
    for (const d of r.accepted) expect(verify(d, w.secret, Date.now())).toEqual({ ok: true });
  });
});
