import { AdminService } from "../admins/service.js";
import type { Config } from "../config/config.js";
import { systemClock, type Clock } from "../core/clock.js";
import { createSecretHasher } from "../core/hashing.js";
import { IdempotencyStore } from "../idempotency/idempotency.js";
import { KeyCache } from "../keys/cache.js";
import { LastUsedTracker } from "../keys/last-used.js";
import { KeyService } from "../keys/service.js";
import { KeyVerifier } from "../keys/verify.js";
import type { Logger } from "../log/logger.js";
import { ProjectService } from "../projects/service.js";
import { openDatabase, type Database } from "../store/database.js";

/** Everything a request handler may use, built once at start-up and passed in. */
export interface AppContext {
  config: Config;
  clock: Clock;
  logger: Logger;
  store: Database;
  keyCache: KeyCache;
  lastUsed: LastUsedTracker;
  admins: AdminService;
  projects: ProjectService;
  keys: KeyService;
  verifier: KeyVerifier;
  idempotency: IdempotencyStore;
  /** Flushes buffered writes and closes the store. */
  close(): Promise<void>;
}

export interface ContextOverrides {
  clock?: Clock;
  /** PostgreSQL schema (tests run each suite in its own). */
  pgSchema?: string;
}

/** Wires the application from its configuration. The only place dependencies are chosen. */
export async function createContext(
  config: Config,
  logger: Logger,
  overrides: ContextOverrides = {},
): Promise<AppContext> {
  const clock = overrides.clock ?? systemClock;
  const store = await openDatabase({
    dataDir: config.dataDir,
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    ...(overrides.pgSchema ? { pgSchema: overrides.pgSchema } : {}),
  });
  const hasher = createSecretHasher(config.keyPepper);
  const keyCache = new KeyCache(config.keyCacheMaxEntries, config.keyCacheTtlMs, config.negativeCacheTtlMs);
  const lastUsed = new LastUsedTracker(store.db, config.lastUsedFlushMs, (err) =>
    logger.warn({ err: errorSummary(err) }, "could not record last-used times; will retry"),
  );
  lastUsed.start();
  const idempotency = new IdempotencyStore(store, clock);
  // Stored idempotent responses are replayable for 24 h; sweep older ones hourly.
  const prune = () =>
    idempotency
      .prune()
      .catch((err: unknown) => logger.warn({ err: errorSummary(err) }, "idempotency sweep failed"));
  void prune();
  const pruneTimer = setInterval(prune, 60 * 60 * 1000);
  pruneTimer.unref();
  const ctx: AppContext = {
    config,
    clock,
    logger,
    store,
    keyCache,
    lastUsed,
    idempotency,
    admins: new AdminService(store, clock, hasher, config.brand, lastUsed, config.adminCacheTtlMs),
    projects: new ProjectService(store, clock),
    keys: new KeyService(store, clock, hasher, keyCache, idempotency, {
      brand: config.brand,
      allowDelete: config.allowKeyDelete,
    }),
    verifier: new KeyVerifier(store, keyCache, hasher, clock, config.brand, lastUsed),
    async close() {
      clearInterval(pruneTimer);
      await lastUsed.close();
      await store.close();
    },
  };
  return ctx;
}

/** A log-safe description of an error: its class and message only, never a stack of values. */
export function errorSummary(err: unknown): { type: string; message: string } {
  if (err instanceof Error) return { type: err.name, message: err.message };
  return { type: typeof err, message: String(err) };
}
