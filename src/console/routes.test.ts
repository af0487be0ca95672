import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { loadConsoleAssets } from "./assets.js";
import { consoleRoutes } from "./routes.js";

const dir = mkdtempSync(path.join(tmpdir(), "keyward-console-"));
mkdirSync(path.join(dir, "assets"));
const INDEX = `<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body>${"x".repeat(600)}</body></html>`;
writeFileSync(path.join(dir, "index.html"), INDEX);
writeFileSync(
  path.join(dir, "assets", "index-abc123.js"),
  `console.log(${JSON.stringify("y".repeat(2000))});`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("console routes", () => {
  const app = consoleRoutes(loadConsoleAssets(dir));

  it("serves index.html for console paths, never cached, with the security headers", async () => {
    for (const p of ["/", "/login", "/projects/proj_1", "/invite/tok"]) {
      const res = await app.request(p);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(INDEX);
      expect(res.headers.get("cache-control")).toBe("no-cache");
      const csp = res.headers.get("content-security-policy")!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    }
  });

  it("serves hashed assets for a year, gzip when asked", async () => {
    const plain = await app.request("/assets/index-abc123.js");
    expect(plain.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(plain.headers.get("content-encoding")).toBeNull();
    const zipped = await app.request("/assets/index-abc123.js", {
      headers: { "accept-encoding": "gzip, br" },
    });
    expect(zipped.headers.get("content-encoding")).toBe("gzip");
    const body = Buffer.from(await zipped.arrayBuffer());
    expect(body.length).toBeLessThan(200);
    expect(gunzipSync(body).toString()).toBe(await plain.text());
  });

  it("leaves the API, the gateway, health and unknown assets alone", async () => {
    for (const p of [
      "/api/v1/projects",
      "/v1/models",
      "/healthz",
      "/readyz",
      "/metrics",
      "/assets/missing.js",
    ])
      expect((await app.request(p)).status, p).toBe(404);
  });

  it("says how to build it when it is not built", async () => {
    const res = await consoleRoutes(loadConsoleAssets(path.join(dir, "nope"))).request("/");
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("npm run build");
  });
});
