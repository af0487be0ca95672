import type { Kysely } from "kysely";
import { SerialQueue, every } from "../core/background.js";
import type { DB } from "../store/schema.js";

/** Where the tracker's batches go: one transaction per batch, or an error (kept for retry). */
export interface LastUsedWriter {
  writeLastUsed(keys: ReadonlyMap<string, number>, admins: ReadonlyMap<string, number>): Promise<void>;
}

/** Writes last-used batches on the caller's own connection (PostgreSQL, tests). */
export function storeLastUsedWriter(db: Kysely<DB>): LastUsedWriter {
  return { writeLastUsed: (keys, admins) => writeLastUsed(db, keys, admins) };
}

/** Writes one batch of last-used times in one transaction. */
export async function writeLastUsed(
  db: Kysely<DB>,
  keys: ReadonlyMap<string, number>,
  admins: ReadonlyMap<string, number>,
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    // Monotonic: an older touch written late never moves last_used_at backwards.
    for (const [id, at] of keys) {
      await tx
        .updateTable("api_keys")
        .set({ last_used_at: at })
        .where("id", "=", id)
        .where((eb) => eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<", at)]))
        .execute();
    }
    for (const [id, at] of admins) {
      await tx
        .updateTable("admin_keys")
        .set({ last_used_at: at })
        .where("id", "=", id)
        .where((eb) => eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<", at)]))
        .execute();
    }
  });
}

/**
 * Records "last used" times in memory and writes them in one batched transaction every few
 * seconds, so a verify or gateway request never waits on a store write (principle 6).
 * At most one flush interval of last-used precision is lost on a crash; `close()` flushes.
 */
export class LastUsedTracker {
  private keys = new Map<string, number>();
  private admins = new Map<string, number>();
  private stopTimer: (() => void) | undefined;
  private readonly writes = new SerialQueue();

  constructor(
    private readonly writer: LastUsedWriter,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.stopTimer = every(this.intervalMs, () => void this.flush());
  }

  touchKey(id: string, at: number): void {
    this.keys.set(id, at);
  }

  touchAdmin(id: string, at: number): void {
    this.admins.set(id, at);
  }

  /** Writes what has been touched since the last flush. Never throws; errors go to `onError`. */
  flush(): Promise<void> {
    return this.writes.run(() => this.write());
  }

  private async write(): Promise<void> {
    if (this.keys.size === 0 && this.admins.size === 0) return;
    const keys = this.keys;
    const admins = this.admins;
    this.keys = new Map();
    this.admins = new Map();
    try {
      await this.writer.writeLastUsed(keys, admins);
    } catch (err) {
      // Put them back so the next flush retries; newer touches win.
      for (const [id, at] of keys) if (!this.keys.has(id)) this.keys.set(id, at);
      for (const [id, at] of admins) if (!this.admins.has(id)) this.admins.set(id, at);
      this.onError(err);
    }
  }

  async close(): Promise<void> {
    this.stopTimer?.();
    await this.flush();
  }
}
