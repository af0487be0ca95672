import type { UsageGroup, UsageRow } from "../usage/query.js";

const int = (n: number) => n.toLocaleString("en-US");

/** Exact micro-dollars as USD with thousands separators: 1234567891 → "1,234.567891". */
function usd(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  const frac = String(micros % 1_000_000).padStart(6, "0");
  return `${int(whole)}.${frac}`;
}

/** How a group reads in the table: time buckets as UTC date (and hour), ids as they are. */
function groupLabel(groupBy: UsageGroup, group: string): string {
  if (groupBy === "day") return group.slice(0, 10);
  if (groupBy === "hour") return `${group.slice(0, 10)} ${group.slice(11, 16)}`;
  return group;
}

/**
 * `keyward usage` as a table for people (pure): numbers right-aligned with thousands separators,
 * key and project names beside their ids, and a total row. `truncated` says the server returned
 * `limit` rows, so more groups may exist and the total covers only those shown.
 */
export function renderUsageTable(groupBy: UsageGroup, rows: readonly UsageRow[], truncated: boolean): string {
  if (rows.length === 0) return "no usage in this range";
  const named = groupBy === "key" || groupBy === "project";
  const first = groupBy === "day" || groupBy === "hour" ? `${groupBy} (UTC)` : groupBy;
  const headers = [
    first,
    ...(named ? ["name"] : []),
    "requests",
    "errors",
    "prompt",
    "completion",
    "cached",
    "cost (USD)",
  ];
  const cells = (label: string, name: string | null, r: Omit<UsageRow, "group" | "name" | "cost_usd">) => [
    label,
    ...(named ? [name ?? "-"] : []),
    int(r.requests),
    int(r.errors),
    int(r.prompt_tokens),
    int(r.completion_tokens),
    int(r.cached_tokens),
    usd(r.cost_micros),
  ];
  const total = {
    requests: 0,
    errors: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    cached_tokens: 0,
    cost_micros: 0,
  };
  for (const r of rows) for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += r[k];
  const body = rows.map((r) => cells(groupLabel(groupBy, r.group), r.name, r));
  const totalRow = cells(`total (${rows.length} ${rows.length === 1 ? "row" : "rows"})`, "", total);
  if (named) totalRow[1] = "";
  const textColumns = named ? 2 : 1;
  const widths = headers.map((h, i) => Math.max(h.length, ...[...body, totalRow].map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i < textColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const out = [line(headers), rule, ...body.map(line), rule, line(totalRow)];
  if (truncated)
    out.push(`(only the first ${rows.length} groups; raise --limit to see more — the total covers these)`);
  return out.join("\n");
}
