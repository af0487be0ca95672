import { sql, type Compilable, type Kysely, type RawBuilder, type Transaction } from "kysely";
import type { DB, UsageKeyRollupTable, UsageKeySpanTable } from "../store/schema.js";
import type { UsageEvent } from "./types.js";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

type KeyTable = "usage_key_hourly" | "usage_key_daily";
type ProjectTable = "usage_project_hourly" | "usage_project_daily";
export type KeySpanTable =
  "usage_key_span_1d" | "usage_key_span_5d" | "usage_key_span_15d" | "usage_key_span_45d";
export type RollupTable = KeyTable | ProjectTable | KeySpanTable;

/**
 * One rollup table: its bucket width (buckets start at multiples of it since the epoch) and
 * which columns it keeps apart besides the project (migrations 0005 and 0016).
 */
export interface RollupSpec {
  table: RollupTable;
  grainMs: number;
  perKey: boolean;
  perModel: boolean;
}

/**
 * Per-key sums over aligned spans of 1, 5, 15 and 45 UTC days, without the model (migration
 * 0016): what "usage by key" over a date range reads. Sparse traffic hardly compresses into the
 * per-key daily rollup (0.8 rows per event with 10,000 keys), so 90 days by key summed almost
 * every row of it; covered by spans (`planUsage`) the same range reads a few rows per key. Each
 * width divides the next, so spans nest and any run of whole days is a short chain of them.
 */
export const KEY_SPANS: readonly RollupSpec[] = [
  { table: "usage_key_span_1d", grainMs: DAY_MS, perKey: true, perModel: false },
  { table: "usage_key_span_5d", grainMs: 5 * DAY_MS, perKey: true, perModel: false },
  { table: "usage_key_span_15d", grainMs: 15 * DAY_MS, perKey: true, perModel: false },
  { table: "usage_key_span_45d", grainMs: 45 * DAY_MS, perKey: true, perModel: false },
];

/** Every rollup table; the recorder maintains all of them, the query picks the cheapest that fits. */
export const ROLLUPS: readonly RollupSpec[] = [
  { table: "usage_key_hourly", grainMs: HOUR_MS, perKey: true, perModel: true },
  { table: "usage_key_daily", grainMs: DAY_MS, perKey: true, perModel: true },
  { table: "usage_project_hourly", grainMs: HOUR_MS, perKey: false, perModel: true },
  { table: "usage_project_daily", grainMs: DAY_MS, perKey: false, perModel: true },
  ...KEY_SPANS,
];

/**
 * A rollup row; `key_id` is "" in the project-level tables' deltas and `model` "" in the key
 * spans', and neither is written where the table has no such column.
 */
export type RollupRow = UsageKeyRollupTable;

/** The rows to add to each rollup table, in primary-key order. */
export type RollupDeltas = ReadonlyMap<RollupTable, readonly RollupRow[]>;

/**
 * The events of `batch` that this write may count: the first of each request id (a re-sent
 * event inside one batch must not count twice) whose raw row the INSERT actually created
 * (`insertedIds`, from its RETURNING — an event already in the store is a re-send).
 */
export function eventsToCount(batch: readonly UsageEvent[], insertedIds: ReadonlySet<string>): UsageEvent[] {
  return uniqueByRequestId(batch).filter((e) => insertedIds.has(e.requestId));
}

/** The first event of each request id, in order: what the recorder inserts. */
export function uniqueByRequestId(batch: readonly UsageEvent[]): UsageEvent[] {
  const seen = new Set<string>();
  const out: UsageEvent[] = [];
  for (const e of batch) {
    if (seen.has(e.requestId)) continue;
    seen.add(e.requestId);
    out.push(e);
  }
  return out;
}

/**
 * Sums `events` into per-bucket rows for every rollup table (pure). Rows come sorted by primary
 * key, so concurrent writers (replicas on one PostgreSQL) lock rollup rows in the same order and
 * cannot deadlock each other.
 */
