import type { Config } from "../config/config.js";
import type { UsageBatchWriter } from "../usage/batch-writer.js";
import type { UsageEvent } from "../usage/types.js";

/** A batch of usage events a worker hands to the primary. */
export interface UsageHandoffMessage {
  type: "keyward:usage";
  events: UsageEvent[];
}

/** `process.send` of a worker: `done` runs once the IPC socket took the message, or failed to. */
export type SendToPrimary = (message: UsageHandoffMessage, done: (err: Error | null) => void) => void;

/**
 * Whether `--workers N` hands usage to the primary instead of each worker committing its own:
 * on SQLite (the workers share one file, so their commits would queue for its one write lock,
 * each a small batch), unless `usage.durable = on` asks every answer to wait for a commit.
 */
export function usageHandoff(config: Pick<Config, "databaseUrl" | "usageDurable">): boolean {
  return config.databaseUrl === undefined && config.usageDurable !== "on";
}

/**
 * A worker's usage writer under `usageHandoff`: each batch goes to the primary, which writes the
 * events of every worker together. A batch counts as written once the IPC socket has taken it:
 * it then sits in the primary's receive queue, which the worker cannot take back even when it is
 * killed with SIGKILL the next instant, so an answer that waited for it is metered. A failed send
 * (the primary is gone) rejects and the recorder keeps the batch for the next try.
 */
export class PrimaryUsageWriter implements UsageBatchWriter {
  constructor(private readonly send: SendToPrimary) {}

  write(batch: UsageEvent[]): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        this.send({ type: "keyward:usage", events: batch }, (err) => (err ? reject(err) : resolve()));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
}

/**
 * The primary's side: the events of a worker's message, or null for any other message. Workers
 * are this same program, so only the envelope is checked; the events are what their recorders
 * queued (strings, numbers, booleans and null, as JSON carries them).
 */
export function handedUsage(message: unknown): UsageEvent[] | null {
  if (typeof message !== "object" || message === null) return null;
  const m = message as Partial<UsageHandoffMessage>;
  return m.type === "keyward:usage" && Array.isArray(m.events) ? m.events : null;
}

/** `process.send` as a `SendToPrimary` (only in a worker: `process.send` exists there). */
export function sendToPrimary(): SendToPrimary {
  if (!process.send) throw new Error("not a worker: there is no primary to hand usage to");
  return (message, done) => {
    process.send!(message, undefined, undefined, (err: Error | null) => done(err ?? null));
  };
}
