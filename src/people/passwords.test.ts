import { describe, expect, it } from "vitest";
import { argon2idHasher, assertStrongPassword, passwordProblem } from "./passwords.js";

describe("password policy", () => {
  it("refuses short, common, one-character and email passwords, with the reason", () => {
    expect(passwordProblem("short", null)).toMatch(/at least 12/);
    expect(passwordProblem("Password1234", null)).toMatch(/most common/);
    expect(passwordProblem("aaaaaaaaaaaaaaa", null)).toMatch(/repeats/);
    expect(passwordProblem("ann@example.com", "Ann@Example.com")).toMatch(/email/);
    expect(passwordProblem("x".repeat(257) + "y", null)).toMatch(/at most/);
    expect(passwordProblem("a good long passphrase", "ann@example.com")).toBeNull();
  });

  it("throws weak_password with the field", () => {
    expect(() => assertStrongPassword("qwertyuiop123", null)).toThrow(
      expect.objectContaining({ code: "weak_password", status: 400 }),
    );
  });

  it("hashes with Argon2id and verifies only the right password", async () => {
    const h = argon2idHasher();
    const stored = await h.hash("a good long passphrase");
    expect(stored.startsWith("$argon2id$")).toBe(true);
    expect(stored).not.toContain("passphrase");
    expect(await h.verify(stored, "a good long passphrase")).toBe(true);
    expect(await h.verify(stored, "a good long passphrasE")).toBe(false);
    expect(await h.verify("not a hash", "x")).toBe(false);
  });
});
