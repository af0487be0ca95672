import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { UsageBatchWriter } from "./batch-writer.js";
import type { UsageEvent } from "./types.js";

/**
 * Hands SQLite usage batches to a worker thread (see sqlite-writer-worker.ts). better-sqlite3
 * is synchronous: committing in the main thread would stall every in-flight request for the
 * length of an fsync. Batches are written one at a time, in order.
 */
export class SqliteWorkerBatchWriter implements UsageBatchWriter {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 1;

  constructor(file: string) {
    const js = new URL("./sqlite-writer-worker.js", import.meta.url);
    if (existsSync(fileURLToPath(js))) {
      this.worker = new Worker(js, { workerData: { file } });
    } else {
      // Running from the TypeScript sources (tests, tsx): register tsx in the thread, then load.
      const ts = new URL("./sqlite-writer-worker.ts", import.meta.url).href;
      const boot = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(ts)}); })`;
      this.worker = new Worker(boot, { eval: true, workerData: { file } });
    }
    this.worker.unref();
    this.worker.on("message", (m: { id: number; ok: boolean; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve();
      else w.reject(new Error(`usage write failed: ${m.error ?? "unknown"}`));
    });
    this.worker.on("error", (err) => this.failAll(err));
    this.worker.on("exit", (code) => this.failAll(new Error(`usage writer thread exited (${code})`)));
  }

  write(batch: UsageEvent[]): Promise<void> {
    return this.send({ batch });
  }

  async close(): Promise<void> {
    await this.send({ close: true });
    await this.worker.terminate();
  }

  private send(payload: { batch: UsageEvent[] } | { close: true }): Promise<void> {
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
