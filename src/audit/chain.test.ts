import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical.js";
import { chainHash, type ChainedFields } from "./chain.js";

const entry: ChainedFields = {
  seq: 1,
  id: "aud_1",
  ts: 1,
  actor_id: "system",
  actor_role: null,
  action: "key.created",
  target_type: "key",
  target_id: "key_1",
  project_id: null,
  ip: null,
  user_agent: null,
  changes: "{}",
};

describe("audit chain", () => {
  it("canonical JSON sorts keys at every depth and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it("hash depends on the previous hash and on every field", () => {
    const h = chainHash("0".repeat(64), entry);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(chainHash("1".repeat(64), entry)).not.toBe(h);
    for (const field of Object.keys(entry) as Array<keyof ChainedFields>) {
      const changed = { ...entry, [field]: typeof entry[field] === "number" ? 2 : "x" };
      expect(chainHash("0".repeat(64), changed), field).not.toBe(h);
    }
  });
});
