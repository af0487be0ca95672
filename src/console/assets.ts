import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";

/** One file of the built console, held in memory with its gzip form (the bundle is small). */
export interface ConsoleAsset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
};
const COMPRESSIBLE = new Set([".html", ".js", ".css", ".svg", ".json"]);

/**
 * Reads the built console (web/dist) once at start-up: URL path → asset. Null when it was not
 * built, so the server can say so instead of serving nothing.
 */
export function loadConsoleAssets(dir: string): Map<string, ConsoleAsset> | null {
  if (!existsSync(path.join(dir, "index.html"))) return null;
  const assets = new Map<string, ConsoleAsset>();
  const walk = (sub: string) => {
    for (const name of readdirSync(path.join(dir, sub))) {
      const rel = path.posix.join(sub, name);
      const full = path.join(dir, rel);
      if (statSync(full).isDirectory()) walk(rel);
      else {
        const ext = path.extname(name);
        const body = readFileSync(full);
        const gzip = COMPRESSIBLE.has(ext) && body.length > 512 ? gzipSync(body, { level: 9 }) : null;
        assets.set(`/${rel}`, { body, gzip, type: TYPES[ext] ?? "application/octet-stream" });
      }
    }
  };
  walk("");
  return assets;
}

/** web/dist beside src/ and dist/ alike (this file runs from either). */
export const CONSOLE_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../web/dist");
