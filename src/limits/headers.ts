import type { Check } from "./decide.js";

/** OpenAI's reset format: `20ms`, `12s`, `6m0s`. */
export function formatReset(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const s = Math.ceil(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

/**
 * `x-ratelimit-*` headers like OpenAI's, for the requests and tokens limits that apply (the
 * key's when it has its own, else the project's).
 */
export function rateLimitHeaders(checks: readonly Check[], now: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kind of ["requests", "tokens"] as const) {
    const c = checks.find((x) => x.kind === kind && x.scope === "key") ?? checks.find((x) => x.kind === kind);
    if (!c) continue;
    out[`x-ratelimit-limit-${kind}`] = String(c.limit);
    out[`x-ratelimit-remaining-${kind}`] = String(c.remaining);
    out[`x-ratelimit-reset-${kind}`] = formatReset(c.resetAt - now);
  }
  return out;
}
