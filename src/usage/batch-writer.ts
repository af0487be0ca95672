import type { Kysely } from "kysely";
import type { DB, UsageEventsTable } from "../store/schema.js";
import { keyIpPairs, writeKeyIps } from "./key-ips.js";
import { eventsToCount, rollupDeltas, uniqueByRequestId, writeRollupDeltas } from "./rollups.js";
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

/**
 * Inserts raw events, skipping request ids already recorded, and returns the ids it inserted.
 * Runs inside the batch's transaction.
 */
export type EventInserter = (tx: Kysely<DB>, events: UsageEvent[]) => Promise<Set<string>>;

/** The portable inserter: multi-row INSERT … ON CONFLICT DO NOTHING RETURNING through Kysely. */
export const kyselyInserter: EventInserter = async (tx, events) => {
  const inserted = new Set<string>();
  for (let i = 0; i < events.length; i += ROWS_PER_INSERT) {
    const rows = await tx
      .insertInto("usage_events")
      .values(events.slice(i, i + ROWS_PER_INSERT).map(toRow))
      .onConflict((oc) => oc.column("request_id").doNothing())
      .returning("request_id")
      .execute();
    for (const r of rows) inserted.add(r.request_id);
  }
  return inserted;
};

/**
 * Writes one batch atomically: raw events (exactly once, by request id), their rollups, and the
 * (key, IP) pairs they introduce to key_ips (which the anomaly sweep reads instead of the raw
 * events).
 */
export async function writeUsageBatch(
  db: Kysely<DB>,
  batch: UsageEvent[],
  insertEvents: EventInserter = kyselyInserter,
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const unique = uniqueByRequestId(batch);
    const inserted = await insertEvents(tx, unique);
    // Rollups count exactly the events whose raw row this transaction created: RETURNING
    // lists only rows inserted, never ones skipped as already recorded (a re-send), and all
    // writes commit or roll back together, so a retried batch cannot count twice either.
    // key_ips follows the same rule: a re-sent event must not stand for a sighting.
    const counted = eventsToCount(unique, inserted);
    await writeRollupDeltas(tx, rollupDeltas(counted));
    await writeKeyIps(tx, keyIpPairs(counted));
  });
}

/** Writes on the caller's connection pool (PostgreSQL: the I/O is asynchronous anyway). */
export function directBatchWriter(db: Kysely<DB>): UsageBatchWriter {
  return { write: (batch) => writeUsageBatch(db, batch) };
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
