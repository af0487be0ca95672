import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { usageEvent } from "../../test/support/usage-event.js";
import { keyIpPairs } from "./key-ips.js";
import type { UsageEvent } from "./types.js";

const T0 = Date.UTC(2026, 0, 1);
const event = (keyId: string, clientIp: string | null, ts: number): UsageEvent =>
  usageEvent({ requestId: `req_${keyId}_${clientIp}_${ts}`, ts, keyId, projectId: "proj_1", clientIp });

describe("keyIpPairs", () => {
  it("lists each (key, IP) once with its earliest time, in primary-key order, without null IPs", () => {
    expect(
      keyIpPairs([
        event("key_b", "10.0.0.1", T0 + 5),
        event("key_a", "10.0.0.2", T0 + 9),
        event("key_b", "10.0.0.1", T0 + 1),
        event("key_a", null, T0),
        event("key_a", "10.0.0.1", T0 + 7),
        event("key_a", "10.0.0.2", T0 + 3),
        event("key_b", "10.0.0.1", T0 + 8),
      ]),
    ).toEqual([
      { key_id: "key_a", ip: "10.0.0.1", first_seen_at: T0 + 7 },
      { key_id: "key_a", ip: "10.0.0.2", first_seen_at: T0 + 3 },
      { key_id: "key_b", ip: "10.0.0.1", first_seen_at: T0 + 1 },
    ]);
    expect(keyIpPairs([])).toEqual([]);
    expect(keyIpPairs([event("key_a", null, T0)])).toEqual([]);
  });

  it("equals a GROUP BY key, IP with min(ts), in any event order", () => {
    const arb = fc.array(
      fc.tuple(
        fc.constantFrom("key_a", "key_b", "key_c"),
        fc.constantFrom("10.0.0.1", "10.0.0.2", "2001:db8::1", null),
        fc.integer({ min: T0, max: T0 + 1000 }),
      ),
    );
    fc.assert(
      fc.property(arb, (rows) => {
        const pairs = keyIpPairs(rows.map(([k, ip, ts]) => event(k, ip, ts)));
        const expected = new Map<string, number>();
        for (const [k, ip, ts] of rows)
          if (ip !== null) expected.set(`${k} ${ip}`, Math.min(ts, expected.get(`${k} ${ip}`) ?? Infinity));
        expect(new Map(pairs.map((p) => [`${p.key_id} ${p.ip}`, p.first_seen_at]))).toEqual(expected);
        expect(pairs.length).toBe(expected.size);
        const order = pairs.map((p) => [p.key_id, p.ip].join("\u0000"));
        expect(order).toEqual([...order].sort());
      }),
    );
  });
});
