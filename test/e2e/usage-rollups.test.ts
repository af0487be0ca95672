import fc from "fast-check";
import { sql, type Kysely } from "kysely";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, openSqliteConnection, type Database } from "../../src/store/database.js";
import { backfillUsageRollups } from "../../src/store/migrations/0005_usage_rollups.js";
import { backfillKeySpans } from "../../src/store/migrations/0016_usage_key_spans.js";
import type { DB } from "../../src/store/schema.js";
import { createTestStore, storeBefore, testDialects, type TestStore } from "../support/harness.js";
import { queryUsage, USAGE_GROUPS, type UsageFilter } from "../../src/usage/query.js";
import { UsageRecorder } from "../../src/usage/recorder.js";
import {
  directBatchWriter,
  toRow,
  writeUsageBatch,
  type UsageBatchWriter,
} from "../../src/usage/batch-writer.js";
import { preparedBatchStatements } from "../../src/usage/prepared-statements.js";
import { ROLLUPS, type RollupSpec } from "../../src/usage/rollups.js";
import type { UsageEvent } from "../../src/usage/types.js";
import { usageEvent } from "../support/usage-event.js";

/**
 * Rollups against the raw events they summarise, on each dialect: after random batches full of
 * re-sent request ids (inside a batch and across batches, with different content, as a buggy
 * client or a retried flush would send them), every rollup table equals a GROUP BY over
 * usage_events (and key_ips holds exactly their key/IP pairs), the migration's backfill rebuilds
 * exactly the same rows, and queryUsage answers every grouping and filter — including ranges that
 * cut hours and days — exactly as the raw query.
 */

const H = 3_600_000;
const D = 86_400_000;
const BASE = Date.UTC(2026, 0, 10);
const KEYS = { key_a: "proj_1", key_b: "proj_1", key_c: "proj_2" } as const;
const MODELS = ["gpt-4o-mini", "gpt-4o", null] as const;

/**
 * Times within ±3 days of BASE, often exactly on or one ms beside an hour or day boundary, and
 * day boundaries up to ±60 days away so that ranges by key span 5, 15 and 45 days.
 */
const timeArb = fc.oneof(
  fc.integer({ min: BASE - 3 * D, max: BASE + 3 * D }),
  fc.tuple(fc.integer({ min: -72, max: 72 }), fc.constantFrom(-1, 0, 1)).map(([n, d]) => BASE + n * H + d),
  fc.tuple(fc.integer({ min: -3, max: 3 }), fc.constantFrom(-1, 0, 1)).map(([n, d]) => BASE + n * D + d),
  fc.tuple(fc.integer({ min: -60, max: 60 }), fc.constantFrom(-1, 0, 1)).map(([n, d]) => BASE + n * D + d),
);

const eventArb: fc.Arbitrary<UsageEvent> = fc
  .record({
    id: fc.integer({ min: 0, max: 59 }),
    ts: timeArb,
    key: fc.constantFrom(...(Object.keys(KEYS) as Array<keyof typeof KEYS>)),
    model: fc.constantFrom(...MODELS),
    status: fc.constantFrom(200, 200, 200, 400, 429, 500),
    prompt: fc.nat(10_000),
    completion: fc.nat(5_000),
    cached: fc.nat(1_000),
    cost: fc.nat(2_000_000),
    ip: fc.constantFrom("10.0.0.1", "10.0.0.2", null),
  })
  .map((r) =>
    usageEvent({
      requestId: `req_${r.id}`,
      ts: r.ts,
      keyId: r.key,
      projectId: KEYS[r.key],
      model: r.model,
      status: r.status,
      usage: { prompt: r.prompt, completion: r.completion, cached: r.cached },
      costMicros: r.cost,
      latencyMs: 10,
      clientIp: r.ip,
    }),
  );

const filterArb: fc.Arbitrary<UsageFilter> = fc
  .record({
    groupBy: fc.constantFrom(...USAGE_GROUPS),
    since: fc.option(timeArb, { nil: undefined }),
    until: fc.option(timeArb, { nil: undefined }),
    keyId: fc.option(fc.constantFrom("key_a", "key_c"), { nil: undefined }),
    projectId: fc.option(fc.constantFrom("proj_1", "proj_2"), { nil: undefined }),
    model: fc.option(fc.constantFrom("gpt-4o-mini", "gpt-4o"), { nil: undefined }),
  })
  .map((f) => ({ ...f, limit: 1000 }));

