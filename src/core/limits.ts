import { z } from "./zod.js";

export const BUDGET_PERIODS = ["day", "week", "month", "lifetime"] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Limits on a key or a project. Requests and tokens are counted per minute; concurrency is the
 * number of requests in flight; a budget caps spend (USD) per period, which resets at midnight
 * (day), Monday midnight (week) or the 1st (month) in `timezone` (default UTC).
 */
export const LimitsSchema = z
  .object({
    rpm: z.number().int().min(1).max(10_000_000).optional(),
    tpm: z.number().int().min(1).max(10_000_000_000).optional(),
    max_concurrent: z.number().int().min(1).max(100_000).optional(),
    budget: z
      .object({
        usd: z.number().gt(0).max(1_000_000_000),
        period: z.enum(BUDGET_PERIODS),
        timezone: z
          .string()
          .max(64)
          .refine(isTimeZone, "must be an IANA time zone, e.g. UTC or Europe/Berlin")
          .default("UTC"),
      })
      .strict()
      .optional(),
  })
  .strict()
  .openapi("Limits", {
    example: {
      rpm: 60,
      tpm: 100_000,
      max_concurrent: 4,
      budget: { usd: 50, period: "month", timezone: "UTC" },
    },
  });

export type Limits = z.output<typeof LimitsSchema>;
