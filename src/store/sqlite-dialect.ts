import {
  CompiledQuery,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDialectConfig,
} from "kysely";

/**
 * Write transactions take SQLite's write lock up front (`BEGIN IMMEDIATE`). Two connections
 * write to the file (this one, and the usage writer's worker thread): a deferred transaction
 * that reads first and writes later would fail with SQLITE_BUSY when the other connection
 * committed in between, while `BEGIN IMMEDIATE` simply waits (busy_timeout) for the lock.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

export class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings);
  }
}
