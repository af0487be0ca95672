import { describe, expect, it } from "vitest";
import { DAY_MS, type RotationPolicy } from "../core/rotation-policy.js";
import { expiringAlert, rotationDecision, staleAlert, type SweptKey } from "./key-alerts.js";

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const DAY = DAY_MS;
const key = (over: Partial<SweptKey> = {}): SweptKey => ({
  id: "key_1",
  project_id: "proj_1",
  name: "ci",
  hint: "kw_live_…abcd",
  status: "active",
  created_at: T0,
  rotated_at: null,
  last_used_at: null,
  expires_at: null,
  ...over,
});
const warn: RotationPolicy = { maxAgeDays: 90, enforce: false, staleAfterDays: 30 };

describe("key.expiring", () => {
  const k = key({ expires_at: T0 + 30 * DAY });
  it("fires at 7 days, then at 1 day, with distinct dedupe keys", () => {
    expect(expiringAlert(k, T0 + 22 * DAY)).toBeNull();
    const week = expiringAlert(k, T0 + 23 * DAY)!;
    expect(week.data).toMatchObject({ days_before: 7, expires_in_days: 7 });
    const day = expiringAlert(k, T0 + 29.5 * DAY)!;
    expect(day.data).toMatchObject({ days_before: 1 });
    expect(day.dedupeKey).not.toBe(week.dedupeKey);
    expect(expiringAlert(k, T0 + 30 * DAY)).toBeNull();
  });
  it("skips warnings longer than the key's life, and non-active keys", () => {
    const short = key({ expires_at: T0 + 3 * DAY });
    expect(expiringAlert(short, T0 + DAY)).toBeNull();
    expect(expiringAlert(short, T0 + 2.5 * DAY)?.data.days_before).toBe(1);
    expect(expiringAlert(key({ expires_at: T0 + 12 * HOUR, created_at: T0 }), T0 + HOUR)).toBeNull();
    expect(expiringAlert({ ...k, status: "disabled" }, T0 + 29.5 * DAY)).toBeNull();
  });
  it("a new expiry time is a new warning", () => {
    const moved = { ...k, expires_at: T0 + 40 * DAY };
    expect(expiringAlert(moved, T0 + 33 * DAY)!.dedupeKey).not.toBe(
      expiringAlert(k, T0 + 23 * DAY)!.dedupeKey,
    );
  });
});

describe("key.rotation_due", () => {
  it("fires once the deadline passes, keyed by the deadline", () => {
    expect(rotationDecision(key(), warn, T0 + 90 * DAY - 1)).toEqual({ alert: null, expireAt: null });
    const d = rotationDecision(key(), warn, T0 + 90 * DAY);
    expect(d.expireAt).toBeNull();
    expect(d.alert).toMatchObject({
      type: "key.rotation_due",
      dedupeKey: `key.rotation_due:key_1:${T0 + 90 * DAY_MS}`,
    });
    const rotated = rotationDecision(key({ rotated_at: T0 + 10 * DAY }), warn, T0 + 95 * DAY);
    expect(rotated.alert).toBeNull();
  });
  it("enforce expires at the deadline, never later than an earlier expiry", () => {
    const enforce = { ...warn, enforce: true };
    expect(rotationDecision(key(), enforce, T0 + 91 * DAY).expireAt).toBe(T0 + 90 * DAY);
    expect(rotationDecision(key({ expires_at: T0 + 100 * DAY }), enforce, T0 + 91 * DAY).expireAt).toBe(
      T0 + 90 * DAY,
    );
    // Already expired, revoked, or no maximum age: nothing to do.
    expect(rotationDecision(key({ expires_at: T0 + 90 * DAY }), enforce, T0 + 91 * DAY).alert).toBeNull();
    expect(rotationDecision(key({ status: "revoked" }), enforce, T0 + 91 * DAY).alert).toBeNull();
    expect(rotationDecision(key(), { ...enforce, maxAgeDays: null }, T0 + 900 * DAY).alert).toBeNull();
    // A disabled key is expired by an enforcing policy (and said so), but not nagged about otherwise.
    expect(rotationDecision(key({ status: "disabled" }), enforce, T0 + 91 * DAY).expireAt).toBe(
      T0 + 90 * DAY,
    );
    expect(rotationDecision(key({ status: "disabled" }), warn, T0 + 91 * DAY).alert).toBeNull();
  });
});

describe("key.stale", () => {
  it("fires per idle spell: the last activity names the spell", () => {
    expect(staleAlert(key(), warn, T0 + 30 * DAY - 1)).toBeNull();
    const first = staleAlert(key(), warn, T0 + 30 * DAY)!;
    expect(first.data).toMatchObject({ unused_days: 30, last_used_at: null });
    const used = key({ last_used_at: T0 + 40 * DAY });
    expect(staleAlert(used, warn, T0 + 60 * DAY)).toBeNull();
    expect(staleAlert(used, warn, T0 + 70 * DAY)!.dedupeKey).not.toBe(first.dedupeKey);
    expect(staleAlert(key(), { ...warn, staleAfterDays: null }, T0 + 999 * DAY)).toBeNull();
  });
});
