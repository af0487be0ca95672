import { describe, expect, it } from "vitest";
import { LogCapture } from "../../test/support/harness.js";
import { accessLog, type AccessEntry } from "./access-log.js";
import { createLogger } from "./logger.js";

const ENTRY: AccessEntry = {
  requestId: "req_01M82RWJBEF7D9Q4985WMQGQNK",
  clientRequestId: "trace-abc.123",
  keyId: "key_01M82RFKEC53XCYT2E07ZD4R89",
  method: "POST",
  endpoint: "/v1/chat/completions",
  status: 200,
  ms: 3,
};

/** What pino itself writes for the same entry. */
function viaPino(e: AccessEntry): Record<string, unknown> {
  const out = new LogCapture();
  createLogger("info", out).info(
    {
      request_id: e.requestId,
      ...(e.clientRequestId ? { client_request_id: e.clientRequestId } : {}),
      key_id: e.keyId,
      method: e.method,
      endpoint: e.endpoint,
      status: e.status,
      ms: e.ms,
    },
    "gateway request",
  );
  return JSON.parse(out.lines[0]!) as Record<string, unknown>;
}

function viaTemplate(e: AccessEntry, level = "info"): string[] {
  const out = new LogCapture();
  accessLog(createLogger(level, out))(e);
  return out.lines;
}

describe("accessLog", () => {
  it("writes the line pino would write, field for field and in the same order", () => {
    for (const e of [ENTRY, { ...ENTRY, clientRequestId: null, status: 502, ms: 30000 }]) {
      const lines = viaTemplate(e);
      expect(lines).toHaveLength(1);
      const mine = JSON.parse(lines[0]!) as Record<string, unknown>;
      const theirs = viaPino(e);
      expect(typeof mine.time).toBe("number");
      expect(Object.keys(mine)).toEqual(Object.keys(theirs));
      expect({ ...mine, time: 0 }).toEqual({ ...theirs, time: 0 });
    }
  });

  it("escapes what it is given, so a line is always one valid JSON object", () => {
    const odd = { ...ENTRY, method: 'PO"ST\n', clientRequestId: "a\\b" };
    const lines = viaTemplate(odd);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ method: 'PO"ST\n', client_request_id: "a\\b" });
  });

  it("writes nothing when the level is above info", () => {
    expect(viaTemplate(ENTRY, "warn")).toEqual([]);
  });
});
