import { csvCell } from "../core/csv.js";
import type { UsageGroup } from "./plan.js";
import type { UsageRow } from "./query.js";

const COLUMNS = [
  "name",
  "requests",
  "errors",
  "prompt_tokens",
  "completion_tokens",
  "cached_tokens",
  "cost_micros",
  "cost_usd",
] as const;

/** The header line: the grouping's name (key, project, model, day, hour), then the sums. CRLF. */
export function usageCsvHeader(groupBy: UsageGroup): string {
  return [groupBy, ...COLUMNS].join(",") + "\r\n";
}

/**
 * One usage row as a CSV line (CRLF). Only the group and the name are text that needs
 * `csvCell`; the sums are integers, written as they are (a full export is 10,000 lines).
 */
export function usageCsvLine(row: UsageRow): string {
  // cost_usd from the integer micro-dollars, so it never prints as 1e-7 or 0.30000000000000004.
  const usd = (row.cost_micros / 1_000_000).toFixed(6);
  return `${csvCell(row.group)},${csvCell(row.name)},${row.requests},${row.errors},${row.prompt_tokens},${row.completion_tokens},${row.cached_tokens},${row.cost_micros},${usd}\r\n`;
}

/** Header and rows as text chunks of about `chunkRows` lines each, for a streamed response. */
export function* usageCsvChunks(
  groupBy: UsageGroup,
  rows: readonly UsageRow[],
  chunkRows = 1000,
): Generator<string> {
  yield usageCsvHeader(groupBy);
  for (let i = 0; i < rows.length; i += chunkRows)
    yield rows
      .slice(i, i + chunkRows)
      .map(usageCsvLine)
      .join("");
}
