import type { Check } from "./decide.js";

/** OpenAI's reset format: `20ms`, `12s`, `6m0s`. */
export function formatReset(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const s = Math.ceil(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

/** Header names per limit kind, built once (they are set on every limited response). */
const NAMES = {
  requests: ["x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"],
  tokens: ["x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"],
} as const;

/**
 * `x-ratelimit-*` headers like OpenAI's, for the requests and tokens limits that apply (the
 * key's when it has its own, else the project's).
 */
export function rateLimitHeaders(checks: readonly Check[], now: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kind of ["requests", "tokens"] as const) {
    const c = shownCheck(checks, kind);
    if (!c) continue;
    const [limit, remaining, reset] = NAMES[kind];
    out[limit] = String(c.limit);
    out[remaining] = String(c.remaining);
    out[reset] = formatReset(c.resetAt - now);
  }
  return out;
}

/** The key's check of this kind if it has one, else the first (the project's). */
function shownCheck(checks: readonly Check[], kind: "requests" | "tokens"): Check | undefined {
  let first: Check | undefined;
  for (const c of checks) {
    if (c.kind !== kind) continue;
    if (c.scope === "key") return c;
    first ??= c;
  }
  return first;
}
