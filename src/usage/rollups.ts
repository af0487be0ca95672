import { sql, type Compilable, type Kysely, type RawBuilder, type Transaction } from "kysely";
import type { DB, UsageKeyRollupTable } from "../store/schema.js";
import type { UsageEvent } from "./types.js";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export type RollupTable =
  "usage_key_hourly" | "usage_key_daily" | "usage_project_hourly" | "usage_project_daily";

/** One rollup table: its bucket width and whether it keeps keys apart (migration 0005). */
export interface RollupSpec {
  table: RollupTable;
  grainMs: number;
  perKey: boolean;
}

/** Every rollup table; the recorder maintains all of them, the query picks the cheapest that fits. */
export const ROLLUPS: readonly RollupSpec[] = [
  { table: "usage_key_hourly", grainMs: HOUR_MS, perKey: true },
  { table: "usage_key_daily", grainMs: DAY_MS, perKey: true },
  { table: "usage_project_hourly", grainMs: HOUR_MS, perKey: false },
  { table: "usage_project_daily", grainMs: DAY_MS, perKey: false },
];

/** A rollup row; `key_id` is "" in the project-level tables' deltas and not written there. */
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
      const model = e.model ?? "";
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

type KeyTable = "usage_key_hourly" | "usage_key_daily";
type ProjectTable = "usage_project_hourly" | "usage_project_daily";

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
 * an existing one gets the sums added. Project tables have no key_id column; it is dropped.
 */
export function rollupUpsert(
  db: Kysely<DB>,
  spec: RollupSpec,
  rows: readonly RollupRow[],
): Compilable & { execute(): Promise<unknown> } {
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
