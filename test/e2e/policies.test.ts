import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWebhook } from "../../src/alerts/signature.js";
import { KeywardClient } from "../../src/client/client.js";
import { ManualClock } from "../../src/core/clock.js";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";
import type { UsageEvent } from "../../src/usage/types.js";
import { WebhookReceiver, type ReceivedDelivery } from "../support/webhook-receiver.js";
import { usageEvent } from "../support/usage-event.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A server on a ManualClock with no background loops, a receiver, and a webhook for every event. */
async function setup(dialect: "sqlite" | "postgres", clock: ManualClock) {
  const t = await startTestServer(dialect, {
    clock,
    logLevel: "warn",
    config: { alertDispatchMs: 0, alertSweepMs: 0 },
  });
  const receiver = await new WebhookReceiver().listen();
  const webhook = await t.client.createWebhook({ url: receiver.url });
  /** What a timer would do: write last-used times, then tail, sweep and deliver. */
  const sweep = async () => {
    await t.ctx.lastUsed.flush();
    return t.ctx.alerting.runOnce();
  };
  /** Accepted alerts of a type about one subject, each checked with the verification recipe. */
  const alerts = (type: string, subject: string): ReceivedDelivery[] => {
    const got = receiver.ofType(type).filter((d) => d.payload.subject === subject);
    for (const d of got) {
      const ok = verifyWebhook({
        secret: webhook.secret,
        id: d.headers["keyward-webhook-id"] as string,
        timestamp: d.headers["keyward-webhook-timestamp"] as string,
        signature: d.headers["keyward-signature"] as string,
        rawBody: d.rawBody,
        nowSeconds: Number(d.headers["keyward-webhook-timestamp"]),
      });
      expect(ok).toEqual({ ok: true });
    }
    return got;
  };
  return { t, receiver, sweep, alerts };
}

/**
 * Rotation policy (rotate_by, warn or enforce), stale keys, and expiry warnings, on a
 * controllable clock: each alert fires once, at the right time, delivered signed.
 */
