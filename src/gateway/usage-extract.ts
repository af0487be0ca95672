import type { TokenUsage } from "../usage/types.js";
import { topLevelObjectValue } from "./json-tail.js";
import type { UsageKind } from "./routes.js";

export const NO_USAGE: TokenUsage = { prompt: 0, completion: 0, cached: 0 };

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0;
}

/**
 * Reads the `usage` object of an OpenAI response (chat/completions/embeddings use
 * prompt/completion tokens; the Responses API uses input/output tokens).
 */
export function usageFrom(kind: UsageKind, usage: unknown): TokenUsage | null {
  if (typeof usage !== "object" || usage === null || kind === "none") return null;
  const u = usage as Record<string, unknown>;
  if (kind === "responses") {
    const details = u.input_tokens_details as Record<string, unknown> | undefined;
    return {
      prompt: num(u.input_tokens),
      completion: num(u.output_tokens),
      cached: num(details?.cached_tokens),
    };
  }
  const details = u.prompt_tokens_details as Record<string, unknown> | undefined;
  return {
    prompt: num(u.prompt_tokens),
    completion: num(u.completion_tokens),
    cached: num(details?.cached_tokens),
  };
}

/**
 * Usage from a whole JSON response body, or null when it has none. The top-level `usage` object
 * is read from the end of the body when it can be (see topLevelObjectValue); the whole body is
 * parsed only when it cannot.
 */
export function usageFromJson(kind: UsageKind, body: Buffer): TokenUsage | null {
  if (kind === "none") return null;
  const usage = topLevelObjectValue(body, "usage");
  if (usage !== undefined) return usageFrom(kind, usage);
  try {
    const parsed = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
    return usageFrom(kind, parsed.usage);
  } catch {
    return null;
  }
}
