import type { ModelPrice } from "../usage/prices.js";

/** Output tokens assumed when a request does not cap them (max_tokens & co.). */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

export interface RequestEstimate {
  /** For tokens-per-minute: prompt ≈ body bytes / 4, plus the output cap. */
  tokens: number;
  /** For budgets: an upper bound on cost, or null when the model has no price. */
  worstCostMicros: number | null;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v > 0 ? v : undefined;
}

/**
 * Estimates a request before it is sent. The budget bound is deliberately pessimistic: a
 * byte-level tokenizer never makes more prompt tokens than the body has bytes, and output is
 * capped by the request's own max_tokens / max_completion_tokens / max_output_tokens (× n).
 * Without a cap, `defaultMaxOutput` is assumed (documented: such requests can exceed their
 * reservation by what the model writes beyond it).
 */
export function estimateRequest(
  json: Record<string, unknown> | null,
  bodyBytes: number,
  price: ModelPrice | null,
  embeddings: boolean,
  defaultMaxOutput: number,
): RequestEstimate {
  const cap =
    positiveInt(json?.max_completion_tokens) ??
    positiveInt(json?.max_tokens) ??
    positiveInt(json?.max_output_tokens);
  const choices = positiveInt(json?.n) ?? 1;
  const output = embeddings ? 0 : (cap ?? defaultMaxOutput) * choices;
  const tokens = Math.ceil(bodyBytes / 4) + output;
  const worstCostMicros = price ? Math.ceil(bodyBytes * price.input + output * price.output) : null;
  return { tokens, worstCostMicros };
}