const ROLLUP_TABLES = ROLLUPS.map((r) => r.table);

/** A rollup table's rows, as plain numbers, in primary-key order. */
async function rollupRows(db: Kysely<DB>, spec: RollupSpec) {
  const { rows } = await sql<Record<string, string | number>>`
    select * from ${sql.table(spec.table)}
    order by bucket_start, ${spec.perKey ? sql`key_id,` : sql``} project_id
      ${spec.perModel ? sql`, model` : sql``}`.execute(db);
  return rows.map(normalise);
}

/** What the rollup table must hold: the same sums straight from usage_events (written here, independently). */
async function expectedRows(db: Kysely<DB>, spec: RollupSpec) {
  const g = sql.lit(spec.grainMs);
  const key = spec.perKey ? sql`key_id,` : sql``;
  const model = spec.perModel ? sql`, coalesce(model, '')` : sql``;
  const { rows } = await sql<Record<string, string | number>>`
    select (ts / ${g}) * ${g} as bucket_start, ${key} project_id ${model} ${spec.perModel ? sql`as model` : sql``},
      count(*) as requests, sum(case when status >= 400 then 1 else 0 end) as errors,
      sum(prompt_tokens) as prompt_tokens, sum(completion_tokens) as completion_tokens,
      sum(cached_tokens) as cached_tokens, sum(cost_micros) as cost_micros
    from usage_events
    group by (ts / ${g}) * ${g}, ${key} project_id ${model}
    order by 1, ${key} project_id ${model}`.execute(db);
  return rows.map(normalise);
}

/** PostgreSQL returns sums as numeric strings; compare numbers. */
function normalise(row: Record<string, string | number>) {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v]),
  );
}

async function clear(db: Kysely<DB>): Promise<void> {
  await db.deleteFrom("usage_events").execute();
  await db.deleteFrom("key_ips").execute();
  for (const t of ROLLUP_TABLES) await db.deleteFrom(t).execute();
}

/**
 * key_ips holds exactly the (key, IP) pairs of the stored events, each first seen no earlier than
 * its earliest event (batches may arrive out of time order: the first batch to show a pair sets it).
 */
async function expectKeyIpsOfEvents(db: Kysely<DB>): Promise<void> {
  const { rows: raw } = await sql<{ key_id: string; ip: string; first: string | number }>`
    select key_id, client_ip as ip, min(ts) as first from usage_events
    where client_ip is not null group by key_id, client_ip order by key_id, client_ip`.execute(db);
  const got = await db.selectFrom("key_ips").selectAll().orderBy("key_id").orderBy("ip").execute();
  expect(got.map((r) => `${r.key_id} ${r.ip}`)).toEqual(raw.map((r) => `${r.key_id} ${r.ip}`));
  for (const [i, r] of got.entries())
    expect(Number(r.first_seen_at)).toBeGreaterThanOrEqual(Number(raw[i]!.first));
}

