import { parentPort, workerData } from "node:worker_threads";
import SQLite from "better-sqlite3";
import { Kysely } from "kysely";
import { withStatementCache } from "../store/database.js";
import { ImmediateSqliteDialect } from "../store/sqlite-dialect.js";
import type { DB } from "../store/schema.js";
import { writeUsageBatch } from "./batch-writer.js";
import type { UsageEvent } from "./types.js";

/**
 * Worker thread that commits usage batches to the SQLite file on its own connection, so the
 * fsync of each commit (synchronous = FULL) never blocks the gateway's event loop.
 */
const file = (workerData as { file: string }).file;
const sqlite = new SQLite(file);
sqlite.pragma("journal_mode = WAL");
sqlite.pragma("synchronous = FULL");
sqlite.pragma("busy_timeout = 5000");
const db = new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }) });

parentPort!.on("message", (msg: { id: number; batch: UsageEvent[] } | { id: number; close: true }) => {
  if ("close" in msg) {
    void db.destroy().then(() => parentPort!.postMessage({ id: msg.id, ok: true }));
    return;
  }
  writeUsageBatch(db, msg.batch).then(
    () => parentPort!.postMessage({ id: msg.id, ok: true }),
    (err: unknown) =>
      parentPort!.postMessage({
        id: msg.id,
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      }),
  );
});
