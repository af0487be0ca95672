import { describe, expect, it } from "vitest";
import { compileModelAllowlist, permits, PermissionsSchema } from "./permissions.js";
import { compileIpAllowlist, parseCidr } from "./cidr.js";

describe("permissions", () => {
  it("all allows everything, including unknown resources", () => {
    expect(permits({ mode: "all" }, "files", "write")).toBe(true);
    expect(permits({ mode: "all" }, undefined, "write")).toBe(true);
  });
  it("read_only allows reads of known resources only", () => {
    expect(permits({ mode: "read_only" }, "models", "read")).toBe(true);
    expect(permits({ mode: "read_only" }, "chat_completions", "write")).toBe(false);
    expect(permits({ mode: "read_only" }, undefined, "read")).toBe(false);
  });
  it("restricted: write implies read, missing means none", () => {
    const p = {
      mode: "restricted" as const,
      resources: { chat_completions: "write" as const, models: "read" as const },
    };
    expect(permits(p, "chat_completions", "read")).toBe(true);
    expect(permits(p, "chat_completions", "write")).toBe(true);
    expect(permits(p, "models", "read")).toBe(true);
    expect(permits(p, "models", "write")).toBe(false);
    expect(permits(p, "embeddings", "read")).toBe(false);
    expect(permits(p, undefined, "read")).toBe(false);
  });
  it("schema rejects unknown modes, resources and levels", () => {
    expect(PermissionsSchema.safeParse({ mode: "root" }).success).toBe(false);
    expect(PermissionsSchema.safeParse({ mode: "restricted", resources: { nope: "read" } }).success).toBe(
      false,
    );
    expect(PermissionsSchema.safeParse({ mode: "restricted", resources: { files: "admin" } }).success).toBe(
      false,
    );
    expect(PermissionsSchema.safeParse({ mode: "all", extra: 1 }).success).toBe(false);
  });
  it("model allowlist: exact and prefix*", () => {
    const allow = compileModelAllowlist(["gpt-4o-mini", "text-embedding-3*"]);
    expect(allow("gpt-4o-mini")).toBe(true);
    expect(allow("gpt-4o")).toBe(false);
    expect(allow("text-embedding-3-small")).toBe(true);
    expect(compileModelAllowlist(null)("anything")).toBe(true);
  });
});

describe("ip allowlist", () => {
  it("parses and rejects CIDRs", () => {
    expect(parseCidr("10.0.0.0/8")).toEqual({ address: "10.0.0.0", prefix: 8, family: "ipv4" });
    expect(parseCidr("2001:db8::/32")?.family).toBe("ipv6");
    expect(parseCidr("10.0.0.0/33")).toBeNull();
    expect(parseCidr("999.0.0.1")).toBeNull();
    expect(parseCidr("10.0.0.0/8/1")).toBeNull();
    expect(parseCidr("10.0.0.0/x")).toBeNull();
  });
  it("matches v4, v6 and v4-mapped v6", () => {
    const allow = compileIpAllowlist(["10.0.0.0/8", "2001:db8::/32", "203.0.113.7"]);
    expect(allow("10.1.2.3")).toBe(true);
    expect(allow("::ffff:10.1.2.3")).toBe(true);
    expect(allow("11.0.0.1")).toBe(false);
    expect(allow("2001:db8::1")).toBe(true);
    expect(allow("203.0.113.7")).toBe(true);
    expect(allow("203.0.113.8")).toBe(false);
    expect(allow(undefined)).toBe(false);
    expect(compileIpAllowlist(null)(undefined)).toBe(true);
  });
});
