import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { computeSignature, signatureHeader, verifyWebhook } from "./signature.js";

const secret = "whsec_0123456789abcdefghijABCDEFGHIJ";
const body = '{"id":"evt_1","type":"key.stale"}';
const ts = 1_770_000_000;
const input = (over: Partial<Parameters<typeof verifyWebhook>[0]> = {}) => ({
  secret,
  id: "evt_1",
  timestamp: String(ts),
  signature: signatureHeader(secret, ts, body),
  rawBody: body,
  nowSeconds: ts + 10,
  ...over,
});

describe("webhook signatures", () => {
  it("is HMAC-SHA256(secret, `<timestamp>.<raw body>`) in hex, as documented", () => {
    const expected = createHmac("sha256", secret).update(`${ts}.${body}`).digest("hex");
    expect(computeSignature(secret, ts, body)).toBe(expected);
    expect(signatureHeader(secret, ts, body)).toBe(`v1=${expected}`);
  });

  it("accepts a fresh, correctly signed delivery", () => {
    expect(verifyWebhook(input())).toEqual({ ok: true });
  });

  it("rejects a wrong secret, an edited body, an edited timestamp, garbage", () => {
    expect(verifyWebhook(input({ secret: secret + "x" }))).toEqual({ ok: false, problem: "bad_signature" });
    expect(verifyWebhook(input({ rawBody: body.replace("stale", "revoked") }))).toMatchObject({
      problem: "bad_signature",
    });
    expect(verifyWebhook(input({ timestamp: String(ts + 1) }))).toMatchObject({ problem: "bad_signature" });
    expect(verifyWebhook(input({ signature: "v1=zz" }))).toMatchObject({ problem: "bad_signature" });
    expect(verifyWebhook(input({ signature: "v0=" + computeSignature(secret, ts, body) }))).toMatchObject({
      problem: "bad_signature",
    });
    expect(verifyWebhook(input({ timestamp: "soon" }))).toMatchObject({ problem: "missing_headers" });
    expect(verifyWebhook(input({ id: undefined }))).toMatchObject({ problem: "missing_headers" });
  });

  it("rejects timestamps outside the 5-minute tolerance, either way", () => {
    expect(verifyWebhook(input({ nowSeconds: ts + 300 }))).toEqual({ ok: true });
    expect(verifyWebhook(input({ nowSeconds: ts + 301 }))).toMatchObject({ problem: "stale_timestamp" });
    expect(verifyWebhook(input({ nowSeconds: ts - 301 }))).toMatchObject({ problem: "stale_timestamp" });
    expect(verifyWebhook(input({ nowSeconds: ts + 3000, toleranceSeconds: 3600 }))).toEqual({ ok: true });
  });

  it("flags ids already processed, without recording anything itself", () => {
    const seen = new Set<string>();
    expect(verifyWebhook(input({ seenIds: seen }))).toEqual({ ok: true });
    expect(seen.size).toBe(0);
    seen.add("evt_1");
    expect(verifyWebhook(input({ seenIds: seen }))).toEqual({ ok: false, problem: "replayed" });
  });

  it("accepts any of several v1 signatures (secret rollover)", () => {
    const both = `${signatureHeader("whsec_old", ts, body)} ${signatureHeader(secret, ts, body)}`;
    expect(verifyWebhook(input({ signature: both }))).toEqual({ ok: true });
  });
});
