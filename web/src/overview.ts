import type { Key, UsageRow } from "./api/client";

const DAY = 86_400_000;

/** Totals of some usage rows. */
export interface Totals {
  costUsd: number;
  requests: number;
  errors: number;
}

/** Midnight UTC on the first of this month, and of the month before. */
export function monthStarts(now: Date): { current: Date; previous: Date } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  return { current: new Date(Date.UTC(y, m, 1)), previous: new Date(Date.UTC(y, m - 1, 1)) };
}

/** Where a budget period of the given kind started (UTC; weeks start on Monday). */
export function periodStart(period: "day" | "week" | "month" | "lifetime", now: Date): Date | null {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  if (period === "day") return day;
  if (period === "week") return new Date(day.getTime() - ((day.getUTCDay() + 6) % 7) * DAY);
  if (period === "month") return monthStarts(now).current;
  return null;
}

function add(rows: UsageRow[]): Totals {
  return rows.reduce(
    (t, r) => ({
      costUsd: t.costUsd + r.cost_usd,
      requests: t.requests + r.requests,
      errors: t.errors + r.errors,
    }),
    { costUsd: 0, requests: 0, errors: 0 },
  );
}

/**
 * This month so far against the same days of last month, from usage grouped by day
 * (`group` is yyyy-mm-dd). `change` is the relative change of spend, null without a base.
 */
export function spendTrend(
  dayRows: UsageRow[],
  now: Date,
): { current: Totals; previous: Totals; change: number | null } {
  const { current, previous } = monthStarts(now);
  const elapsedDays = Math.floor((now.getTime() - current.getTime()) / DAY) + 1;
  const previousCut = new Date(Math.min(previous.getTime() + elapsedDays * DAY, current.getTime()));
  const at = (r: UsageRow) => Date.parse(`${r.group.slice(0, 10)}T00:00:00Z`);
  const cur = add(dayRows.filter((r) => at(r) >= current.getTime()));
  const prev = add(dayRows.filter((r) => at(r) >= previous.getTime() && at(r) < previousCut.getTime()));
  return {
    current: cur,
    previous: prev,
    change: prev.costUsd > 0 ? (cur.costUsd - prev.costUsd) / prev.costUsd : null,
  };
}

/** The last `days` days (oldest first), zero where nothing was used. */
export function dailySeries(dayRows: UsageRow[], now: Date, days = 14): Array<{ day: string } & Totals> {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const byDay = new Map(dayRows.map((r) => [r.group.slice(0, 10), r]));
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(today - (days - 1 - i) * DAY).toISOString().slice(0, 10);
    const r = byDay.get(day);
    return { day, costUsd: r?.cost_usd ?? 0, requests: r?.requests ?? 0, errors: r?.errors ?? 0 };
  });
}

/** The `n` keys that cost most (ties: more requests first). */
export function topKeys(keyRows: UsageRow[], n = 5): UsageRow[] {
  return [...keyRows].sort((a, b) => b.cost_usd - a.cost_usd || b.requests - a.requests).slice(0, n);
}

/** A budgeted key and how much of its budget this period has used. */
export interface BudgetUse {
  key: Key;
  spentUsd: number;
  limitUsd: number;
  share: number;
}

/**
 * Keys whose budget this period is at least `threshold` used. `spent` maps a budget period to
 * the key's cost in it (from usage grouped by key since the period started).
 */
export function budgetsNearLimit(
  keys: Key[],
  spent: Partial<Record<"day" | "week" | "month" | "lifetime", Map<string, number>>>,
  threshold = 0.8,
): BudgetUse[] {
  const out: BudgetUse[] = [];
  for (const key of keys) {
    const budget = key.limits?.budget;
    if (!budget) continue;
    const spentUsd = spent[budget.period]?.get(key.id) ?? 0;
    const share = spentUsd / budget.usd;
    if (share >= threshold) out.push({ key, spentUsd, limitUsd: budget.usd, share });
  }
  return out.sort((a, b) => b.share - a.share);
}

/** Active keys that are stale, or whose rotation deadline is past or within `withinDays`. */
export function keysNeedingAttention(
  keys: Key[],
  now: Date,
  withinDays = 7,
): Array<{ key: Key; why: string }> {
  const soon = now.getTime() + withinDays * DAY;
  const out: Array<{ key: Key; why: string }> = [];
  for (const key of keys) {
    if (key.status !== "active" || key.canary) continue;
    const due = key.rotate_by ? Date.parse(key.rotate_by) : null;
    const reasons: string[] = [];
    if (due !== null && due <= now.getTime()) reasons.push("rotation overdue");
    else if (due !== null && due <= soon) reasons.push("rotation due soon");
    if (key.stale) reasons.push("stale (unused)");
    if (reasons.length) out.push({ key, why: reasons.join(", ") });
  }
  return out;
}

/** Dollars for a table or card: cents, whole dollars from $1,000, two significant digits below a cent. */
export function usd(value: number): string {
  if (value > 0 && value < 0.01)
    return value.toLocaleString("en-US", { style: "currency", currency: "USD", maximumSignificantDigits: 2 });
  return value.toLocaleString("en-US", {
    style: "currency",
    currency: "USD",
    maximumFractionDigits: value >= 1000 ? 0 : 2,
  });
}
