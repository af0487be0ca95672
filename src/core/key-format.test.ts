import { describe, expect, it } from "vitest";
import { checksumOf, generateKey, maskKey, parseKey, KEY_BODY_LENGTH } from "./key-format.js";

describe("key format", () => {
  it("generates keys with prefix, ≥160-bit base62 body and a valid checksum", () => {
    const key = generateKey("kw", "live");
    expect(key).toMatch(/^kw_live_[0-9A-Za-z]{38}$/);
    expect(KEY_BODY_LENGTH * Math.log2(62)).toBeGreaterThanOrEqual(160);
    const parsed = parseKey(key, "kw");
    expect(parsed).toEqual({ ok: true, key: { kind: "live", body: key.slice(8, 40) } });
  });

  it("never repeats and uses the whole alphabet roughly uniformly", () => {
    const seen = new Set<string>();
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const k = generateKey("kw", "test");
      seen.add(k);
      for (const ch of k.slice(8, 40)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    expect(seen.size).toBe(2000);
    expect(counts.size).toBe(62);
    const expected = (2000 * 32) / 62;
    for (const c of counts.values()) expect(Math.abs(c - expected) / expected).toBeLessThan(0.2);
  });

  it("rejects a wrong checksum, wrong prefix, wrong length and bad characters", () => {
    const key = generateKey("kw", "live");
    const last = key.at(-1)!;
    const flipped = key.slice(0, -1) + (last === "a" ? "b" : "a");
    expect(parseKey(flipped, "kw")).toEqual({ ok: false, problem: "checksum" });
    expect(parseKey(key.replace("kw_", "xx_"), "kw")).toEqual({ ok: false, problem: "prefix" });
    expect(parseKey(key.replace("_live_", "_prod_"), "kw")).toEqual({ ok: false, problem: "prefix" });
    expect(parseKey(key + "0", "kw")).toEqual({ ok: false, problem: "length" });
    expect(parseKey(key.slice(0, 10) + "-" + key.slice(11), "kw")).toEqual({ ok: false, problem: "charset" });
    expect(parseKey("", "kw")).toEqual({ ok: false, problem: "prefix" });
  });

  it("honours a custom brand prefix", () => {
    const key = generateKey("acme", "admin");
    expect(key.startsWith("acme_admin_")).toBe(true);
    expect(parseKey(key, "acme").ok).toBe(true);
    expect(parseKey(key, "kw").ok).toBe(false);
  });

  it("checksum is a fixed 6-char base62 CRC32", () => {
    expect(checksumOf("")).toBe("000000");
    expect(checksumOf("abc")).toHaveLength(6);
  });

  it("masks keys to prefix and last four", () => {
    expect(maskKey("kw_live_abcdefghijklmnopqrstuvwxyz0123456789AB")).toBe("kw_live_…89AB");
  });
});
