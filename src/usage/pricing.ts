import { readFileSync } from "node:fs";
import { z } from "zod";
import type { TokenUsage } from "./types.js";
import { DEFAULT_PRICES, type ModelPrice } from "./prices.js";

const PriceFileSchema = z.record(
  z.string().min(1),
  z
    .object({
      input: z.number().min(0),
      cached_input: z.number().min(0).optional(),
      output: z.number().min(0),
    })
    .strict(),
);

/**
 * Turns token counts into cost, in integer micro-dollars (USD × 10⁻⁶): a price in USD per 1M
 * tokens is exactly micro-dollars per token, so cost = Σ tokens × price, rounded once.
 */
export class PriceTable {
  private readonly byPrefixLength: Array<[string, ModelPrice]>;
  private readonly cache = new Map<string, ModelPrice | null>();

  constructor(prices: Record<string, ModelPrice>) {
    // Longest name first, so `gpt-4o-mini-2024-07-18` matches gpt-4o-mini, not gpt-4o.
    this.byPrefixLength = Object.entries(prices).sort((a, b) => b[0].length - a[0].length);
  }

  /** Loads the defaults, overridden entry by entry by a JSON file when one is configured. */
  static load(file: string | undefined): PriceTable {
    if (!file) return new PriceTable(DEFAULT_PRICES);
    const parsed = PriceFileSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
    if (!parsed.success)
      throw new Error(`invalid price file ${file}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    const overrides = Object.fromEntries(
      Object.entries(parsed.data).map(([m, p]) => [
        m,
        { input: p.input, cached_input: p.cached_input ?? p.input, output: p.output },
      ]),
    );
    return new PriceTable({ ...DEFAULT_PRICES, ...overrides });
  }

  /** The price of a model, or null when it is unknown (its cost is then recorded as 0). */
  priceOf(model: string): ModelPrice | null {
    let hit = this.cache.get(model);
    if (hit === undefined) {
      hit = this.byPrefixLength.find(([name]) => model === name || model.startsWith(name + "-"))?.[1] ?? null;
      if (this.cache.size < 10_000) this.cache.set(model, hit);
    }
    return hit;
  }

  /** Cost in micro-dollars of `usage` on `model` (0 for an unknown model). */
  costMicros(model: string | null, usage: TokenUsage): number {
    return costAt(model ? this.priceOf(model) : null, usage);
  }
}

/**
 * Cost in micro-dollars at a price already looked up (the gateway looks a request's price up
 * once, for its estimate and its cost); cached prompt tokens are billed at the cached-input price.
 */
export function costAt(price: ModelPrice | null, usage: TokenUsage): number {
  if (!price) return 0;
  const cached = Math.min(usage.cached, usage.prompt);
  return Math.round(
    (usage.prompt - cached) * price.input + cached * price.cached_input + usage.completion * price.output,
  );
}
