import { parentPort, workerData } from "node:worker_threads";
import { writeLastUsed } from "../keys/last-used.js";
import { openSqliteConnection } from "../store/database.js";
import { writeUsageBatch } from "../usage/batch-writer.js";
import { preparedBatchStatements } from "../usage/prepared-statements.js";
import type { WriterRequest } from "./sqlite-writer.js";

/**
 * The SQLite writer thread: commits the gateway's background writes (usage batches, last-used
 * times) on its own connection, so neither the fsync of a commit (synchronous = FULL) nor a
 * wait for the write lock ever blocks the event loop that serves requests. Writes are applied
 * in the order they arrive.
 */
const { sqlite, db } = openSqliteConnection((workerData as { file: string }).file);
const statements = preparedBatchStatements(sqlite, db);

async function apply(msg: WriterRequest): Promise<void> {
  switch (msg.op) {
    case "usage":
      return writeUsageBatch(db, msg.batch, statements);
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
