import type { Kysely, Transaction } from "kysely";
import type { DB } from "../store/schema.js";

interface Queued<In, Out> {
  input: In;
  resolve(out: Out): void;
  reject(err: unknown): void;
}

/**
 * Runs the operations that arrive while one transaction is being written together in the next
 * (group commit): each operation still runs its own statements, in arrival order, inside one
 * transaction, so its guarded updates see the effect of every operation before it exactly as
 * if each had its own transaction — but the store sees one BEGIN/COMMIT (and on SQLite one
 * write lock) per batch instead of per request. A failed transaction fails every operation of
 * its batch (nothing of it was written); the callers' own error handling applies.
 */
export class BatchedTransactions<In, Out> {
  private queue: Array<Queued<In, Out>> = [];
  private running = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly apply: (trx: Transaction<DB>, input: In) => Promise<Out>,
    private readonly maxBatch = 256,
  ) {}

  run(input: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const results = await this.db.transaction().execute(async (trx) => {
          const out: Out[] = [];
          for (const q of batch) out.push(await this.apply(trx, q.input));
          return out;
        });
        batch.forEach((q, i) => q.resolve(results[i]!));
      } catch (err) {
        for (const q of batch) q.reject(err);
      }
    }
    this.running = false;
  }
}
