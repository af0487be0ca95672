import { sql, type Kysely, type Transaction } from "kysely";
import type { DB, KeyIpsTable, UsageEventsTable } from "../store/schema.js";
import { keyIpPairs, writeKeyIps } from "./key-ips.js";
import {
  eventsToCount,
  rollupDeltas,
  uniqueByRequestId,
  writeRollupDeltas,
  type RollupDeltas,
} from "./rollups.js";
import type { UsageEvent } from "./types.js";

/**
 * Where the recorder's batches go: one transaction per batch, or an error (the batch is retried).
 * Its owner (the app context) closes it, after the recorder's last flush.
 */
export interface UsageBatchWriter {
  write(batch: UsageEvent[]): Promise<void>;
}

/** Rows per INSERT: 16 columns × 500 stays far below SQLite's and PostgreSQL's parameter limits. */
const ROWS_PER_INSERT = 500;

/** The three writes of a batch, each run inside the batch's transaction. */
export interface BatchStatements {
  /** Inserts raw events, skipping request ids already recorded; returns the ids it inserted. */
  insertEvents(tx: Transaction<DB>, events: readonly UsageEvent[]): Promise<Set<string>>;
  /** Adds the deltas to the rollup tables. */
  addRollups(tx: Transaction<DB>, deltas: RollupDeltas): Promise<void>;
  /** Records (key, IP) pairs, keeping the first sighting. */
  addKeyIps(tx: Transaction<DB>, pairs: readonly KeyIpsTable[]): Promise<void>;
}

/** The portable statements: multi-row Kysely queries, built per batch, for both dialects. */
export const kyselyStatements: BatchStatements = {
  async insertEvents(tx, events) {
    const inserted = new Set<string>();
    for (let i = 0; i < events.length; i += ROWS_PER_INSERT) {
      const rows = await eventsInsert(tx, events.slice(i, i + ROWS_PER_INSERT).map(toRow))
        .returning("request_id")
        .execute();
      for (const r of rows) inserted.add(r.request_id);
    }
    return inserted;
  },
  addRollups: writeRollupDeltas,
  addKeyIps: writeKeyIps,
};

/** The insert of raw event rows that skips request ids already recorded, built but not run. */
export function eventsInsert(db: Kysely<DB>, rows: readonly UsageEventsTable[]) {
  return db
    .insertInto("usage_events")
    .values([...rows])
    .onConflict((oc) => oc.column("request_id").doNothing());
}

/**
 * Writes one batch atomically: raw events (exactly once, by request id), their rollups, and the
 * (key, IP) pairs they introduce to key_ips (which the anomaly sweep reads instead of the raw
 * events).
 */
export async function writeUsageBatch(
  db: Kysely<DB>,
  batch: UsageEvent[],
  statements: BatchStatements = kyselyStatements,
  postgresAsyncCommit = false,
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    // PostgreSQL answers the commit before its WAL reaches the disk: durable across a crash of
    // any keyward process (what metering before an answer ends needs), and a crash of the
    // database server itself can drop at most its last ~0.6 s (3 × wal_writer_delay). Answers
    // wait for this commit, and a disk flush per batch would be their wait.
    if (postgresAsyncCommit) await sql`set local synchronous_commit = off`.execute(tx);
    const unique = uniqueByRequestId(batch);
    const inserted = await statements.insertEvents(tx, unique);
    // Rollups count exactly the events whose raw row this transaction created: RETURNING
    // lists only rows inserted, never ones skipped as already recorded (a re-send), and all
    // writes commit or roll back together, so a retried batch cannot count twice either.
    // key_ips follows the same rule: a re-sent event must not stand for a sighting.
    const counted = eventsToCount(unique, inserted);
    await statements.addRollups(tx, rollupDeltas(counted));
    await statements.addKeyIps(tx, keyIpPairs(counted));
  });
}

/** Writes on the caller's connection pool (PostgreSQL: the I/O is asynchronous anyway). */
export function directBatchWriter(db: Kysely<DB>, postgresAsyncCommit = false): UsageBatchWriter {
  return { write: (batch) => writeUsageBatch(db, batch, kyselyStatements, postgresAsyncCommit) };
}

/** The stored row of an event. */
export function toRow(e: UsageEvent): UsageEventsTable {
  return {
    request_id: e.requestId,
    ts: e.ts,
    key_id: e.keyId,
    project_id: e.projectId,
    method: e.method,
    endpoint: e.endpoint,
    model: e.model,
    status: e.status,
    streamed: e.streamed ? 1 : 0,
    prompt_tokens: e.usage.prompt,
    completion_tokens: e.usage.completion,
    cached_tokens: e.usage.cached,
    cost_micros: e.costMicros,
    latency_ms: e.latencyMs,
    client_ip: e.clientIp,
    upstream_id: e.upstreamId,
  };
}
