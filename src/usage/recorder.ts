import type { Kysely } from "kysely";
import type { DB, UsageEventsTable } from "../store/schema.js";
import type { UsageEvent } from "./types.js";

/** Rows per INSERT: 16 columns × 500 stays far below SQLite's and PostgreSQL's parameter limits. */
const ROWS_PER_INSERT = 500;

/**
 * Records usage events off the request path: `record()` only appends to memory; a timer writes
 * everything queued in one transaction every `flushMs`. Exactly once: request ids are the
 * primary key and a re-sent row is ignored. On a failed write the batch stays queued and is
 * retried. `close()` (graceful shutdown) writes everything left, so SIGTERM loses nothing; a
 * hard crash loses at most the events of the last `flushMs`.
 */
export class UsageRecorder {
  private queue: UsageEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  recorded = 0;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly flushMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  record(event: UsageEvent): void {
    this.queue.push(event);
  }

  /** Events accepted but not yet written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Writes what is queued; serialised, so batches never overlap. Never throws. */
  flush(): Promise<void> {
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  private async write(): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    try {
      await this.db.transaction().execute(async (tx) => {
        for (let i = 0; i < batch.length; i += ROWS_PER_INSERT) {
          await tx
            .insertInto("usage_events")
            .values(batch.slice(i, i + ROWS_PER_INSERT).map(toRow))
            .onConflict((oc) => oc.column("request_id").doNothing())
            .execute();
        }
      });
      this.recorded += batch.length;
    } catch (err) {
      this.queue = batch.concat(this.queue);
      this.onError(err);
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    // One retry if the last write failed; after that the loss is reported, not hidden.
    if (this.queue.length) await this.flush();
    if (this.queue.length)
      this.onError(new Error(`${this.queue.length} usage events could not be written at shutdown`));
  }
}

function toRow(e: UsageEvent): UsageEventsTable {
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
