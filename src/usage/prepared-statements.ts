import type SQLite from "better-sqlite3";
import type { Kysely } from "kysely";
import { preparedRowStatement, type RowColumns } from "../store/prepared-row.js";
import type { DB, KeyIpsTable, UsageEventsTable } from "../store/schema.js";
import { eventsInsert, toRow, type BatchStatements } from "./batch-writer.js";
import { keyIpsInsert } from "./key-ips.js";
import { ROLLUPS, rollupUpsert, type RollupRow, type RollupTable } from "./rollups.js";

const EVENT_COLUMNS: RowColumns<UsageEventsTable> = {
  request_id: true,
  ts: true,
  key_id: true,
  project_id: true,
  method: true,
  endpoint: true,
  model: true,
  status: true,
  streamed: true,
  prompt_tokens: true,
  completion_tokens: true,
  cached_tokens: true,
  cost_micros: true,
  latency_ms: true,
  client_ip: true,
  upstream_id: true,
};

const ROLLUP_COLUMNS: RowColumns<RollupRow> = {
  bucket_start: true,
  key_id: true,
  project_id: true,
  model: true,
  requests: true,
  errors: true,
  prompt_tokens: true,
  completion_tokens: true,
  cached_tokens: true,
  cost_micros: true,
};

const KEY_IP_COLUMNS: RowColumns<KeyIpsTable> = { key_id: true, ip: true, first_seen_at: true };

/**
 * The batch statements of the SQLite writer thread: the very queries of `kyselyStatements`,
 * compiled once at start-up and run row by row as prepared statements. Building and compiling
 * them per batch through Kysely cost more CPU than SQLite's own work, in bursts that took a core
 * from the requests being served. `sqlite` must be the connection `db` runs on, so the
 * statements run inside the batch's transaction.
 */
export function preparedBatchStatements(sqlite: SQLite.Database, db: Kysely<DB>): BatchStatements {
  const insertEvent = preparedRowStatement(sqlite, EVENT_COLUMNS, (row) => eventsInsert(db, [row]));
  const upserts = new Map<RollupTable, (row: RollupRow) => unknown>(
    ROLLUPS.map((spec) => [
      spec.table,
      preparedRowStatement(sqlite, ROLLUP_COLUMNS, (row) => rollupUpsert(db, spec, [row])),
    ]),
  );
  const insertPair = preparedRowStatement(sqlite, KEY_IP_COLUMNS, (row) => keyIpsInsert(db, [row]));
  return {
    async insertEvents(_tx, events) {
      // `changes` is 0 when ON CONFLICT DO NOTHING skipped a request id already recorded.
      const inserted = new Set<string>();
      for (const e of events) if (insertEvent(toRow(e)).changes === 1) inserted.add(e.requestId);
      return inserted;
    },
    async addRollups(_tx, deltas) {
      for (const [table, rows] of deltas) {
        const upsert = upserts.get(table)!;
        for (const row of rows) upsert(row);
      }
    },
    async addKeyIps(_tx, pairs) {
      for (const pair of pairs) insertPair(pair);
    },
  };
}
