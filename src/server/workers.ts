import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import type { Logger } from "../log/logger.js";

/** A worker that dies sooner than this after its start counts as a crash loop, not a one-off. */
const QUICK_DEATH_MS = 5_000;
/** Restart back-off: doubled per quick death, capped, so a broken config does not spin a core. */
const RESTART_DELAY_MS = 200;
const MAX_RESTART_DELAY_MS = 10_000;
/** How long SIGTERM waits for workers to drain (each has its own 30 s grace) before killing them. */
const STOP_TIMEOUT_MS = 40_000;

/** What a worker tells the primary once it listens. */
export interface ListeningMessage {
  type: "keyward:listening";
  url: string;
}

/**
 * Parses `--workers`: a whole number ≥ 1, or `auto` for one per core. Rejected before anything
 * starts, so a typo never runs a surprising number of processes.
 */
export function parseWorkers(value: string | undefined, cores = availableParallelism()): number {
  if (value === undefined) return 1;
  if (value === "auto") return cores;
  if (!/^[1-9]\d{0,2}$/.test(value))
    throw new Error(`invalid --workers "${value}": expected a whole number from 1 to 999, or auto`);
  return Number(value);
}

/**
 * Why N workers cannot run on this configuration, or null when they can. Every worker counts
 * rate limits, concurrency and budgets in its own memory unless they share Redis, so several
 * workers without it would silently multiply every limit.
 */
export function workersRefusal(workers: number, redisUrl: string | undefined): string | null {
  if (workers > 1 && !redisUrl)
    return (
      `--workers ${workers} needs KEYWARD_REDIS_URL: workers share rate limits, concurrency ` +
      `slots, budgets and cache invalidation through Redis (see docs/operations.md#workers)`
    );
  return null;
}

export interface Supervisor {
  /** Resolves with the shared URL once every worker listens. */
  ready: Promise<string>;
  /** SIGTERM to every worker; resolves when all have drained and exited. */
  stop(): Promise<void>;
}

/**
 * Runs `count` worker processes of this same command on one port (node:cluster shares the
 * listening socket) and keeps them running: a worker that dies is replaced, with a back-off when
 * it keeps dying young. Requests a dead worker had accepted are the only ones lost to a crash;
 * a worker that is told to stop drains like a single process does.
 */
export function superviseWorkers(count: number, logger: Logger): Supervisor {
  let stopping = false;
  let delay = RESTART_DELAY_MS;
  const startedAt = new Map<Worker, number>();
  const listening = new Set<Worker>();
  let resolveReady: (url: string) => void = () => {};
  const ready = new Promise<string>((resolve) => (resolveReady = resolve));

  const fork = (): void => {
    const worker = cluster.fork();
    startedAt.set(worker, Date.now());
    worker.on("message", (message: unknown) => {
      if (!isListening(message)) return;
      listening.add(worker);
      if (listening.size >= count) resolveReady(message.url);
    });
  };

  cluster.on("exit", (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker) ?? 0);
    startedAt.delete(worker);
    listening.delete(worker);
    if (stopping) return;
    logger.error({ pid: worker.process.pid, code, signal, lived_ms: lived }, "worker died; starting another");
    delay = lived < QUICK_DEATH_MS ? Math.min(delay * 2, MAX_RESTART_DELAY_MS) : RESTART_DELAY_MS;
    setTimeout(fork, delay).unref();
  });

  for (let i = 0; i < count; i++) fork();

  return {
    ready,
    async stop() {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              // Exited and disconnected: every message it sent (its last usage) has been read.
              const gone = () => worker.isDead() && !worker.isConnected();
              if (gone()) return resolve();
              const kill = setTimeout(() => worker.process.kill("SIGKILL"), STOP_TIMEOUT_MS);
              const check = () => {
                if (!gone()) return;
                clearTimeout(kill);
                resolve();
              };
              worker.on("exit", check);
              worker.on("disconnect", check);
              worker.process.kill("SIGTERM");
            }),
        ),
      );
    },
  };
}

/** Tells the primary (when there is one) that this worker listens. */
export function announceListening(url: string): void {
  if (!cluster.isWorker || !process.send) return;
  const message: ListeningMessage = { type: "keyward:listening", url };
  process.send(message);
}

function isListening(message: unknown): message is ListeningMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    (message as { type?: unknown }).type === "keyward:listening" &&
    typeof (message as { url?: unknown }).url === "string"
  );
}
