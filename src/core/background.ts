/**
 * The two pieces every background loop in keyward needs (usage and alert writers, the audit
 * tailer, the sweeps, the webhook dispatcher, last-used batching, upstream reloads).
 */

/**
 * Runs tasks one at a time, in the order they were queued, so batches never overlap. A task
 * that fails does not stop the ones after it; its caller still sees the failure.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every task queued so far has settled. */
  async idle(): Promise<void> {
    await this.tail;
  }
}

/** A timer that never keeps the process alive. Returns the function that stops it. */
export function every(intervalMs: number, fn: () => void): () => void {
  const timer = setInterval(fn, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