describe.each(testDialects())("rotation policy and key alerts (%s)", (dialect) => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 9));
  let env: Awaited<ReturnType<typeof setup>>;
  let t: TestServer;
  const project = async (name: string, policy: Parameters<KeywardClient["updateProject"]>[1] = {}) => {
    const p = await t.client.createProject({ name });
    return Object.keys(policy).length ? t.client.updateProject(p.id, policy) : p;
  };
  const code = async (key: string) => (await t.client.verifyKey({ key })).code;

  beforeAll(async () => {
    env = await setup(dialect, clock);
    t = env.t;
  });
  afterAll(async () => {
    await env?.receiver.close();
    await t?.stop();
  });

  it("projects carry a rotation policy (90 days, warn, stale after 30 by default); PATCH changes it, audited", async () => {
    const p = await t.client.createProject({ name: "policy-defaults" });
    expect(p).toMatchObject({ rotation_max_age_days: 90, rotation_enforce: false, stale_after_days: 30 });
    const u = await t.client.updateProject(p.id, { rotation_max_age_days: 30, stale_after_days: null });
    expect(u).toMatchObject({ rotation_max_age_days: 30, rotation_enforce: false, stale_after_days: null });
    const audit = await t.client.listAudit({ target_id: p.id, action: "project.updated" });
    expect(audit.data[0]!.changes).toMatchObject({
      before: { rotation_max_age_days: 90, stale_after_days: 30 },
      after: { rotation_max_age_days: 30, stale_after_days: null },
    });
    for (const bad of [{ rotation_max_age_days: 0 }, { stale_after_days: 1.5 }, { rotation_enforce: "yes" }])
      await expect(
        t.client.updateProject(p.id, bad as Parameters<KeywardClient["updateProject"]>[1]),
      ).rejects.toMatchObject({ status: 400, code: "invalid_request" });
    const reader = new KeywardClient(
      t.url,
      (await t.client.createAdminKey({ name: "r", role: "reader" })).key,
    );
    await expect(reader.updateProject(p.id, { rotation_enforce: true })).rejects.toMatchObject({
      status: 403,
    });
  });

  it("key views show rotate_by (creation or last rotation + max age) and rotated_at", async () => {
    const p = await project("views", { rotation_max_age_days: 30 });
    const k = await t.client.createKey(p.id, { name: "v" });
    expect(k).toMatchObject({ rotated_at: null, stale: false });
    expect(Date.parse(k.rotate_by!) - Date.parse(k.created_at)).toBe(30 * DAY);
    clock.advance(5 * DAY);
    const r = await t.client.rotateKey(k.id, 0);
    expect(r.rotated_at).toBe(new Date(clock.now()).toISOString());
    expect(r.rotate_by).toBe(new Date(clock.now() + 30 * DAY).toISOString());
    expect((await t.client.getKey(k.id)).rotate_by).toBe(r.rotate_by);
    await t.client.updateProject(p.id, { rotation_max_age_days: null });
    expect((await t.client.getKey(k.id)).rotate_by).toBeNull();
  });

  it("key.expiring fires 7 days and 1 day before expiry, once each; short-lived keys skip the 7-day warning", async () => {
    const p = await project("expiring", { rotation_max_age_days: null, stale_after_days: null });
    const long = await t.client.createKey(p.id, { name: "ten-days", ttl_seconds: 10 * 86400 });
    const short = await t.client.createKey(p.id, { name: "four-days", ttl_seconds: 4 * 86400 });
    await env.sweep();
    expect(env.alerts("key.expiring", long.id)).toHaveLength(0);
    expect(env.alerts("key.expiring", short.id)).toHaveLength(0);

    clock.advance(3 * DAY + MINUTE); // long: 7 days − 1 min left; short: 1 day − 1 min left
    await env.sweep();
    await env.sweep();
    expect(env.alerts("key.expiring", long.id).map((d) => d.payload.data.days_before)).toEqual([7]);
    expect(env.alerts("key.expiring", short.id).map((d) => d.payload.data.days_before)).toEqual([1]);
    const week = env.alerts("key.expiring", long.id)[0]!;
    expect(week.payload).toMatchObject({
      project_id: p.id,
      data: { key_name: "ten-days", expires_at: long.expires_at },
    });
    expect(week.payload.text).toContain("ten-days");
    expect(week.rawBody).not.toContain(long.key);

    clock.advance(6 * DAY);
    await env.sweep();
    clock.advance(12 * HOUR);
    await env.sweep();
    expect(env.alerts("key.expiring", long.id).map((d) => d.payload.data.days_before)).toEqual([7, 1]);
    expect(env.alerts("key.expiring", short.id)).toHaveLength(1);
  });

  it("alerted keys drop out of the sweep's candidates (dedupe keys rebuilt in SQL match exactly)", async () => {
    const p = await project("backlog", { rotation_max_age_days: 1, stale_after_days: 1 });
    await t.client.createKey(p.id, { name: "a", ttl_seconds: 8 * 86400 });
    await t.client.createKey(p.id, { name: "b", ttl_seconds: 5 * 86400 });
    const backlog = () => t.ctx.alerting.sweeper.policy.backlog(clock.now());
    clock.advance(2 * DAY);
    // Only p's keys are due for rotation/stale this early; other tests' keys are long alerted.
    expect(await backlog()).toMatchObject({ expiring: 1 });
    await env.sweep();
    expect(await backlog()).toEqual({ expiring: 0, rotation: 0, stale: 0 });
    clock.advance(5.5 * DAY);
    expect((await backlog()).expiring).toBe(1);
    await env.sweep();
    expect(await backlog()).toEqual({ expiring: 0, rotation: 0, stale: 0 });
  });

  it("stale keys: flagged in listings and alerted once per idle spell; use clears it", async () => {
    const p = await project("stale", { rotation_max_age_days: null, stale_after_days: 10 });
    const k = await t.client.createKey(p.id, { name: "idle" });
    const fresh = await t.client.createKey(p.id, { name: "busy" });
    const staleIds = async () =>
      (await t.client.listKeys({ project_id: p.id, stale: "true" })).data.map((x) => x.id).sort();
    expect(await staleIds()).toEqual([]);

    clock.advance(10 * DAY);
    expect(await code(fresh.key)).toBe("VALID"); // used today
    await t.ctx.lastUsed.flush();
    expect(await staleIds()).toEqual([k.id]);
    expect((await t.client.listKeys({ project_id: p.id, stale: "false" })).data.map((x) => x.id)).toEqual([
      fresh.id,
    ]);
    expect((await t.client.getKey(k.id)).stale).toBe(true);
    await env.sweep();
    await env.sweep();
    expect(env.alerts("key.stale", k.id)).toHaveLength(1);
    expect(env.alerts("key.stale", fresh.id)).toHaveLength(0);
    expect(env.alerts("key.stale", k.id)[0]!.payload.data).toMatchObject({
      stale_after_days: 10,
      unused_days: 10,
    });

    // Used again: not stale; idle for another 10 days: a new spell, a new alert.
    expect(await code(k.key)).toBe("VALID");
    await t.ctx.lastUsed.flush();
    expect(await staleIds()).toEqual([]);
    clock.advance(10 * DAY + MINUTE);
    await env.sweep();
    await env.sweep();
    expect(env.alerts("key.stale", k.id)).toHaveLength(2);
    // Revoked keys are never stale.
    await t.client.revokeKey(fresh.id);
    expect(await staleIds()).toEqual([k.id]);
  });

  it("warn mode: key.rotation_due once per deadline; the key keeps working; a rotation moves the deadline", async () => {
    const p = await project("warn", { rotation_max_age_days: 30, stale_after_days: null });
    const k = await t.client.createKey(p.id, { name: "warned" });
    clock.advance(30 * DAY - MINUTE);
    await env.sweep();
    expect(env.alerts("key.rotation_due", k.id)).toHaveLength(0);
    clock.advance(2 * MINUTE);
    await env.sweep();
    await env.sweep();
    const due = env.alerts("key.rotation_due", k.id);
    expect(due).toHaveLength(1);
    expect(due[0]!.payload.data).toMatchObject({ enforced: false, max_age_days: 30, rotate_by: k.rotate_by });
    expect(await code(k.key)).toBe("VALID");

    const rotated = await t.client.rotateKey(k.id, 0);
    clock.advance(30 * DAY + MINUTE);
    await env.sweep();
    const again = env.alerts("key.rotation_due", k.id);
    expect(again).toHaveLength(2);
    expect(again[1]!.payload.data.rotate_by).toBe(rotated.rotate_by);
    expect(await code(rotated.key)).toBe("VALID");
  });

  it("enforce mode: the key expires at its deadline (audited as system), rotated keys do not", async () => {
    const p = await project("enforce", {
      rotation_max_age_days: 30,
      rotation_enforce: true,
      stale_after_days: null,
    });
    const k = await t.client.createKey(p.id, { name: "enforced" });
    const kept = await t.client.createKey(p.id, { name: "kept" });
    clock.advance(20 * DAY);
    const keptRotated = await t.client.rotateKey(kept.id, 0);
    clock.advance(10 * DAY - MINUTE);
    await env.sweep();
    expect(await code(k.key)).toBe("VALID");

    clock.advance(2 * MINUTE);
    await env.sweep();
    expect(await code(k.key)).toBe("EXPIRED");
    expect(await code(keptRotated.key)).toBe("VALID");
    const view = await t.client.getKey(k.id);
    expect(view).toMatchObject({ status: "expired", expires_at: k.rotate_by });
    const audit = await t.client.listAudit({ target_id: k.id, action: "key.rotation_enforced" });
    expect(audit.data).toHaveLength(1);
    expect(audit.data[0]).toMatchObject({
      actor_id: "system",
      changes: { after: { expires_at: k.rotate_by } },
    });
    expect((await t.client.verifyAudit()).ok).toBe(true);

    await env.sweep();
    await env.sweep();
    expect(env.alerts("key.rotation_due", k.id).map((d) => d.payload.data.enforced)).toEqual([true]);
    expect(env.alerts("key.rotation_enforced", k.id)).toHaveLength(1);
    expect(await t.client.listAudit({ target_id: k.id, action: "key.rotation_enforced" })).toMatchObject({
      data: [expect.anything()],
    });
  });
});

