import { Hono } from "hono";
import type { ConsoleAsset } from "./assets.js";

/**
 * What a console page may load: its own scripts and styles only (no inline script, no third
 * party), never framed, and no URL leaking to other sites.
 */
export const CONSOLE_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** Paths the console never answers: the API, the gateway and the operational endpoints. */
const NOT_CONSOLE = /^\/(api|v1)(\/|$)|^\/(healthz|readyz|metrics)$/;

/**
 * Serves the web console at `/`: hashed files under /assets cached for a year, every other
 * page path gets index.html (the console routes in the browser) and is never cached, so a new
 * release is picked up at the next load. `assets` null = not built: a 503 that says how.
 */
export function consoleRoutes(assets: Map<string, ConsoleAsset> | null): Hono {
  const app = new Hono();
  app.on(["GET", "HEAD"], "*", async (c, next) => {
    const pathname = c.req.path;
    if (NOT_CONSOLE.test(pathname)) return next();
    if (!assets)
      return c.text(
        "The web console is not built: run `npm run build` (npm start does it).",
        503,
        CONSOLE_HEADERS,
      );
    const file = assets.get(pathname);
    if (pathname.startsWith("/assets/") && !file) return next();
    const asset = file ?? assets.get("/index.html")!;
    const immutable = file !== undefined && pathname.startsWith("/assets/");
    const gzip = asset.gzip !== null && /\bgzip\b/.test(c.req.header("accept-encoding") ?? "");
    const body = gzip ? asset.gzip! : asset.body;
    return c.body(new Uint8Array(body), 200, {
      ...CONSOLE_HEADERS,
      "content-type": asset.type,
      "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
      vary: "accept-encoding",
      ...(gzip ? { "content-encoding": "gzip" } : {}),
    });
  });
  return app;
}
