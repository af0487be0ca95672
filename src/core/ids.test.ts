import { describe, expect, it } from "vitest";
import { IdMinter, isId, newId } from "./ids.js";

describe("IdMinter", () => {
  it("mints well-formed, unique ids that sort by time", () => {
    const minter = new IdMinter("req");
    const ids: string[] = [];
    // Enough ids to refill the random pool several times.
    for (let i = 0; i < 5000; i++) ids.push(minter.next(1_700_000_000_000 + i));
    for (const id of ids) expect(isId(id, "req")).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it("uses the same time encoding as newId", () => {
    const now = 1_795_375_237_123;
    expect(new IdMinter("req").next(now).slice(0, 14)).toBe(newId("req", now).slice(0, 14));
  });

  it("spreads every character of the random part over the whole alphabet", () => {
    const minter = new IdMinter("x");
    const seen = Array.from({ length: 16 }, () => new Set<string>());
    for (let i = 0; i < 2000; i++) [...minter.next(0).slice(12)].forEach((c, at) => seen[at]!.add(c));
    for (const s of seen) expect(s.size).toBe(32);
  });
});