/**
 * usage.anomaly on a fresh store: spend/rate against the trailing baseline, and never-seen IPs.
 * Usage goes through the server's recorder (on SQLite its writer thread), which keeps the
 * hourly rollups and key_ips; the raw events are then deleted, because the sweep must decide
 * from those summaries alone and never read usage_events on the main thread.
 */
describe.each(testDialects())("usage anomaly alerts (%s)", (dialect) => {
  const clock = new ManualClock(Date.UTC(2026, 4, 1));
  let env: Awaited<ReturnType<typeof setup>>;
  let t: TestServer;
  let seq = 0;
  const usage = (keyId: string, projectId: string, ts: number, ip: string | null, cost: number): UsageEvent =>
    usageEvent({
      requestId: `req_${seq++}`,
      ts,
      keyId,
      projectId,
      usage: { prompt: 10, completion: 10, cached: 0 },
      costMicros: cost,
      clientIp: ip,
    });
  /** Records events as the gateway would, commits them, then drops the raw rows. */
  const record = async (events: UsageEvent[]) => {
    for (const e of events) t.ctx.usage.record(e);
    await t.ctx.usage.flush();
    expect(t.ctx.usage.pending).toBe(0);
    await t.ctx.store.db.deleteFrom("usage_events").execute();
  };
  /** 5 requests an hour for the 7 days before the last hour, from 10.0.0.1, $0.001 each. */
  const baseline = (keyId: string, projectId: string) => {
    const rows: UsageEvent[] = [];
    for (let h = 1; h <= 168; h++)
      for (let i = 0; i < 5; i++)
        rows.push(usage(keyId, projectId, clock.now() - HOUR - h * HOUR + i * MINUTE, "10.0.0.1", 1000));
    return rows;
  };

  beforeAll(async () => {
    env = await setup(dialect, clock);
    t = env.t;
  });
  afterAll(async () => {
    await env?.receiver.close();
    await t?.stop();
  });

  it("a spike in rate and spend, and a new IP, raise one usage.anomaly per key per hour", async () => {
    const p = await t.client.createProject({ name: "anomaly" });
    const spiky = await t.client.createKey(p.id, { name: "spiky" });
    const quiet = await t.client.createKey(p.id, { name: "quiet" });
    const newborn = await t.client.createKey(p.id, { name: "newborn" });
    clock.advance(8 * DAY);
    const now = clock.now(); // on the hour: the last 60 minutes are exactly the previous bucket
    const spike: UsageEvent[] = [];
    for (let i = 0; i < 300; i++)
      spike.push(
        usage(spiky.id, p.id, now - 50 * MINUTE + i * 1000, i < 200 ? "10.0.0.1" : "203.0.113.9", 20_000),
      );
    await record([
      ...baseline(spiky.id, p.id),
      ...baseline(quiet.id, p.id),
      ...spike,
      ...Array.from({ length: 5 }, (_, i) => usage(quiet.id, p.id, now - 30 * MINUTE + i, "10.0.0.1", 1000)),
      // A key's very first requests are not "from a new IP": there is nothing to compare with.
      ...Array.from({ length: 10 }, (_, i) =>
        usage(newborn.id, p.id, now - 20 * MINUTE + i, "198.51.100.7", 1000),
      ),
    ]);
    expect(await t.ctx.store.db.selectFrom("usage_events").select("request_id").execute()).toEqual([]);
    await env.sweep();
    await env.sweep();
    const got = env.alerts("usage.anomaly", spiky.id);
    expect(got).toHaveLength(1);
    expect(got[0]!.payload.data).toMatchObject({
      reasons: ["request_rate", "spend", "new_ip"],
      requests_last_hour: 300,
      cost_usd_last_hour: 6,
      baseline_requests_per_hour: 5,
      baseline_cost_usd_per_hour: 0.005,
      baseline_hours: 168,
      multiplier: 5,
      new_ips: ["203.0.113.9"],
      key_name: "spiky",
    });
    expect(got[0]!.payload.text).toContain("request_rate, spend, new_ip");
    expect(env.alerts("usage.anomaly", quiet.id)).toHaveLength(0);
    expect(env.alerts("usage.anomaly", newborn.id)).toHaveLength(0);

    // The spike goes on into a later hour: one more alert, no longer a new IP. Half past the
    // hour, the spike (all in the previous clock hour) counts half: the sliding-window estimate.
    clock.advance(HOUR + 30 * MINUTE);
    const more: UsageEvent[] = [];
    for (let i = 0; i < 300; i++)
      more.push(usage(spiky.id, p.id, clock.now() - 50 * MINUTE + i * 1000, "203.0.113.9", 20_000));
    await record(more);
    await env.sweep();
    await env.sweep();
    const later = env.alerts("usage.anomaly", spiky.id);
    expect(later).toHaveLength(2);
    expect(later[1]!.payload.data).toMatchObject({
      reasons: ["request_rate", "spend"],
      requests_last_hour: 150,
      cost_usd_last_hour: 3,
      // 167 hours of 5 requests and the first spike's hour, now part of the baseline.
      baseline_requests_per_hour: 6.756,
      baseline_hours: 168,
    });
  });
});
