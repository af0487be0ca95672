import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PriceTable } from "./pricing.js";

describe("pricing", () => {
  const table = PriceTable.load(undefined);
  it("costs in integer micro-dollars, cached tokens at the cached price", () => {
    // gpt-4o-mini: 0.15 in, 0.075 cached, 0.60 out per 1M tokens.
    expect(table.costMicros("gpt-4o-mini", { prompt: 1_000_000, completion: 0, cached: 0 })).toBe(150_000);
    expect(table.costMicros("gpt-4o-mini", { prompt: 1000, completion: 500, cached: 200 })).toBe(
      Math.round(800 * 0.15 + 200 * 0.075 + 500 * 0.6),
    );
  });
  it("matches dated snapshots by longest prefix", () => {
    expect(table.priceOf("gpt-4o-mini-2024-07-18")?.input).toBe(0.15);
    expect(table.priceOf("gpt-4o-2024-08-06")?.input).toBe(2.5);
    expect(table.priceOf("gpt-4oops")).toBeNull();
    expect(table.costMicros("unknown-model", { prompt: 10, completion: 10, cached: 0 })).toBe(0);
  });
  it("loads overrides from a file and rejects bad ones", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "prices-"));
    const good = path.join(dir, "p.json");
    writeFileSync(
      good,
      JSON.stringify({ "my-model": { input: 1, output: 2 }, "gpt-4o": { input: 3, output: 4 } }),
    );
    const t = PriceTable.load(good);
    expect(t.priceOf("my-model")).toEqual({ input: 1, cached_input: 1, output: 2 });
    expect(t.priceOf("gpt-4o")?.input).toBe(3);
    const bad = path.join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ x: { input: -1, output: 1 } }));
    expect(() => PriceTable.load(bad)).toThrow(/invalid price file/);
  });
});
