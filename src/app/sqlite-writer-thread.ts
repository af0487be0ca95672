import { parentPort, workerData } from "node:worker_threads";
import { lowerThreadPriority } from "../core/thread-priority.js";
import { writeLastUsed } from "../keys/last-used.js";
import { openBackgroundSqliteConnection } from "../store/database.js";
import { writeUsageBatch } from "../usage/batch-writer.js";
import { preparedBatchStatements } from "../usage/prepared-statements.js";
import type { UsageEvent } from "../usage/types.js";
import type { WriterRequest, WriterThreadData } from "./sqlite-writer.js";

/**
 * The SQLite writer thread: commits the gateway's background writes (usage batches, last-used
 * times) on its own connection, so neither the fsync of a commit (synchronous = FULL) nor a
 * wait for the write lock ever blocks the event loop that serves requests. Writes are applied
 * in the order they arrive.
 *
 * Once set up, it runs at the lowest CPU priority (nice 19), so it works in the time the
 * threads serving requests leave idle. A 50-event batch is 1–2 ms of CPU every flush interval
 * (SQLite's own inserts, five B-trees a row), and at normal priority the kernel shared a core
 * between it and the request path: on a 2-core machine at 1,000 req/s, 39–61% of the gateway's
 * slow requests (> 1.5 ms) fell in the 5 ms after a flush, and with it at nice 19 the share of
 * requests over 3 ms came down to that of a keyward that writes no usage at all (1.3%, from
 * 2.0–2.6%). The trade: with every core busy for long, batches wait in memory (`pending`) and a
 * crash would lose more of them; a graceful shutdown still writes them all.
 */
const WRITER_NICENESS = 19;

const settings = workerData as WriterThreadData;
const { sqlite, db } = openBackgroundSqliteConnection(settings.file);
const statements = preparedBatchStatements(sqlite, db);
// After the set-up (module loading, statements), which is not to be slowed down. Not when
// answers wait for these commits (durable usage): at nice 19 on a busy machine the thread got
// a core only in the gaps, and every answer, and the budget ledger's write-lock waits behind
// its open transaction, waited with it.
if (settings.background) lowerThreadPriority(WRITER_NICENESS);

async function apply(msg: WriterRequest): Promise<void> {
  switch (msg.op) {
    case "usage":
      return writeUsageBatch(db, JSON.parse(msg.batch) as UsageEvent[], statements);
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
