/**
 * Usage anomaly detection for one key: a pure function of the last hour's activity against the
 * key's trailing baseline. The sweeper gathers the numbers; this decides.
 */

export interface AnomalySettings {
  /** Last hour above this many times the baseline hourly average is anomalous (default 5). */
  multiplier: number;
  /** Below this many requests in the hour, request rate is never anomalous (noise floor). */
  minRequests: number;
  /** Below this spend in the hour (micro-USD), spend is never anomalous. */
  minCostMicros: number;
  /** A baseline shorter than this (hours of key history) is too thin to compare against. */
  minBaselineHours: number;
}

/** The defaults (KEYWARD_ANOMALY_* override multiplier and floors). */
export const DEFAULT_ANOMALY_SETTINGS: AnomalySettings = {
  multiplier: 5,
  minRequests: 100,
  minCostMicros: 1_000_000,
  minBaselineHours: 24,
};

/** How far back the baseline reaches, hours (7 days). */
export const BASELINE_HOURS = 168;

/** Requests and spend (micro-USD) over a window. */
export interface Activity {
  requests: number;
  costMicros: number;
}

const HOUR_MS = 3_600_000;

/** The hourly rollup buckets (UTC hour starts, epoch ms) an anomaly sweep at some moment reads. */
export interface HourlyWindows {
  /** The current clock hour. */
  current: number;
  /** The previous clock hour, partly inside the last 60 minutes. */
  previous: number;
  /** The share of the previous hour that is still inside the last 60 minutes, in (0, 1]. */
  previousWeight: number;
  /** The baseline is the whole hours from here up to `previous` (7 days of them). */
  baselineStart: number;
}

/** The buckets that stand for "the last hour" and its baseline at `now` (pure). */
export function hourlyWindows(now: number): HourlyWindows {
  const current = Math.floor(now / HOUR_MS) * HOUR_MS;
  const previous = current - HOUR_MS;
  return {
    current,
    previous,
    previousWeight: 1 - (now - current) / HOUR_MS,
    baselineStart: previous - BASELINE_HOURS * HOUR_MS,
  };
}

/**
 * The last 60 minutes' activity estimated from two hourly buckets: the sliding-window counter
 * approximation — all of the current hour plus the previous hour weighted by the share of it
 * still inside the window, as if its requests had been spread evenly over it. Exact on the hour;
 * in between, a burst early in the previous hour is under-counted and one late in it
 * over-counted, by at most that hour's total. Rounded to whole requests and micro-USD.
 */
export function slidingHour(current: Activity, previous: Activity, previousWeight: number): Activity {
  return {
    requests: Math.round(current.requests + previous.requests * previousWeight),
    costMicros: Math.round(current.costMicros + previous.costMicros * previousWeight),
  };
}

/** Everything the detector looks at for one key. */
export interface AnomalyInput {
  /** The last hour (an estimate from hourly buckets: `slidingHour`). */
  recent: Activity;
  /** The baseline window before it (up to 7 days). */
  baseline: Activity;
  /** Hours the baseline covers: 168, or less for a younger key. */
  baselineHours: number;
  /** IPs the key was used from in the last hour but never before. */
  newIps: readonly string[];
  /** Whether the key was used at all before the last hour (a first use is not "a new IP"). */
  hasHistory: boolean;
}

/** Why activity is unusual. */
export type AnomalyReason = "request_rate" | "spend" | "new_ip";

/** The numbers behind a `usage.anomaly` alert (its `data`). */
export interface AnomalyFinding {
  reasons: AnomalyReason[];
  requests_last_hour: number;
  cost_usd_last_hour: number;
  baseline_requests_per_hour: number;
  baseline_cost_usd_per_hour: number;
  baseline_hours: number;
  multiplier: number;
  new_ips: string[];
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Rules: request rate (or spend) in the last hour is at least the noise floor and more than
 * `multiplier` × the baseline hourly average, with enough baseline history; or requests came
 * from an IP never seen for the key, when the key has history. Null when nothing is unusual.
 */
export function detectAnomaly(input: AnomalyInput, s: AnomalySettings): AnomalyFinding | null {
  const reasons: AnomalyReason[] = [];
  const hours = Math.max(input.baselineHours, 0);
  const avgRequests = hours > 0 ? input.baseline.requests / hours : 0;
  const avgCost = hours > 0 ? input.baseline.costMicros / hours : 0;
  const enoughBaseline = hours >= s.minBaselineHours;
  if (
    enoughBaseline &&
    input.recent.requests >= s.minRequests &&
    input.recent.requests > s.multiplier * avgRequests
  )
    reasons.push("request_rate");
  if (
    enoughBaseline &&
    input.recent.costMicros >= s.minCostMicros &&
    input.recent.costMicros > s.multiplier * avgCost
  )
    reasons.push("spend");
  if (input.hasHistory && input.newIps.length > 0) reasons.push("new_ip");
  if (reasons.length === 0) return null;
  return {
    reasons,
    requests_last_hour: input.recent.requests,
    cost_usd_last_hour: round(input.recent.costMicros / 1e6, 6),
    baseline_requests_per_hour: round(avgRequests, 3),
    baseline_cost_usd_per_hour: round(avgCost / 1e6, 6),
    baseline_hours: round(hours, 2),
    multiplier: s.multiplier,
    // A key used from many networks could list thousands; the first few tell the story.
    new_ips: [...input.newIps].sort().slice(0, 20),
  };
}