describe.each(testDialects())("usage rollups (%s)", (dialect) => {
  let store: TestStore;
  let database: Database;
  let db: Kysely<DB>;

  beforeAll(async () => {
    store = await createTestStore(dialect);
    database = await openDatabase({
      dataDir: store.dataDir,
      ...(store.databaseUrl ? { databaseUrl: store.databaseUrl, pgSchema: store.pgSchema! } : {}),
    });
    db = database.db;
  });
  afterAll(async () => {
    await database?.close();
    await store?.cleanup();
  });

  // The SQLite writer thread runs the same queries as prepared statements on its own connection.
  const writers = dialect === "sqlite" ? (["kysely", "prepared"] as const) : (["kysely"] as const);
  const openWriter = (
    kind: (typeof writers)[number],
  ): { writer: UsageBatchWriter; close(): Promise<void> } => {
    if (kind === "kysely") return { writer: directBatchWriter(db), close: async () => {} };
    const conn = openSqliteConnection(path.join(store.dataDir, "keyward.db"));
    const statements = preparedBatchStatements(conn.sqlite, conn.db);
    return {
      writer: { write: (batch) => writeUsageBatch(conn.db, batch, statements) },
      close: () => conn.db.destroy(),
    };
  };

  it.each(writers)(
    "equal the raw aggregation after random batches with re-sent events; queries match raw (%s statements)",
    async (kind) => {
      const { writer, close } = openWriter(kind);
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.array(eventArb, { minLength: 0, maxLength: 25 }), { minLength: 1, maxLength: 6 }),
            fc.array(fc.nat(), { maxLength: 3 }),
            fc.array(filterArb, { minLength: 6, maxLength: 6 }),
            async (batches, resend, filters) => {
              await clear(db);
              const errors: unknown[] = [];
              const recorder = new UsageRecorder(writer, 60_000, (e) => errors.push(e));
              for (const batch of batches) {
                for (const e of batch) recorder.record(e);
                await recorder.flush();
              }
              // Whole batches re-sent later (a retried flush): nothing may be counted twice.
              for (const i of resend) {
                for (const e of batches[i % batches.length]!) recorder.record(e);
                await recorder.flush();
              }
              expect(errors).toEqual([]);
              await expectKeyIpsOfEvents(db);
              const snapshot = new Map<string, unknown>();
              for (const spec of ROLLUPS) {
                const got = await rollupRows(db, spec);
                expect(got, spec.table).toEqual(await expectedRows(db, spec));
                snapshot.set(spec.table, got);
              }
              // The migration's backfill builds exactly what the recorder maintained.
              for (const t of ROLLUP_TABLES) await db.deleteFrom(t).execute();
              await backfillUsageRollups(db as unknown as Kysely<unknown>);
              await backfillKeySpans(db as unknown as Kysely<unknown>);
              for (const spec of ROLLUPS)
                expect(await rollupRows(db, spec), spec.table).toEqual(snapshot.get(spec.table));

              for (const f of filters) {
                const fromRollups = await queryUsage(db, f);
                const fromRaw = await queryUsage(db, f, { rollups: false });
                expect(fromRollups, JSON.stringify(f)).toEqual(fromRaw);
              }
            },
          ),
          { numRuns: dialect === "sqlite" ? 40 : 20 },
        );
      } finally {
        await close();
      }
    },
  );

  it("a re-sent event changes neither the raw row nor the rollups", async () => {
    await clear(db);
    const recorder = new UsageRecorder(directBatchWriter(db), 60_000, (e) => {
      throw e;
    });
    const e = fc.sample(eventArb, { numRuns: 1, seed: 7 })[0]!;
    recorder.record(e);
    recorder.record({ ...e, costMicros: e.costMicros + 1 });
    await recorder.flush();
    recorder.record({ ...e, status: 500, usage: { prompt: 1, completion: 1, cached: 0 } });
    await recorder.flush();
    const [day] = await queryUsage(db, { groupBy: "day", limit: 10 });
    expect(day).toMatchObject({ requests: 1, errors: e.status >= 400 ? 1 : 0, cost_micros: e.costMicros });
    expect(day!.prompt_tokens).toBe(e.usage.prompt);
  });

  it("upgrading a store that already holds events builds the rollups from them", async () => {
    const old = await createTestStore(dialect);
    try {
      // Migrate to the version before 0005, as an existing deployment would be.
      const legacy = await storeBefore(old, "0005_usage_rollups");
      const events = fc
        .sample(eventArb, { numRuns: 300, seed: 42 })
        .map((e, i) => ({ ...e, requestId: `legacy_${i}` }));
      await legacy
        .insertInto("usage_events")
        .values(events.map((e) => ({ ...toRow(e), client_ip: null })))
        .execute();
      await legacy.destroy();

      const upgraded = await openDatabase({
        dataDir: old.dataDir,
        ...(old.databaseUrl ? { databaseUrl: old.databaseUrl, pgSchema: old.pgSchema! } : {}),
      });
      try {
        for (const spec of ROLLUPS) {
          const got = await rollupRows(upgraded.db, spec);
          expect(got.length).toBeGreaterThan(0);
          expect(got, spec.table).toEqual(await expectedRows(upgraded.db, spec));
        }
      } finally {
        await upgraded.close();
      }
    } finally {
      await old.cleanup();
    }
  });
});
