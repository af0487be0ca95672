import { parentPort, workerData } from "node:worker_threads";
import SQLite from "better-sqlite3";
import { Kysely } from "kysely";
import { writeLastUsed } from "../keys/last-used.js";
import { withStatementCache } from "../store/database.js";
import { ImmediateSqliteDialect } from "../store/sqlite-dialect.js";
import type { DB } from "../store/schema.js";
import { toRow, writeUsageBatch, type EventInserter } from "../usage/batch-writer.js";
import type { WriterRequest } from "./sqlite-writer.js";

/**
 * The SQLite writer thread: commits the gateway's background writes (usage batches, last-used
 * times) on its own connection, so neither the fsync of a commit (synchronous = FULL) nor a
 * wait for the write lock ever blocks the event loop that serves requests. Writes are applied
 * in the order they arrive.
 */
const file = (workerData as { file: string }).file;
const sqlite = new SQLite(file);
sqlite.pragma("journal_mode = WAL");
sqlite.pragma("synchronous = FULL");
sqlite.pragma("busy_timeout = 5000");
// The raw insert is one prepared statement run per event: building a 500-row multi-VALUES
// query through Kysely cost more CPU than the insert itself. `changes` tells whether the row was
// new (ON CONFLICT DO NOTHING leaves 0), which is what the rollups must count.
const insert = sqlite.prepare(
  `insert into usage_events (request_id, ts, key_id, project_id, method, endpoint, model, status, streamed,
     prompt_tokens, completion_tokens, cached_tokens, cost_micros, latency_ms, client_ip, upstream_id)
   values (@request_id, @ts, @key_id, @project_id, @method, @endpoint, @model, @status, @streamed,
     @prompt_tokens, @completion_tokens, @cached_tokens, @cost_micros, @latency_ms, @client_ip, @upstream_id)
   on conflict (request_id) do nothing`,
);
const preparedInserter: EventInserter = async (_tx, events) => {
  const inserted = new Set<string>();
  for (const e of events) if (insert.run(toRow(e)).changes === 1) inserted.add(e.requestId);
  return inserted;
};

const db = new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }) });

async function apply(msg: WriterRequest): Promise<void> {
  switch (msg.op) {
    case "usage":
      return writeUsageBatch(db, msg.batch, preparedInserter);
    case "last-used":
      return writeLastUsed(db, msg.keys, msg.admins);
    case "close":
      return db.destroy();
  }
}

parentPort!.on("message", (msg: WriterRequest) => {
  apply(msg).then(
    () => parentPort!.postMessage({ id: msg.id, ok: true }),
    (err: unknown) =>
      parentPort!.postMessage({
        id: msg.id,
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      }),
  );
});
