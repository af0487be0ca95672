import { createHash } from "node:crypto";
import { sql } from "kysely";
import type { Logger } from "../log/logger.js";
import type { Database } from "../store/database.js";
import type { InvalidationChannel } from "./invalidation.js";
import { PostgresNotifyChannel } from "./postgres-notify.js";
import { openRedis } from "./redis.js";
import { RedisPubSubChannel } from "./redis-pubsub.js";

export interface ChannelOptions {
  databaseUrl: string | undefined;
  /** The PostgreSQL schema the store lives in (tests isolate themselves this way). */
  pgSchema: string | undefined;
  redisUrl: string | undefined;
}

/**
 * Chooses how replicas hear each other's changes: PostgreSQL `NOTIFY` when the store is
 * PostgreSQL, Redis pub/sub for processes sharing a SQLite file, nothing for one process.
 * The channel name is derived from the data set, so stores sharing a server never mix.
 */
export function invalidationChannel(
  store: Database,
  options: ChannelOptions,
  logger: Logger,
): InvalidationChannel | null {
  const dataSet = createHash("sha256")
    .update(`${store.location}\0${options.pgSchema ?? ""}`)
    .digest("hex")
    .slice(0, 16);
  if (store.dialect === "postgres" && options.databaseUrl) {
    return new PostgresNotifyChannel(
      options.databaseUrl,
      `keyward_invalidate_${dataSet}`,
      async (channel, message) => {
        await sql`select pg_notify(${channel}, ${message})`.execute(store.db);
      },
      logger,
    );
  }
  if (options.redisUrl) {
    return new RedisPubSubChannel(
      openRedis(options.redisUrl, "commands", logger),
      openRedis(options.redisUrl, "subscriber", logger),
      `keyward:invalidate:${dataSet}`,
    );
  }
  return null;
}
