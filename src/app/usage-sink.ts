import { errorSummary, type Logger } from "../log/logger.js";
import { handedUsage } from "../server/usage-handoff.js";
import { UsageRecorder } from "../usage/recorder.js";
import { SqliteWriterThread } from "./sqlite-writer.js";

/** The primary's end of the usage hand-off (see src/server/usage-handoff.ts). */
export interface UsageSink {
  /** Takes a worker's message; anything but a usage batch is ignored. */
  receive(message: unknown): void;
  /** Writes everything received (call once every worker has exited and disconnected). */
  close(): Promise<void>;
}

/**
 * One writer for the usage of every worker of `--workers N` on SQLite: the events the workers
 * hand over are queued in memory and committed every `flushMs` in one transaction by one writer
 * thread, so the workers never queue for the file's write lock and a batch holds the events of
 * all of them. What the primary holds is lost only with the primary itself (like the batching
 * window of a single embedded process); a worker's death loses nothing it handed over.
 */
export function startUsageSink(file: string, flushMs: number, logger: Logger): UsageSink {
  // Not at the lowest priority: nothing else runs in the primary, and a starved writer would
  // let the queue grow for as long as the workers keep the cores busy.
  const writer = new SqliteWriterThread(file, { background: false });
  const recorder = new UsageRecorder(writer, flushMs, (err) =>
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
      await writer.close();
    },
  };
}
