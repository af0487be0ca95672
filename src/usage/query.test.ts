import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestStore, testDialects, type TestStore } from "../../test/support/harness.js";
import { usageEvent } from "../../test/support/usage-event.js";
import { openDatabase, type Database } from "../store/database.js";
import { writeUsageBatch } from "./batch-writer.js";
import { csvCell } from "../core/csv.js";
import { queryUsage, queryUsageCsv, type UsageRow } from "./query.js";
import type { UsageEvent } from "./types.js";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);
const KEYS = Array.from({ length: 12 }, (_, i) => ({
  id: `key_${String(i).padStart(2, "0")}`,
  projectId: i % 3 === 0 ? "proj_b" : "proj_a",
  name: `key number ${i}`,
}));

/**
 * queryUsage against sums computed here from the events themselves: groups, names, the order
 * (cost descending, then group; buckets in time order) and the cut to `limit` — which the query
 * now applies before it looks up names (migration 0014 and the console benchmark). The events
 * give some keys equal costs, so the tie-break is tested too, and one key was deleted (no name).
 */
describe.each(testDialects())("queryUsage: sums, names, order and limit (%s)", (dialect) => {
  let store: TestStore;
  let database: Database;
  const events: UsageEvent[] = [];

  beforeAll(async () => {
    store = await createTestStore(dialect);
    database = await openDatabase({
      dataDir: store.dataDir,
      ...(store.databaseUrl ? { databaseUrl: store.databaseUrl, pgSchema: store.pgSchema! } : {}),
    });
    const db = database.db;
    for (const p of ["proj_a", "proj_b"])
      await sql`insert into projects (id, name, description, created_at, created_by, updated_at)
        values (${p}, ${`project ${p}`}, null, ${T0}, 'test', ${T0})`.execute(db);
    // key_11 is left out of api_keys: a deleted key's usage still counts, with no name.
    for (const k of KEYS.slice(0, 11))
      await sql`insert into api_keys (id, project_id, name, environment, status, permissions, metadata, hint,
          created_at, created_by, updated_at)
        values (${k.id}, ${k.projectId}, ${k.name}, 'live', 'active', '{"mode":"all"}', '{}', 'kw_live_…0000',
          ${T0}, 'test', ${T0})`.execute(db);
    for (let i = 0; i < 240; i++) {
      const k = KEYS[(i * 7) % KEYS.length]!;
      events.push(
        usageEvent({
          requestId: `req-${i}`,
          ts: T0 + Math.floor((i * 20 * DAY) / 240) + 1234,
          keyId: k.id,
          projectId: k.projectId,
          model: ["gpt-4o", "gpt-4o-mini", null][i % 3]!,
          status: i % 17 === 0 ? 500 : 200,
          usage: { prompt: 10 + (i % 5), completion: i % 7, cached: i % 2 },
          // Keys 0 and 6 end with equal costs (both get 20 events of 10): ties break by id.
          costMicros: k.id === "key_00" || k.id === "key_06" ? 10 : 5 + (i % 11),
        }),
      );
    }
    await writeUsageBatch(db, events);
  }, 60_000);
  afterAll(async () => {
    await database?.close();
    await store?.cleanup();
  });

  /** The expected answer, from the events alone. */
  function expected(
    groupOf: (e: UsageEvent) => string,
    names: Map<string, string>,
    byTime: boolean,
    limit: number,
    since: number,
    until: number,
  ): UsageRow[] {
    const groups = new Map<string, UsageRow>();
    for (const e of events) {
      if (e.ts < since || e.ts >= until) continue;
      const g = groupOf(e);
      const r =
        groups.get(g) ??
        ({
          group: g,
          name: names.get(g) ?? null,
          requests: 0,
          errors: 0,
          prompt_tokens: 0,
          completion_tokens: 0,
          cached_tokens: 0,
          cost_micros: 0,
          cost_usd: 0,
        } satisfies UsageRow);
      r.requests += 1;
      r.errors += e.status >= 400 ? 1 : 0;
      r.prompt_tokens += e.usage.prompt;
      r.completion_tokens += e.usage.completion;
      r.cached_tokens += e.usage.cached;
      r.cost_micros += e.costMicros;
      r.cost_usd = r.cost_micros / 1_000_000;
      groups.set(g, r);
    }
    const cmp = (a: UsageRow, b: UsageRow) =>
      byTime
        ? a.group.localeCompare(b.group)
        : b.cost_micros - a.cost_micros || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0);
    return [...groups.values()].sort(cmp).slice(0, limit);
  }

  const keyNames = new Map(KEYS.slice(0, 11).map((k) => [k.id, k.name]));
  const projectNames = new Map([
    ["proj_a", "project proj_a"],
    ["proj_b", "project proj_b"],
  ]);
  const day = (e: UsageEvent) => new Date(Math.floor(e.ts / DAY) * DAY).toISOString();
  // Whole days (the console's date inputs), and a range that cuts days and hours.
  const ranges = [
    [T0, T0 + 21 * DAY],
    [T0 + 3 * DAY + 5_000_000, T0 + 15 * DAY - 7_000_000],
  ] as const;

  it.each([1, 3, 5, 12, 1000])("by key and by project, top %i by cost, with names", async (limit) => {
    for (const [since, until] of ranges) {
      expect(await queryUsage(database.db, { groupBy: "key", since, until, limit })).toEqual(
        expected((e) => e.keyId, keyNames, false, limit, since, until),
      );
      expect(await queryUsage(database.db, { groupBy: "project", since, until, limit })).toEqual(
        expected((e) => e.projectId, projectNames, false, limit, since, until),
      );
    }
  });

  it("by model and by day: no names, models by cost, days in time order, cut to the limit", async () => {
    for (const [since, until] of ranges) {
      expect(await queryUsage(database.db, { groupBy: "model", since, until, limit: 2 })).toEqual(
        expected((e) => e.model ?? "(none)", new Map(), false, 2, since, until),
      );
      expect(await queryUsage(database.db, { groupBy: "day", since, until, limit: 5 })).toEqual(
        expected(day, new Map(), true, 5, since, until),
      );
    }
  });

  it("the CSV lines are the same rows, the sums written by the store, the names quoted here", async () => {
    // What usageCsvLine printed from a row before the store wrote the sums (cost_usd: 6 places).
    const line = (r: UsageRow) =>
      [csvCell(r.group), csvCell(r.name), r.requests, r.errors, r.prompt_tokens, r.completion_tokens]
        .concat([r.cached_tokens, r.cost_micros, (r.cost_micros / 1_000_000).toFixed(6)])
        .join(",") + "\r\n";
    for (const [since, until] of ranges)
      for (const groupBy of ["key", "project", "model", "day", "hour"] as const) {
        const f = { groupBy, since, until, limit: 1000 };
        const lines = await queryUsageCsv(database.db, f);
        expect(lines.length).toBeGreaterThan(0);
        expect(lines).toEqual((await queryUsage(database.db, f)).map(line));
      }
    // Large sums keep every digit, and costs below a cent their leading zeros (a day of its own).
    await writeUsageBatch(database.db, [
      usageEvent({
        requestId: "big",
        ts: T0 - 5 * DAY,
        keyId: "key_big",
        projectId: "proj_a",
        costMicros: 123_456_789_012,
      }),
      usageEvent({
        requestId: "tiny",
        ts: T0 - 5 * DAY + 1,
        keyId: "key_tiny",
        projectId: "proj_a",
        costMicros: 7,
      }),
    ]);
    const all = await queryUsageCsv(database.db, {
      groupBy: "key",
      since: T0 - 5 * DAY,
      until: T0 - 4 * DAY,
      limit: 1000,
    });
    expect(all.find((l) => l.startsWith("key_big,"))).toMatch(/,123456789012,123456\.789012\r\n$/);
    expect(all.find((l) => l.startsWith("key_tiny,"))).toMatch(/,7,0\.000007\r\n$/);
  });

  it("has the covering index for usage by key over a range, in place of the narrower one (migration 0014)", async () => {
    // Which plan a store picks depends on its statistics (the benchmark's 10,000 keys show it);
    // here: the index holds what the by-key query reads, so it can be read alone.
    const sums = "requests, errors, prompt_tokens, completion_tokens, cached_tokens, cost_micros";
    if (dialect === "sqlite") {
      const { rows } = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master
        where type = 'index' and tbl_name = 'usage_key_daily' and sql is not null`.execute(database.db);
      expect(rows.map((r) => r.name)).toEqual([
        "usage_key_daily_project_idx",
        "usage_key_daily_key_cover_idx",
      ]);
      expect(rows[1]!.sql.replace(/\s+/g, " ")).toContain(`(key_id, bucket_start, ${sums})`);
    } else {
      const { rows } = await sql<{ indexdef: string }>`select indexdef from pg_indexes
        where tablename = 'usage_key_daily' and schemaname = current_schema()
        and indexname = 'usage_key_daily_range_cover_idx'`.execute(database.db);
      expect(rows.map((r) => r.indexdef)).toEqual([
        expect.stringContaining(`(bucket_start) INCLUDE (key_id, ${sums})`),
      ]);
    }
  });
});
