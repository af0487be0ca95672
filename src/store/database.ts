import { mkdirSync } from "node:fs";
import path from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, Migrator, PostgresDialect, sql } from "kysely";
import type { Transaction } from "kysely";
import pg from "pg";
import { migrationProvider } from "./migrations.js";
import { ImmediateSqliteDialect } from "./sqlite-dialect.js";
import type { DB } from "./schema.js";

export type Dialect = "sqlite" | "postgres";

/** A query runner: the database itself or an open transaction. */
export type Executor = Kysely<DB> | Transaction<DB>;

/** The store handle every service receives: one query layer for both dialects. */
export interface Database {
  readonly db: Kysely<DB>;
  readonly dialect: Dialect;
  /** Where the data lives, for messages (path or URL without credentials). */
  readonly location: string;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** `postgres://…` selects PostgreSQL; otherwise SQLite in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  /** PostgreSQL schema to use (tests isolate themselves this way). */
  pgSchema?: string;
  pgPoolSize?: number;
}

const INT8_OID = 20;

/** Opens the store and runs pending migrations. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const database = options.databaseUrl ? openPostgres(options) : openSqlite(options.dataDir);
  await migrate(database);
  return database;
}

function openSqlite(dataDir: string): Database {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, "keyward.db");
  const { db } = openSqliteConnection(file);
  return { db, dialect: "sqlite", location: file, close: () => db.destroy() };
}

/**
 * One connection to the SQLite file, set up the same way wherever it is opened (the app, the
 * writer thread): the raw better-sqlite3 handle and the Kysely instance running on it.
 */
export function openSqliteConnection(file: string): { sqlite: SQLite.Database; db: Kysely<DB> } {
  const sqlite = new SQLite(file);
  // WAL lets readers run beside the writer; FULL sync makes a committed key or audit entry
  // survive power loss, not just a process crash. busy_timeout lets the writer thread and a CLI
  // process share the file.
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const db = new Kysely<DB>({
    dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }),
  });
  return { sqlite, db };
}

/**
 * A connection for background commits (usage batches, last-used times, the budget ledger):
 * the same set-up without an fsync per commit (WAL, synchronous = NORMAL). A commit is then
 * durable across a crash of any process (kill -9 included), which metering before an answer
 * ends needs; power loss can drop the last few ms, as a batching window always could. An fsync
 * per commit cost tens of ms on this machine's disk, and answers or the event loop would wait.
 */
export function openBackgroundSqliteConnection(file: string): { sqlite: SQLite.Database; db: Kysely<DB> } {
  const connection = openSqliteConnection(file);
  connection.sqlite.pragma("synchronous = NORMAL");
  return connection;
}

function openPostgres(options: DatabaseOptions): Database {
  const url = options.databaseUrl!;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.pgPoolSize ?? 10,
    ...(options.pgSchema ? { options: `-c search_path=${options.pgSchema}` } : {}),
    // bigint columns hold epoch milliseconds, well inside Number's exact range.
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8_OID
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: "postgres", location: redactUrl(url), close: () => db.destroy() };
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every query anew; preparing is a large share of a cheap lookup, and each
 * dropped statement leaves native memory for the GC (long pauses under load). Reusing prepared
 * statements by SQL text is safe here: better-sqlite3 is synchronous and Kysely never iterates
 * two result sets of one statement at once. Bounded: the oldest statement goes first.
 */
function withStatementCache(sqlite: SQLite.Database): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  const prepare = (source: string): SQLite.Statement => {
    let stmt = cache.get(source);
    if (!stmt) {
      stmt = sqlite.prepare(source);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      cache.set(source, stmt);
    }
    return stmt;
  };
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop === "prepare") return prepare;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function migrate(database: Database): Promise<void> {
  const db = database.db;
  // Kysely looks for its bookkeeping tables in every schema unless told which one; another
  // schema's copy (another app, or a parallel test) would make it skip creating ours.
  const schema =
    database.dialect === "postgres"
      ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s
      : undefined;
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(
      `database migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** A connection URL with any password removed, safe for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable database URL)";
  }
}

/** True when `err` is a unique/primary-key violation in either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/**
 * True when `err` means the store cannot be reached or cannot take the write right now
 * (connection refused/lost, server shutting down, SQLite busy or out of disk): a 503 for the
 * client, never a 500, and never "allowed".
 */
export function isStoreUnavailable(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const code = String((err as { code?: unknown }).code ?? "");
  if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN)$/.test(code)) return true;
  if (/^(08|57P|53)/.test(code)) return true; // PostgreSQL: connection exception, shutdown, resources
  if (/^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY)/.test(code)) return true;
  const message = (err as { message?: unknown }).message;
  return (
    typeof message === "string" && /driver has already been destroyed|Connection terminated/i.test(message)
  );
}
