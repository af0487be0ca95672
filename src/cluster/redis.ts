import { Redis } from "ioredis";
import { errorSummary, type Logger } from "../log/logger.js";

/** What a Redis connection is for; it names the connection in Redis (`CLIENT LIST`) and in logs. */
export type RedisRole = "commands" | "subscriber" | "limits";

/**
 * Opens one Redis connection for keyward's shared state (limits, budgets, cache invalidation).
 *
 * Commands fail fast instead of queueing while Redis is unreachable: a limit or budget check
 * that cannot reach Redis must be answered by the caller's documented fallback at once, never
 * held for seconds (principle 2: fail closed, clearly). Reconnects are automatic and bounded
 * in back-off; every state change is logged once, without the URL (it may hold a password).
 */
export function openRedis(url: string, role: RedisRole, logger: Logger): Redis {
  const redis = new Redis(url, {
    connectionName: `keyward:${role}`,
    lazyConnect: true,
    enableOfflineQueue: role === "subscriber",
    // Limit checks of concurrent requests leave in one write per event-loop tick instead of a
    // socket write each (that write was 13% of the CPU of a Redis-limited gateway).
    enableAutoPipelining: role === "limits",
    maxRetriesPerRequest: role === "subscriber" ? null : 1,
    connectTimeout: 2_000,
    commandTimeout: role === "subscriber" ? undefined : 1_000,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
  });
  let up = false;
  redis.on("ready", () => {
    if (!up) logger.info({ redis: role }, "redis connected");
    up = true;
  });
  redis.on("error", (err: unknown) => {
    if (up) logger.warn({ redis: role, err: errorSummary(err) }, "redis connection lost; reconnecting");
    up = false;
  });
  return redis;
}
