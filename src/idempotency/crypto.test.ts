import { describe, expect, it } from "vitest";
import { idempotencyRowId, openResponse, sealResponse } from "./crypto.js";

describe("idempotent response sealing", () => {
  const body = JSON.stringify({ key: "kw_live_secretsecretsecretsecretsecret00AAAAAA" });

  it("round-trips only with the same Idempotency-Key and principal", () => {
    const sealed = sealResponse(body, "idem-0123456789abcdef", "adm_1");
    expect(sealed).not.toContain("secret");
    expect(Buffer.from(sealed, "base64").toString("latin1")).not.toContain("secret");
    expect(openResponse(sealed, "idem-0123456789abcdef", "adm_1")).toBe(body);
    expect(() => openResponse(sealed, "idem-0123456789abcdeX", "adm_1")).toThrow();
    expect(() => openResponse(sealed, "idem-0123456789abcdef", "adm_2")).toThrow();
  });

  it("never stores the Idempotency-Key itself", () => {
    const id = idempotencyRowId("adm_1", "idem-0123456789abcdef");
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(id).not.toBe(idempotencyRowId("adm_2", "idem-0123456789abcdef"));
  });
});
