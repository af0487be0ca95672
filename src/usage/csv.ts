import type { UsageGroup } from "./plan.js";

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

/** Header and lines (from `queryUsageCsv`) as text chunks of `chunkRows` lines, for a streamed response. */
export function* usageCsvChunks(
  groupBy: UsageGroup,
  lines: readonly string[],
  chunkRows = 1000,
): Generator<string> {
  yield usageCsvHeader(groupBy);
  for (let i = 0; i < lines.length; i += chunkRows) yield lines.slice(i, i + chunkRows).join("");
}
