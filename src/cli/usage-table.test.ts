import { describe, expect, it } from "vitest";
import type { UsageRow } from "../usage/query.js";
import { renderUsageTable } from "./usage-table.js";

const row = (group: string, requests: number, cost: number, name: string | null = null): UsageRow => ({
  group,
  name,
  requests,
  errors: 1,
  prompt_tokens: requests * 1000,
  completion_tokens: 5,
  cached_tokens: 0,
  cost_micros: cost,
  cost_usd: cost / 1e6,
});

describe("renderUsageTable", () => {
  it("aligns numbers right, shows names and a total", () => {
    const text = renderUsageTable(
      "key",
      [row("key_A", 1234, 1_234_567_891, "ci"), row("key_B", 5, 20, null)],
      false,
    );
    expect(text.split("\n")).toEqual([
      "key             name  requests  errors     prompt  completion  cached    cost (USD)",
      "--------------  ----  --------  ------  ---------  ----------  ------  ------------",
      "key_A           ci       1,234       1  1,234,000           5       0  1,234.567891",
      "key_B           -            5       1      5,000           5       0      0.000020",
      "--------------  ----  --------  ------  ---------  ----------  ------  ------------",
      "total (2 rows)           1,239       2  1,239,000          10       0  1,234.567911",
    ]);
  });

  it("prints UTC dates and hours, says when the limit cut the list, and handles no rows", () => {
    const day = renderUsageTable("day", [row("2026-11-22T00:00:00.000Z", 1, 1)], true);
    expect(day).toMatch(/^day \(UTC\)/);
    expect(day).toContain("\n2026-11-22 ");
    expect(day).toMatch(/only the first 1 groups/);
    expect(renderUsageTable("hour", [row("2026-11-22T17:00:00.000Z", 1, 1)], false)).toContain(
      "2026-11-22 17:00",
    );
    expect(renderUsageTable("model", [], false)).toBe("no usage in this range");
  });
});