export function rollupDeltas(events: readonly UsageEvent[]): RollupDeltas {
  const out = new Map<RollupTable, RollupRow[]>();
  for (const spec of ROLLUPS) {
    const rows = new Map<string, RollupRow>();
    for (const e of events) {
      const bucket = Math.floor(e.ts / spec.grainMs) * spec.grainMs;
      const keyId = spec.perKey ? e.keyId : "";
      const model = spec.perModel ? (e.model ?? "") : "";
      const id = `${bucket}\u0000${keyId}\u0000${e.projectId}\u0000${model}`;
      let row = rows.get(id);
      if (!row) {
        row = {
          bucket_start: bucket,
          key_id: keyId,
          project_id: e.projectId,
          model,
          requests: 0,
          errors: 0,
          prompt_tokens: 0,
          completion_tokens: 0,
          cached_tokens: 0,
          cost_micros: 0,
        };
        rows.set(id, row);
      }
      row.requests += 1;
      if (e.status >= 400) row.errors += 1;
      row.prompt_tokens += e.usage.prompt;
      row.completion_tokens += e.usage.completion;
      row.cached_tokens += e.usage.cached;
      row.cost_micros += e.costMicros;
    }
    out.set(spec.table, [...rows.values()].sort(comparePk));
  }
  return out;
}

function comparePk(a: RollupRow, b: RollupRow): number {
  return (
    a.bucket_start - b.bucket_start ||
    cmp(a.key_id, b.key_id) ||
    cmp(a.project_id, b.project_id) ||
    cmp(a.model, b.model)
  );
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Rows per upsert: 10 columns × 500 stays far below both dialects' parameter limits. */
const ROWS_PER_UPSERT = 500;

/** Adds the deltas to the rollup tables, inside the caller's transaction. */
export async function writeRollupDeltas(tx: Transaction<DB>, deltas: RollupDeltas): Promise<void> {
  for (const spec of ROLLUPS) {
    const rows = deltas.get(spec.table) ?? [];
    for (let i = 0; i < rows.length; i += ROWS_PER_UPSERT)
      await rollupUpsert(tx, spec, rows.slice(i, i + ROWS_PER_UPSERT)).execute();
  }
}

const SUMS = [
  "requests",
  "errors",
  "prompt_tokens",
  "completion_tokens",
  "cached_tokens",
  "cost_micros",
] as const;

/**
 * `SET c = <table>.c + excluded.c` for every sum: the same upsert in SQLite and PostgreSQL. The
 * existing value is qualified with the table name because PostgreSQL finds a bare one ambiguous.
 */
function addExcluded(table: RollupTable): Record<(typeof SUMS)[number], RawBuilder<number>> {
  const set = {} as Record<(typeof SUMS)[number], RawBuilder<number>>;
  for (const c of SUMS) set[c] = sql<number>`${sql.ref(`${table}.${c}`)} + ${sql.ref(`excluded.${c}`)}`;
  return set;
}

/**
 * The upsert adding `rows` to a rollup table, built but not run: a new bucket row is inserted,
 * an existing one gets the sums added. Project tables have no key_id column and key spans no
 * model column; what a table lacks is dropped from the rows.
 */
export function rollupUpsert(
  db: Kysely<DB>,
  spec: RollupSpec,
  rows: readonly RollupRow[],
): Compilable & { execute(): Promise<unknown> } {
  if (!spec.perModel)
    return db
      .insertInto(spec.table as KeySpanTable)
      .values(rows.map(({ model: _model, ...rest }): UsageKeySpanTable => rest))
      .onConflict((oc) =>
        oc.columns(["bucket_start", "key_id", "project_id"]).doUpdateSet(addExcluded(spec.table)),
      );
  if (spec.perKey)
    return db
      .insertInto(spec.table as KeyTable)
      .values([...rows])
      .onConflict((oc) =>
        oc.columns(["bucket_start", "key_id", "project_id", "model"]).doUpdateSet(addExcluded(spec.table)),
      );
  return db
    .insertInto(spec.table as ProjectTable)
    .values(rows.map(({ key_id: _key, ...rest }) => rest))
    .onConflict((oc) =>
      oc.columns(["bucket_start", "project_id", "model"]).doUpdateSet(addExcluded(spec.table)),
    );
}
