import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classify, normalizePath } from "./routes.js";

describe("gateway routes", () => {
  it("maps OpenAI paths to resources and access", () => {
    expect(classify("POST", "/v1/chat/completions", "application/json")).toMatchObject({
      resource: "chat_completions",
      access: "write",
      modelSource: "json",
      usage: "chat",
    });
    expect(classify("GET", "/v1/models", undefined)).toMatchObject({
      resource: "models",
      access: "read",
      modelSource: "none",
    });
    expect(classify("GET", "/v1/models/gpt-4o", undefined)).toMatchObject({
      resource: "models",
      modelSource: "path",
    });
    expect(classify("POST", "/v1/audio/transcriptions", "multipart/form-data; boundary=x")).toMatchObject({
      resource: "audio",
      modelSource: "multipart",
    });
    expect(classify("POST", "/v1/threads/t1/runs", "application/json")).toMatchObject({
      resource: "assistants",
    });
    expect(classify("POST", "/v1/batches", "application/json")).toMatchObject({
      resource: "batches",
      opaqueModels: true,
    });
    expect(classify("GET", "/v1/chat/completions/abc", undefined)).toMatchObject({
      resource: "chat_completions",
      usage: "none",
    });
  });

  it("unknown paths have no resource", () => {
    expect(classify("POST", "/v1/realtime/sessions", "application/json").resource).toBeUndefined();
    expect(classify("POST", "/v1/chat/completionsX", "application/json").resource).toBeUndefined();
  });

  it("refuses ambiguous paths instead of interpreting them", () => {
    expect(normalizePath("/v1/chat/completions")).toBe("/v1/chat/completions");
    expect(normalizePath("/v1/chat/completions/")).toBe("/v1/chat/completions");
    for (const bad of [
      "/v1//chat/completions",
      "/v1/./chat/completions",
      "/v1/x/../chat/completions",
      "/v1/chat%2Fcompletions",
      "/v1/chat%2ecompletions",
      "/v1\\chat",
      "/v2/chat/completions",
      "/v1x",
    ]) {
      expect(normalizePath(bad), bad).toBeNull();
    }
  });

  it("agrees with the plain definition (prefix, encoded separators, split segments) on random paths", () => {
    // The definition normalizePath implements in one pass, written the obvious way.
    const reference = (raw: string): string | null => {
      if (!raw.startsWith("/v1/") && raw !== "/v1") return null;
      if (/%2f|%2e|%5c|\\/i.test(raw)) return null;
      const trimmed = raw.endsWith("/") ? raw.slice(0, -1) : raw;
      for (const segment of trimmed.split("/").slice(1)) {
        if (segment === "" || segment === "." || segment === "..") return null;
      }
      return trimmed;
    };
    const piece = fc.constantFrom(
      "/",
      ".",
      "..",
      "%",
      "%2f",
      "%2F",
      "%2e",
      "%2E",
      "%5c",
      "%5C",
      "%25",
      "\\",
      "a",
      "v1",
      "chat",
      "-",
      "%2",
    );
    const path = fc.oneof(
      fc.array(piece, { maxLength: 12 }).map((p) => "/v1/" + p.join("")),
      fc.array(piece, { maxLength: 12 }).map((p) => p.join("")),
      fc.string({ maxLength: 20 }).map((p) => "/v1" + p),
    );
    fc.assert(
      fc.property(path, (p) => {
        expect(normalizePath(p), p).toBe(reference(p));
      }),
      { numRuns: 5000 },
    );
  });
});
