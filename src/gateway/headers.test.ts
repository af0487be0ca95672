import { describe, expect, it } from "vitest";
import { clientResponseHeaders } from "./headers.js";

describe("clientResponseHeaders", () => {
  const upstream = [
    "content-type",
    "application/json",
    "content-length",
    "42",
    "connection",
    "keep-alive, x-hop",
    "keep-alive",
    "timeout=5",
    "x-hop",
    "dropped: named by Connection",
    "transfer-encoding",
    "chunked",
    "x-request-id",
    "req_upstream",
    "x-ratelimit-remaining-requests",
    "4999",
    "set-cookie",
    "a=1",
    "set-cookie",
    "b=2",
    "constructor",
    "kept",
  ];

  it("drops hop-by-hop headers, puts keyward's request id and limit headers in place of the upstream's", () => {
    const out = clientResponseHeaders(upstream, "req_keyward", false, {
      "x-ratelimit-remaining-requests": "59",
    });
    expect(out).toEqual([
      "content-type",
      "application/json",
      "set-cookie",
      "a=1",
      "set-cookie",
      "b=2",
      "constructor",
      "kept",
      "x-request-id",
      "req_keyward",
      "x-ratelimit-remaining-requests",
      "59",
    ]);
  });

  it("keeps Content-Length only when the body is passed on unchanged", () => {
    const out = clientResponseHeaders(upstream, "req_k", true, {});
    expect(out.slice(0, 4)).toEqual(["content-type", "application/json", "content-length", "42"]);
    expect(out).toContain("x-ratelimit-remaining-requests");
  });
});
