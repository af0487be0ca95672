import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { randomBytes } from "node:crypto";
import SQLite from "better-sqlite3";
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import { createContext, type AppContext } from "../../src/app/context.js";
import { KeywardClient } from "../../src/client/client.js";
import { loadConfig, type ConfigInput } from "../../src/config/config.js";
import type { Clock } from "../../src/core/clock.js";
import { createLogger } from "../../src/log/logger.js";
import { migrationProvider } from "../../src/store/migrations.js";
import type { DB } from "../../src/store/schema.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import type { GatewayTracing } from "../../src/tracing/gateway-tracing.js";

/**
 * Test support: the store dialects the suite runs against. SQLite always; PostgreSQL when
 * KEYWARD_TEST_DATABASE_URL is set. In CI (CI=true) PostgreSQL is required: a missing URL
 * fails loudly instead of silently skipping.
 */
export function testDialects(): Array<"sqlite" | "postgres"> {
  const pgUrl = process.env.KEYWARD_TEST_DATABASE_URL;
  if (!pgUrl && process.env.CI === "true") {
    throw new Error("CI=true but KEYWARD_TEST_DATABASE_URL is not set: the PostgreSQL suite must run in CI");
  }
  return pgUrl ? ["sqlite", "postgres"] : ["sqlite"];
}

export interface TestStore {
  dialect: "sqlite" | "postgres";
  dataDir: string;
  databaseUrl?: string;
  pgSchema?: string;
  cleanup(): Promise<void>;
}

/** A fresh, empty store: a temp dir for SQLite, a new schema for PostgreSQL. */
export async function createTestStore(dialect: "sqlite" | "postgres"): Promise<TestStore> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "keyward-test-"));
  if (dialect === "sqlite") {
    return { dialect, dataDir, cleanup: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const databaseUrl = process.env.KEYWARD_TEST_DATABASE_URL!;
  const pgSchema = "kwt_" + randomBytes(6).toString("hex");
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`create schema ${pgSchema}`);
  await admin.end();
  return {
    dialect,
    dataDir,
    databaseUrl,
    pgSchema,
    cleanup: async () => {
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      await c.query(`drop schema if exists ${pgSchema} cascade`);
      await c.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A test store migrated only up to the migration before `migration`, as a deployment that has
 * not upgraded yet would be; the caller fills it, destroys the handle, and then opens the store
 * (which runs the rest of the migrations).
 */
export async function storeBefore(store: TestStore, migration: string): Promise<Kysely<DB>> {
  const names = Object.keys(await migrationProvider.getMigrations()).sort();
  const index = names.indexOf(migration);
  if (index < 1) throw new Error(`storeBefore: no migration before "${migration}"`);
  const db = new Kysely<DB>({
    dialect: store.databaseUrl
      ? new PostgresDialect({
          pool: new pg.Pool({
            connectionString: store.databaseUrl,
            options: `-c search_path=${store.pgSchema}`,
          }),
        })
      : new SqliteDialect({ database: new SQLite(path.join(store.dataDir, "keyward.db")) }),
  });
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    ...(store.pgSchema ? { migrationTableSchema: store.pgSchema } : {}),
  });
  const { error } = await migrator.migrateTo(names[index - 1]!);
  if (error) throw error;
  return db;
}

/** Collects log lines in memory so tests can inspect (and scan) everything logged. */
export class LogCapture extends Writable {
  lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    cb();
  }
  get text(): string {
    return this.lines.join("\n");
  }
}

export interface TestServer {
  ctx: AppContext;
  server: RunningServer;
  url: string;
  /** An owner admin key and a client using it. */
  ownerKey: string;
  client: KeywardClient;
  logs: LogCapture;
  store: TestStore;
  stop(): Promise<void>;
}

interface ServerOptions {
  config?: Partial<ConfigInput>;
  clock?: Clock;
  logLevel?: string;
  tracing?: GatewayTracing;
}

/** One keyward process's context and server on `store` (a replica when the store is shared). */
export async function startReplica(
  store: TestStore,
  options: ServerOptions = {},
): Promise<{ ctx: AppContext; server: RunningServer; logs: LogCapture }> {
  const config = loadConfig(
    {},
    {
      host: "127.0.0.1",
      port: 0,
      dataDir: store.dataDir,
      logLevel: (options.logLevel ?? "debug") as ConfigInput["logLevel"],
      ...(store.databaseUrl ? { databaseUrl: store.databaseUrl } : {}),
      ...options.config,
    },
  );
  const logs = new LogCapture();
  const logger = createLogger(config.logLevel, logs);
  const ctx = await createContext(config, logger, {
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.tracing ? { tracing: options.tracing } : {}),
    ...(store.pgSchema ? { pgSchema: store.pgSchema } : {}),
  });
  const server = await startServer(ctx);
  return { ctx, server, logs };
}

/** Starts the real server on a free port against a fresh store, with a bootstrapped owner key. */
export async function startTestServer(
  dialect: "sqlite" | "postgres",
  options: ServerOptions = {},
): Promise<TestServer> {
  const store = await createTestStore(dialect);
  const { ctx, server, logs } = await startReplica(store, options);
  const boot = await ctx.admins.bootstrap();
  if (!boot) throw new Error("fresh store already had admin keys");
  return {
    ctx,
    server,
    url: server.url,
    ownerKey: boot.key,
    client: new KeywardClient(server.url, boot.key),
    logs,
    store,
    async stop() {
      await server.close();
      await store.cleanup();
    },
  };
}

/**
 * The Redis the suite may use: KEYWARD_TEST_REDIS_URL. In CI it is required (a missing URL
 * fails loudly instead of silently skipping); elsewhere null skips the Redis tests.
 */
export function testRedisUrl(): string | null {
  const url = process.env.KEYWARD_TEST_REDIS_URL;
  if (!url && process.env.CI === "true") {
    throw new Error("CI=true but KEYWARD_TEST_REDIS_URL is not set: the Redis suite must run in CI");
  }
  return url ?? null;
}
