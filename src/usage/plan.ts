import { DAY_MS, HOUR_MS, KEY_SPANS, type RollupTable } from "./rollups.js";

export const USAGE_GROUPS = ["key", "project", "model", "day", "hour"] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

/** What a usage query asks for; times are epoch ms, `since` inclusive, `until` exclusive. */
export interface UsageFilter {
  groupBy: UsageGroup;
  since?: number;
  until?: number;
  keyId?: string;
  projectId?: string;
  model?: string;
  limit: number;
}

/** One time slice of a query and the table that answers it; a missing bound is open. */
export interface Segment {
  source: "usage_events" | RollupTable;
  from?: number;
  to?: number;
}

const ceilTo = (t: number, grain: number) => Math.ceil(t / grain) * grain;
const floorTo = (t: number, grain: number) => Math.floor(t / grain) * grain;

/**
 * Splits [since, until) into slices that together cover it exactly once (pure): whole UTC days
 * from a daily rollup, whole hours around them from an hourly rollup, and only the partial
 * hours at an unaligned edge from the raw events — so the answer is exact to the millisecond
 * while reading at most two hours of raw rows. Grouping by hour never uses the daily tables.
 * The project-level rollups (10× fewer rows) serve every query that neither groups nor filters
 * by key. Grouping by key over whole days (no key or model filter, both ends given) reads the
 * key spans instead of the daily rollup (`spanCover`). With `rollups: false` the whole range
 * comes from the raw events (the reference the tests and the benchmark compare against).
 */
export function planUsage(f: Omit<UsageFilter, "limit">, options: { rollups?: boolean } = {}): Segment[] {
  const { since, until } = f;
  if (since !== undefined && until !== undefined && since >= until) return [];
  const raw = (from?: number, to?: number): Segment => ({ source: "usage_events", from, to });
  if (options.rollups === false) return [raw(since, until)];

  const perKey = f.groupBy === "key" || f.keyId !== undefined;
  const hourly: RollupTable = perKey ? "usage_key_hourly" : "usage_project_hourly";
  const daily: RollupTable = perKey ? "usage_key_daily" : "usage_project_daily";
  const hLo = since === undefined ? undefined : ceilTo(since, HOUR_MS);
  const hHi = until === undefined ? undefined : floorTo(until, HOUR_MS);
  // No whole hour inside the range: it is all edge.
  if (hLo !== undefined && hHi !== undefined && hLo >= hHi) return [raw(since, until)];

  const out: Segment[] = [];
  if (since !== undefined && hLo !== undefined && since < hLo) out.push(raw(since, hLo));
  const dLo = hLo === undefined ? undefined : ceilTo(hLo, DAY_MS);
  const dHi = hHi === undefined ? undefined : floorTo(hHi, DAY_MS);
  if (f.groupBy === "hour" || (dLo !== undefined && dHi !== undefined && dLo >= dHi)) {
    out.push({ source: hourly, from: hLo, to: hHi });
  } else {
    if (hLo !== undefined && dLo !== undefined && hLo < dLo) out.push({ source: hourly, from: hLo, to: dLo });
    const spans = f.groupBy === "key" && f.keyId === undefined && f.model === undefined;
    if (spans && dLo !== undefined && dHi !== undefined) out.push(...spanCover(dLo, dHi));
    else out.push({ source: daily, from: dLo, to: dHi });
    if (hHi !== undefined && dHi !== undefined && dHi < hHi) out.push({ source: hourly, from: dHi, to: hHi });
  }
  if (until !== undefined && hHi !== undefined && hHi < until) out.push(raw(hHi, until));
  return out;
}

/** The key spans from the widest down, for `spanCover`. */
const WIDEST_FIRST = [...KEY_SPANS].sort((a, b) => b.grainMs - a.grainMs);

/**
 * Covers the whole UTC days [from, to) with key spans (pure): at each point the widest span that
 * starts there and fits, so widths climb and fall again (1, 1, 5, 15, 45, 45, 15, 5, 1) and
 * consecutive spans of one width merge into one segment. Any 90 days take at most 16 spans
 * (tested), so a key contributes a handful of rows, not one per day and model.
 */
export function spanCover(from: number, to: number): Segment[] {
  const out: Segment[] = [];
  for (let t = from; t < to;) {
    // The one-day span always fits: from and to are whole days.
    const spec = WIDEST_FIRST.find((s) => t % s.grainMs === 0 && t + s.grainMs <= to)!;
    const last = out.at(-1);
    if (last?.source === spec.table) last.to = t + spec.grainMs;
    else out.push({ source: spec.table, from: t, to: t + spec.grainMs });
    t += spec.grainMs;
  }
  return out;
}
