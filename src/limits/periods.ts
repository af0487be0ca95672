import type { BudgetPeriod } from "../core/limits.js";

/** Offset of `timeZone` from UTC at instant `t`, in ms (e.g. +3_600_000 for CET in winter). */
function offsetMs(timeZone: string, t: number): number {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" }).formatToParts(
    new Date(t),
  );
  const name = parts.find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const m = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
  if (!m) return 0;
  const sign = m[1] === "-" ? -1 : 1;
  return sign * (Number(m[2]) * 3_600_000 + Number(m[3] ?? 0) * 60_000);
}

/** The UTC instant of local wall-clock time y-m-d 00:00 in `timeZone` (DST-safe). */
function localMidnight(timeZone: string, y: number, m: number, d: number): number {
  const guess = Date.UTC(y, m, d);
  const first = guess - offsetMs(timeZone, guess);
  // Re-check with the offset in force at that instant (DST changes between guess and result).
  return guess - offsetMs(timeZone, first);
}

function localDate(timeZone: string, t: number): { y: number; m: number; d: number; weekday: number } {
  const local = new Date(t + offsetMs(timeZone, t));
  return {
    y: local.getUTCFullYear(),
    m: local.getUTCMonth(),
    d: local.getUTCDate(),
    weekday: local.getUTCDay(),
  };
}

/**
 * The budget period containing `now`: [start, end). Days start at local midnight, weeks on
 * Monday (ISO 8601), months on the 1st, all in `timeZone`; `lifetime` never resets.
 */
export function periodBounds(
  period: BudgetPeriod,
  timeZone: string,
  now: number,
): { start: number; end: number } {
  if (period === "lifetime") return { start: 0, end: Number.POSITIVE_INFINITY };
  const { y, m, d, weekday } = localDate(timeZone, now);
  if (period === "day")
    return { start: localMidnight(timeZone, y, m, d), end: localMidnight(timeZone, y, m, d + 1) };
  if (period === "week") {
    const back = (weekday + 6) % 7; // days since Monday
    return {
      start: localMidnight(timeZone, y, m, d - back),
      end: localMidnight(timeZone, y, m, d - back + 7),
    };
  }
  return { start: localMidnight(timeZone, y, m, 1), end: localMidnight(timeZone, y, m + 1, 1) };
}

/**
 * periodBounds, remembered per period and time zone until `now` leaves the period: the time
 * zone arithmetic (Intl) costs tens of µs, and the shared budget path asks on every request.
 */
export class PeriodCache {
  private readonly known = new Map<string, { start: number; end: number }>();

  bounds(period: BudgetPeriod, timeZone: string, now: number): { start: number; end: number } {
    const name = `${period}:${timeZone}`;
    const hit = this.known.get(name);
    if (hit && now >= hit.start && now < hit.end) return hit;
    const fresh = periodBounds(period, timeZone, now);
    // A handful of distinct budgets' zones in practice; bounded anyway.
    if (this.known.size >= 1_000) this.known.clear();
    this.known.set(name, fresh);
    return fresh;
  }
}
