import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseMasterKey } from "../crypto/master-key.js";
import { SecretBox } from "../crypto/secret-box.js";
import {
  generateWebhookSecret,
  maskUrl,
  normalizeWebhookUrl,
  openWebhook,
  sealWebhookSecret,
  sealWebhookUrl,
} from "./webhook-model.js";

describe("webhook model", () => {
  it("generates whsec_ secrets with ~190 bits", () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[0-9A-Za-z]{32}$/);
    expect(generateWebhookSecret()).not.toBe(a);
  });

  it("accepts http(s) URLs only, without fragments", () => {
    expect(normalizeWebhookUrl("https://hooks.example.com/x?y=1")).toEqual({
      ok: true,
      url: "https://hooks.example.com/x?y=1",
    });
    for (const bad of ["ftp://x/y", "hooks.example.com", "https://x/#frag", "javascript:alert(1)"])
      expect(normalizeWebhookUrl(bad).ok).toBe(false);
  });

  it("masks everything after the first path segment (chat webhooks keep their token there)", () => {
    expect(maskUrl("https://hooks.slack.com/services/T000/B000/XXXXSECRET")).toBe(
      "https://hooks.slack.com/services/…",
    );
    expect(maskUrl("https://example.com/")).toBe("https://example.com");
    expect(maskUrl("https://example.com/hook?token=abc")).toBe("https://example.com/hook/…");
    expect(maskUrl("https://user:pw@example.com:8443/a")).toBe("https://example.com:8443/a");
  });

  it("seals URL and secret bound to their row and field", () => {
    const current = parseMasterKey(randomBytes(32).toString("base64"), "test");
    const box = new SecretBox({ current, previous: null, source: "config", file: null });
    const row = {
      id: "whk_1",
      url_cipher: sealWebhookUrl(box, "whk_1", "https://x/y"),
      secret_cipher: sealWebhookSecret(box, "whk_1", "whsec_s"),
    };
    expect(openWebhook(box, row)).toEqual({ url: "https://x/y", secret: "whsec_s" });
    expect(() => openWebhook(box, { ...row, id: "whk_2" })).toThrow();
    expect(() => openWebhook(box, { ...row, url_cipher: row.secret_cipher })).toThrow();
  });
});
