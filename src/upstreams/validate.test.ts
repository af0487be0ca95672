import { describe, expect, it } from "vitest";
import { apiKeyProblem, headerValueProblem, maskProviderKey, normalizeBaseUrl } from "./validate.js";

describe("normalizeBaseUrl", () => {
  it("accepts http(s) URLs and trims trailing slashes", () => {
    expect(normalizeBaseUrl("https://api.openai.com/v1/")).toEqual({
      ok: true,
      url: "https://api.openai.com/v1",
    });
    expect(normalizeBaseUrl("https://API.OpenAI.com/v1//")).toEqual({
      ok: true,
      url: "https://api.openai.com/v1",
    });
    expect(normalizeBaseUrl("http://127.0.0.1:8000")).toEqual({ ok: true, url: "http://127.0.0.1:8000" });
    expect(normalizeBaseUrl("http://[::1]:9/openai/v1")).toEqual({
      ok: true,
      url: "http://[::1]:9/openai/v1",
    });
  });

  it.each([
    ["ftp://example.com/v1", /http or https/],
    ["file:///etc/passwd", /http or https/],
    ["api.openai.com/v1", /absolute URL/],
    ["/v1", /absolute URL/],
    ["https://user:pass@api.openai.com/v1", /credentials/],
    ["https://sk-secret@api.openai.com/v1", /credentials/],
    ["https://api.openai.com/v1?api-version=1", /query/],
    ["https://api.openai.com/v1?", /query/],
    ["https://api.openai.com/v1#x", /fragment/],
    ["https://api.openai.com/v1#", /fragment/],
    [" https://api.openai.com/v1", /spaces/],
    ["https://api.openai.com/v1\n", /spaces/],
    ["https://" + "a".repeat(2100) + ".com", /at most/],
  ])("refuses %j", (input, problem) => {
    const r = normalizeBaseUrl(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toMatch(problem);
  });

  it("never echoes the URL (it may hold credentials)", () => {
    const r = normalizeBaseUrl("https://user:hunter2@host/v1");
    expect(r.ok || r.problem.includes("hunter2")).toBe(false);
  });
});

describe("maskProviderKey", () => {
  it("keeps the vendor prefix and the last four characters", () => {
    expect(maskProviderKey("sk-" + "x".repeat(40) + "abcd")).toBe("sk-…abcd");
    expect(maskProviderKey("sk-proj-" + "y".repeat(60) + "WXYZ")).toBe("sk-…WXYZ");
    expect(maskProviderKey("z".repeat(28) + "1234")).toBe("…1234");
  });

  it("shows less of short keys, and nothing of very short ones", () => {
    expect(maskProviderKey("sk-abcdefghijkl")).toBe("sk-…kl");
    expect(maskProviderKey("ollama")).toBe("…");
    expect(maskProviderKey("sk-short")).toBe("sk-…");
  });
});

describe("apiKeyProblem / headerValueProblem", () => {
  it("accepts visible ASCII and refuses empty, spaces, control characters and non-ASCII", () => {
    expect(apiKeyProblem("sk-abc_DEF.123")).toBeNull();
    for (const bad of ["", "sk abc", "sk-abc\r\nX-Injected: 1", "sk-ключ", "a".repeat(5000)])
      expect(apiKeyProblem(bad)).not.toBeNull();
    expect(headerValueProblem("org-123")).toBeNull();
    for (const bad of ["", "org 1", "org\n", "x".repeat(300)]) expect(headerValueProblem(bad)).not.toBeNull();
  });
});
