import { createHash, randomUUID } from "node:crypto";
import type { AlertSink } from "../alerts/types.js";
import { openRedis } from "../cluster/redis.js";
import type { Clock } from "../core/clock.js";
import { every } from "../core/background.js";
import { errorSummary, type Logger } from "../log/logger.js";
import { openBackgroundSqliteConnection, type Database } from "../store/database.js";
import type { AdmissionControl } from "./admission.js";
import { BudgetLedger } from "./ledger.js";
import { Limiter, type SpendLoader } from "./limiter.js";
import { RedisRates } from "./redis-rates.js";
import { SharedAdmission, type LimitsHealth, type RedisDownPolicy } from "./shared-admission.js";

export interface LimitsSettings {
  redisUrl: string | undefined;
  leaseMs: number;
  redisDown: RedisDownPolicy;
  /** The PostgreSQL schema the store lives in (it namespaces the Redis keys, like the store). */
  pgSchema: string | undefined;
}

/** The admission control chosen for this deployment, what it says about itself, and its stop. */
export interface LimitsRuntime {
  control: AdmissionControl;
  health(): LimitsHealth;
  close(): Promise<void>;
}

/**
 * How often each process writes the budget costs it settled back to the store (and gives back
 * spare room it did not use): how stale another replica's view of the spend and the budget
 * alerts can be, and at most how long a request can be refused for room that an idle replica
 * still holds.
 */
const BUDGET_FLUSH_MS = 250;

const SINGLE_PROCESS: LimitsHealth = {
  shared: 0,
  rate_limits: "per process",
  budgets: "process",
  degraded: false,
};

/**
 * Chooses how limits are counted, once, from the deployment:
 * - SQLite without Redis (one process): everything in process memory, as fast as it gets;
 * - otherwise (PostgreSQL, or processes sharing a SQLite file through Redis): budgets in the
 *   store, rate limits in Redis when configured (else per replica, said at start-up by the
 *   heartbeat), with leases renewed every third of `leaseMs` and dead holders' budget holds
 *   swept every half.
 */
export function setupLimits(
  store: Database,
  settings: LimitsSettings,
  loadSpend: SpendLoader,
  alerts: AlertSink,
  clock: Clock,
  logger: Logger,
): LimitsRuntime {
  const local = new Limiter(loadSpend, alerts);
  if (store.dialect === "sqlite" && !settings.redisUrl)
    return { control: local, health: () => SINGLE_PROCESS, close: async () => {} };

  const dataSet = createHash("sha256")
    .update(`${store.location}\0${settings.pgSchema ?? ""}`)
    .digest("hex")
    .slice(0, 16);
  const connection = settings.redisUrl ? openRedis(settings.redisUrl, "limits", logger) : null;
  connection?.connect().catch(() => undefined); // ioredis keeps reconnecting by itself
  const redis = connection
    ? new RedisRates(connection, `keyward:limits:${dataSet}:`, settings.leaseMs)
    : null;
  // On SQLite the ledger commits on a connection of its own without an fsync: a disk flush per
  // batch would stall the event loop. Power loss can drop the last few ms of ledger commits;
  // the processes holding them die with it.
  const ledgerConnection = store.dialect === "sqlite" ? openBackgroundSqliteConnection(store.location) : null;
  const ledger = new BudgetLedger(
    ledgerConnection?.db ?? store.db,
    loadSpend,
    randomUUID(),
    settings.leaseMs,
    alerts,
  );
  const shared = new SharedAdmission({ redis, local, redisDown: settings.redisDown, ledger, alerts, logger });
  const stopRenewing = every(Math.floor(settings.leaseMs / 3), () => void shared.renew(clock.now()));
  const stopSweeping = every(Math.floor(settings.leaseMs / 2), () => {
    ledger
      .sweep(clock.now())
      .then((n) => {
        if (n) logger.info({ released: n }, "released budget holds whose lease had passed");
      })
      .catch((err: unknown) =>
        logger.warn({ err: errorSummary(err) }, "budget hold sweep failed; will retry"),
      );
  });
  const stopFlushing = every(BUDGET_FLUSH_MS, () => {
    ledger
      .flush(clock.now())
      .catch((err: unknown) =>
        logger.warn({ err: errorSummary(err) }, "could not write budget spend back; will retry"),
      );
  });
  return {
    control: shared,
    health: () => shared.health(),
    async close() {
      stopRenewing();
      stopSweeping();
      stopFlushing();
      await shared.idle();
      // Room this process was granted and will not use goes back to the other replicas.
      await redis?.close().catch(() => undefined);
      await ledger
        .close(clock.now())
        .catch((err: unknown) =>
          logger.warn(
            { err: errorSummary(err) },
            "could not give budget holds back; they expire with their lease",
          ),
        );
      connection?.disconnect();
      await ledgerConnection?.db.destroy();
    },
  };
}
