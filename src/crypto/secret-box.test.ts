import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseMasterKey, type MasterKeys } from "./master-key.js";
import { SecretBox, SecretBoxError } from "./secret-box.js";

const key = () => parseMasterKey(randomBytes(32).toString("base64"), "test");
const keys = (current = key(), previous: MasterKeys["previous"] = null): MasterKeys => ({
  current,
  previous,
  source: "config",
  file: null,
});

function openError(box: SecretBox, sealed: string, context: string): SecretBoxError {
  try {
    box.open(sealed, context);
  } catch (err) {
    if (err instanceof SecretBoxError) return err;
    throw err;
  }
  throw new Error("expected open() to fail");
}

describe("SecretBox", () => {
  const secret = "sk-proj-" + randomBytes(24).toString("base64url");

  it("round-trips, in the v1.<key id>.<base64> format, with a fresh IV each time", () => {
    const box = new SecretBox(keys());
    const a = box.seal(secret, "upstream:ups_1");
    const b = box.seal(secret, "upstream:ups_1");
    expect(a).toMatch(new RegExp(`^v1\\.${box.currentKeyId}\\.[A-Za-z0-9+/]+=*$`));
    expect(a).not.toBe(b);
    expect(a).not.toContain(secret);
    expect(Buffer.from(a.split(".")[2]!, "base64").length).toBe(12 + 16 + Buffer.byteLength(secret));
    expect(box.open(a, "upstream:ups_1")).toBe(secret);
    expect(box.open(b, "upstream:ups_1")).toBe(secret);
    expect(SecretBox.keyIdOf(a)).toBe(box.currentKeyId);
    expect(box.open(box.seal("", "c"), "c")).toBe("");
    expect(box.open(box.seal("ключ 🔑", "c"), "c")).toBe("ключ 🔑");
  });

  it("a ciphertext opens only in its own context (no swapping between rows)", () => {
    const box = new SecretBox(keys());
    const sealed = box.seal(secret, "upstream:ups_A");
    const err = openError(box, sealed, "upstream:ups_B");
    expect(err.problem).toBe("auth_failed");
    expect(err.message).not.toContain(secret);
  });

  it("any flipped bit fails authentication with a clear error", () => {
    const box = new SecretBox(keys());
    const sealed = box.seal(secret, "ctx");
    const [v, id, payload] = sealed.split(".") as [string, string, string];
    const bytes = Buffer.from(payload, "base64");
    for (const i of [0, 11, 12, 27, 28, bytes.length - 1]) {
      const t = Buffer.from(bytes);
      t[i] = t[i]! ^ 0x01;
      const err = openError(box, `${v}.${id}.${t.toString("base64")}`, "ctx");
      expect(err.problem).toBe("auth_failed");
      expect(err.message).toMatch(/altered/);
    }
  });

  it("an edited key id or version is refused", () => {
    const a = key();
    const b = key();
    const box = new SecretBox(keys(a, b));
    const sealed = box.seal(secret, "ctx");
    // Relabelled as sealed by the previous key: that key cannot authenticate it.
    expect(openError(box, sealed.replace(a.id, b.id), "ctx").problem).toBe("auth_failed");
    expect(openError(box, sealed.replace(/^v1/, "v2"), "ctx").problem).toBe("malformed");
  });

  it("rejects malformed input and unknown key ids with clear errors", () => {
    const box = new SecretBox(keys());
    for (const bad of [
      "",
      "plain-text-key",
      "v1.abc.AAAA",
      `v1.${box.currentKeyId}.AAAA`,
      `v1.${box.currentKeyId}.!!`,
    ]) {
      expect(openError(box, bad, "ctx").problem).toBe("malformed");
    }
    const other = new SecretBox(keys());
    const err = openError(box, other.seal(secret, "ctx"), "ctx");
    expect(err.problem).toBe("unknown_key");
    expect(err.keyId).toBe(other.currentKeyId);
    expect(err.message).toContain(other.currentKeyId);
    expect(err.message).toMatch(/KEYWARD_MASTER_KEY/);
  });

  it("decrypts under the previous key and seals only under the current one", () => {
    const old = key();
    const next = key();
    const sealedOld = new SecretBox(keys(old)).seal(secret, "ctx");
    const rotating = new SecretBox(keys(next, old));
    expect(rotating.open(sealedOld, "ctx")).toBe(secret);
    const resealed = rotating.seal(rotating.open(sealedOld, "ctx"), "ctx");
    expect(SecretBox.keyIdOf(resealed)).toBe(next.id);
    // With only the new key, the re-sealed value opens and the old one does not.
    const onlyNew = new SecretBox(keys(next));
    expect(onlyNew.open(resealed, "ctx")).toBe(secret);
    expect(openError(onlyNew, sealedOld, "ctx").problem).toBe("unknown_key");
  });
});
