import { errorSummary, type Logger } from "../log/logger.js";
import { handedUsage } from "../server/usage-handoff.js";
import { openBackgroundSqliteConnection } from "../store/database.js";
import { writeUsageBatch } from "../usage/batch-writer.js";
import { preparedBatchStatements } from "../usage/prepared-statements.js";
import { UsageRecorder } from "../usage/recorder.js";

/** The primary's end of the usage hand-off (see src/server/usage-handoff.ts). */
export interface UsageSink {
  /** Takes a worker's message; anything but a usage batch is ignored. */
  receive(message: unknown): void;
  /** Writes everything received (call once every worker has exited and disconnected). */
  close(): Promise<void>;
}

/**
 * One writer for the usage of every worker of `--workers N` on SQLite: the events the workers
 * hand over are queued in memory and committed every `flushMs` in one transaction, so the
 * workers never queue for the file's write lock and a batch holds the events of all of them.
 * What the primary holds is lost only with the primary itself (like the batching window of a
 * single embedded process); a worker's death loses nothing it handed over.
 *
 * The commits run on the primary's own thread: it has nothing else to do, and a writer thread
 * cost a second copy of every batch (to the thread and back into objects) for no gain. While a
 * commit runs, the workers' messages wait in the socket's buffer, and their sends complete.
 */
export function startUsageSink(file: string, flushMs: number, logger: Logger): UsageSink {
  const { sqlite, db } = openBackgroundSqliteConnection(file);
  const statements = preparedBatchStatements(sqlite, db);
  const recorder = new UsageRecorder(
    { write: (batch) => writeUsageBatch(db, batch, statements) },
    flushMs,
    (err) =>
      logger.error({ err: errorSummary(err) }, "could not write usage events; keeping them queued for retry"),
  );
  recorder.start();
  return {
    receive(message) {
      const events = handedUsage(message);
      if (events) for (const e of events) recorder.record(e);
    },
    async close() {
      await recorder.close();
      await db.destroy();
    },
  };
}
