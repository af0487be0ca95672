import { describe, expect, it } from "vitest";
import { auditQuery, describeReport, EMPTY_FILTER } from "./audit";

describe("audit filter and chain report", () => {
  it("leaves blank fields out and covers the whole last day", () => {
    expect(auditQuery(EMPTY_FILTER)).toEqual({});
    expect(
      auditQuery({
        actor: " usr_1 ",
        action: "key.revoked",
        target: "",
        since: "2026-12-01",
        until: "2026-12-02",
      }),
    ).toEqual({
      actor_id: "usr_1",
      action: "key.revoked",
      since: "2026-12-01T00:00:00.000Z",
      until: "2026-12-02T23:59:59.999Z",
    });
  });

  it("says intact, or where the chain was tampered with", () => {
    const base = { entries: 9, head_seq: 9, head_hash: "h", truncated: false };
    expect(describeReport({ ...base, ok: true, issues: [] })).toBe(
      "The audit chain is intact: 9 entries verified.",
    );
    expect(
      describeReport({
        ...base,
        ok: false,
        issues: [
          { seq: 3, id: "aud_3", problem: "hash_mismatch" },
          { seq: 7, id: null, problem: "sequence_gap" },
        ],
      }),
    ).toBe(
      "The audit chain was tampered with. entry 3: its content was changed; entry 7: entries before it are missing.",
    );
  });
});
