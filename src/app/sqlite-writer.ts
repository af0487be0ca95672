import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { LastUsedWriter } from "../keys/last-used.js";
import type { UsageBatchWriter } from "../usage/batch-writer.js";
import type { UsageEvent } from "../usage/types.js";

/** A write handed to the writer thread (see sqlite-writer-thread.ts). */
export type WriterRequest =
  /** The batch as JSON text (see `write`). */
  | { id: number; op: "usage"; batch: string }
  | { id: number; op: "last-used"; keys: ReadonlyMap<string, number>; admins: ReadonlyMap<string, number> }
  | { id: number; op: "close" };

/** What the writer thread is started with. */
export interface WriterThreadData {
  file: string;
  /** Lower the thread's CPU priority once it is set up. */
  background: boolean;
}

/** A request before it is numbered (Omit applied to each member of the union). */
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
type Payload = WithoutId<WriterRequest>;

/**
 * Hands the gateway's background SQLite writes — usage batches and last-used times — to one
 * writer thread. better-sqlite3 is synchronous: committing in the main thread would stall every
 * in-flight request for the length of an fsync, or of a wait for the write lock while another
 * connection commits. Writes are applied one at a time, in order.
 */
export class SqliteWriterThread implements UsageBatchWriter, LastUsedWriter {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 1;

  /**
   * @param options.background Run the thread at the lowest CPU priority (the default): right
   *   when nothing waits for its commits, wrong when answers do (durable usage) — then a busy
   *   machine would starve the very thread the requests wait for.
   */
  constructor(file: string, options: { background?: boolean } = {}) {
    const workerData: WriterThreadData = { file, background: options.background ?? true };
    const js = new URL("./sqlite-writer-thread.js", import.meta.url);
    if (existsSync(fileURLToPath(js))) {
      this.worker = new Worker(js, { workerData });
    } else {
      // Running from the TypeScript sources (tests, tsx): register tsx in the thread, then load.
      const ts = new URL("./sqlite-writer-thread.ts", import.meta.url).href;
      const boot = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(ts)}); })`;
      this.worker = new Worker(boot, { eval: true, workerData });
    }
    this.worker.unref();
    this.worker.on("message", (m: { id: number; ok: boolean; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve();
      else w.reject(new Error(`background write failed: ${m.error ?? "unknown"}`));
    });
    this.worker.on("error", (err) => this.failAll(err));
    this.worker.on("exit", (code) => this.failAll(new Error(`SQLite writer thread exited (${code})`)));
  }

  /**
   * Sends the batch as one JSON string: the structured clone of 50 event objects blocked the
   * event loop for about 0.33 ms at every flush, JSON text for half that (the parsing happens
   * in the writer thread). Usage events hold only strings, numbers, booleans and null.
   */
  write(batch: UsageEvent[]): Promise<void> {
    return this.send({ op: "usage", batch: JSON.stringify(batch) });
  }

  writeLastUsed(keys: ReadonlyMap<string, number>, admins: ReadonlyMap<string, number>): Promise<void> {
    return this.send({ op: "last-used", keys, admins });
  }

  async close(): Promise<void> {
    await this.send({ op: "close" });
    await this.worker.terminate();
  }

  private send(payload: Payload): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...payload });
    });
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
