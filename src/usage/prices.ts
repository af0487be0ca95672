/**
 * Default price table: USD per 1M tokens (input, cached input, output), OpenAI list prices.
 * Dated snapshots (`gpt-4o-2024-08-06`) match their base name by longest prefix. Override or
 * extend with KEYWARD_PRICES_FILE (JSON of the same shape); review it when providers change prices.
 */
export interface ModelPrice {
  input: number;
  cached_input: number;
  output: number;
}

export const DEFAULT_PRICES: Record<string, ModelPrice> = {
  "gpt-5": { input: 1.25, cached_input: 0.125, output: 10 },
  "gpt-5-mini": { input: 0.25, cached_input: 0.025, output: 2 },
  "gpt-5-nano": { input: 0.05, cached_input: 0.005, output: 0.4 },
  "gpt-4.1": { input: 2, cached_input: 0.5, output: 8 },
  "gpt-4.1-mini": { input: 0.4, cached_input: 0.1, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, cached_input: 0.025, output: 0.4 },
  "gpt-4o": { input: 2.5, cached_input: 1.25, output: 10 },
  "gpt-4o-mini": { input: 0.15, cached_input: 0.075, output: 0.6 },
  "gpt-4-turbo": { input: 10, cached_input: 10, output: 30 },
  "gpt-4": { input: 30, cached_input: 30, output: 60 },
  "gpt-3.5-turbo": { input: 0.5, cached_input: 0.5, output: 1.5 },
  o1: { input: 15, cached_input: 7.5, output: 60 },
  "o1-mini": { input: 1.1, cached_input: 0.55, output: 4.4 },
  o3: { input: 2, cached_input: 0.5, output: 8 },
  "o3-mini": { input: 1.1, cached_input: 0.55, output: 4.4 },
  "o4-mini": { input: 1.1, cached_input: 0.275, output: 4.4 },
  "text-embedding-3-small": { input: 0.02, cached_input: 0.02, output: 0 },
  "text-embedding-3-large": { input: 0.13, cached_input: 0.13, output: 0 },
  "text-embedding-ada-002": { input: 0.1, cached_input: 0.1, output: 0 },
  "omni-moderation-latest": { input: 0, cached_input: 0, output: 0 },
};
