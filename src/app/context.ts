import { AdminService } from "../admins/service.js";
import { usageIsDurable, type Config } from "../config/config.js";
import { every } from "../core/background.js";
import { systemClock, type Clock } from "../core/clock.js";
import { createSecretHasher } from "../core/hashing.js";
import { loadMasterKeys, type MasterKeys } from "../crypto/master-key.js";
import { SecretBox } from "../crypto/secret-box.js";
import { IdempotencyStore } from "../idempotency/idempotency.js";
import { KeyCache } from "../keys/cache.js";
import { CacheInvalidation } from "../cluster/invalidation.js";
import { invalidationChannel } from "../cluster/channel.js";
import { CanaryTripwire } from "../keys/canary.js";
import { LastUsedTracker, storeLastUsedWriter } from "../keys/last-used.js";
import { KeyService } from "../keys/service.js";
import { KeyVerifier } from "../keys/verify.js";
import { loadGithubPublicKeys, type GithubPublicKeys } from "../leaks/github.js";
import { LeakService } from "../leaks/service.js";
import { errorSummary, type Logger } from "../log/logger.js";
import { Alerting } from "../alerts/alerting.js";
import { DEFAULT_ANOMALY_SETTINGS } from "../alerts/anomaly.js";
import type { AlertSink } from "../alerts/types.js";
import { UpstreamClient } from "../gateway/upstream-client.js";
import type { GatewayTracing } from "../tracing/gateway-tracing.js";
import { startTracing } from "../tracing/setup.js";
import { DiscoveredIssuerKeys, type IssuerKeys } from "../oidc/issuer-keys.js";
import { TrustService } from "../oidc/service.js";
import type { AdmissionControl } from "../limits/admission.js";
import { setupLimits } from "../limits/setup.js";
import type { LimitsHealth } from "../limits/shared-admission.js";
import { storeSpendLoader } from "../limits/spend.js";
import { createGatewayMetrics, type GatewayMetrics } from "../metrics/gateway-metrics.js";
import { ProjectService } from "../projects/service.js";
import { PriceTable } from "../usage/pricing.js";
import { directBatchWriter, type UsageBatchWriter } from "../usage/batch-writer.js";
import { UsageRecorder } from "../usage/recorder.js";
import { SqliteWriterThread } from "./sqlite-writer.js";
import { openDatabase, type Database } from "../store/database.js";
import { CachedUpstreamDirectory, configuredDefaultUpstream } from "../upstreams/directory.js";
import { UpstreamService } from "../upstreams/service.js";
import { DestinationService } from "../destinations/service.js";
import { SecretPusher } from "../destinations/pusher.js";
import { SECRET_WRITERS } from "../destinations/writers.js";
import { reencryptDestinations } from "../destinations/rekey.js";
import { InvitationService } from "../people/invitations.js";
import { PublicUrl } from "../people/links.js";
import { argon2idHasher } from "../people/passwords.js";
import { SessionService } from "../people/sessions.js";
import { LoginThrottle } from "../people/throttle.js";
import { UserService } from "../people/users.js";

/** Everything a request handler may use, built once at start-up and passed in. */
export interface AppContext {
  config: Config;
  clock: Clock;
  logger: Logger;
  store: Database;
  keyCache: KeyCache;
  /** Drops changed keys from every replica's verify cache. */
  invalidation: CacheInvalidation;
  lastUsed: LastUsedTracker;
  admins: AdminService;
  projects: ProjectService;
  keys: KeyService;
  verifier: KeyVerifier;
  /** Acts on leak reports (revoke/disable, audit, `key.leaked`). */
  leaks: LeakService;
  /** GitHub secret-scanning public keys by identifier. */
  githubLeakKeys: GithubPublicKeys;
  /** Records uses of canary keys (audit → `key.canary_used` alert). */
  canary: CanaryTripwire;
  idempotency: IdempotencyStore;
  /** The master keys upstream credentials are encrypted under (current, and previous while rotating). */
  masterKeys: MasterKeys;
  upstreams: UpstreamService;
  /** Each project's decrypted upstream, in memory: the gateway's synchronous lookup. */
  upstreamDirectory: CachedUpstreamDirectory;
  /** Model prices: tokens → micro-dollars. */
  prices: PriceTable;
  /** Usage events, queued in memory and written in batches. */
  usage: UsageRecorder;
  metrics: GatewayMetrics;
  /** Keep-alive connection pools to upstream providers. */
  upstreamClient: UpstreamClient;
  /** Spans for gateway requests (null: tracing is off). */
  tracing: GatewayTracing | null;
  /** Where alerts go (budget thresholds, rate limiting, policies, leaks). */
  alerts: AlertSink;
  /** Webhooks, the alert outbox and its workers (audit tailer, policy sweeper, dispatcher). */
  alerting: Alerting;
  /** Rate limits, concurrency limits and budgets of keys and projects. */
  limiter: AdmissionControl;
  /** Whether limits are shared by the replicas right now, and why not (for /healthz, /readyz). */
  limitsHealth: () => LimitsHealth;
  /** Trusted CI identities: OIDC tokens exchanged for ephemeral keys. */
  trust: TrustService;
  /** Secret managers keys are written to on create and rotate. */
  destinations: DestinationService;
  /** The push outbox: writes new secrets to their destinations, with retries. */
  secretPusher: SecretPusher;
  /** People who sign in (src/people/): accounts, sessions, one-time links. */
  users: UserService;
  sessions: SessionService;
  invitations: InvitationService;
  /** Where one-time links point; the server tells it its address once it listens. */
  publicUrl: PublicUrl;
  /** Flushes buffered writes and closes the store. */
  close(): Promise<void>;
}

export interface ContextOverrides {
  clock?: Clock;
  /** PostgreSQL schema (tests run each suite in its own). */
  pgSchema?: string;
  /** Where OIDC issuers' keys come from (default: OpenID discovery over HTTPS). */
  issuerKeys?: IssuerKeys;
  /** Gateway spans to a tracer of the caller's (tests collect them in memory). */
  tracing?: GatewayTracing;
  /**
   * Where usage batches go instead of this process's own writes to the store: a worker of
   * `--workers N` on SQLite hands them to the primary (src/server/usage-handoff.ts).
   */
  usageWriter?: UsageBatchWriter;
}

/**
 * How often the upstream directory re-reads the store for changes made by other processes
 * (replicas, the CLI). Changes made through this process apply at once.
 */
const UPSTREAM_RELOAD_MS = 30_000;

/** Wires the application from its configuration. The only place dependencies are chosen. */
export async function createContext(
  config: Config,
  logger: Logger,
  overrides: ContextOverrides = {},
): Promise<AppContext> {
  const clock = overrides.clock ?? systemClock;
  // Key material and the default upstream are checked before the store is touched: a bad value
  // stops the start with one clear line.
  const masterKeys = loadMasterKeys(config, logger);
  const githubLeakKeys = loadGithubPublicKeys(config.githubLeakPublicKeys);
  const secretBox = new SecretBox(masterKeys);
  const defaultUpstream = configuredDefaultUpstream(config);
  const prices = PriceTable.load(config.pricesFile);
  const store = await openDatabase({
    dataDir: config.dataDir,
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    ...(overrides.pgSchema ? { pgSchema: overrides.pgSchema } : {}),
  });
  const upstreamDirectory = new CachedUpstreamDirectory(store, secretBox, defaultUpstream, logger);
  try {
    await upstreamDirectory.load();
  } catch (err) {
    await store.close();
    throw err;
  }
  upstreamDirectory.startPeriodicReload(UPSTREAM_RELOAD_MS);
  const hasher = createSecretHasher(config.keyPepper);
  const keyCache = new KeyCache(config.keyCacheMaxEntries, config.keyCacheTtlMs, config.negativeCacheTtlMs);
  const invalidation = new CacheInvalidation(
    keyCache,
    invalidationChannel(
      store,
      { databaseUrl: config.databaseUrl, pgSchema: overrides.pgSchema, redisUrl: config.redisUrl },
      logger,
    ),
    logger,
  );
  invalidation.start();
  // SQLite: the gateway's background writes (and their fsyncs and write-lock waits) run on a
  // writer thread. PostgreSQL I/O is asynchronous already. When answers wait for its commits
  // (durable usage), it must not yield its core to the threads that wait for it.
  const writerThread =
    store.dialect === "sqlite"
      ? new SqliteWriterThread(store.location, {
          background: !usageIsDurable(config) || overrides.usageWriter !== undefined,
        })
      : null;
  const lastUsed = new LastUsedTracker(
    writerThread ?? storeLastUsedWriter(store.db),
    config.lastUsedFlushMs,
    (err) => logger.warn({ err: errorSummary(err) }, "could not record last-used times; will retry"),
  );
  lastUsed.start();
  const idempotency = new IdempotencyStore(store, clock);
  const usage = new UsageRecorder(
    overrides.usageWriter ?? writerThread ?? directBatchWriter(store.db, store.dialect === "postgres"),
    config.usageFlushMs,
    (err) =>
      logger.error({ err: errorSummary(err) }, "could not write usage events; keeping them queued for retry"),
  );
  usage.start();
  const tracing = overrides.tracing
    ? { gateway: null, shutdown: async () => {} }
    : startTracing(config, logger);
  const upstreamClient = new UpstreamClient({
    timeoutMs: config.upstreamTimeoutMs,
    http2: config.upstreamHttp2,
    proxy: { http: config.httpProxy, https: config.httpsProxy, noProxy: config.noProxy },
  });
  const alerting = new Alerting(
    {
      store,
      clock,
      box: secretBox,
      invalidateKey: (keyId) => void invalidation.key(keyId),
      logger,
    },
    {
      flushMs: config.alertFlushMs,
      dispatchMs: config.alertDispatchMs,
      sweepMs: config.alertSweepMs,
      webhookTimeoutMs: config.webhookTimeoutMs,
      anomaly: {
        multiplier: config.anomalyMultiplier,
        minRequests: config.anomalyMinRequests,
        minCostMicros: Math.round(config.anomalyMinCostUsd * 1_000_000),
        minBaselineHours: DEFAULT_ANOMALY_SETTINGS.minBaselineHours,
      },
    },
  );
  await alerting.start();
  // The durable webhook outbox: emit() only appends to memory (hot-path safe).
  const alerts: AlertSink = alerting.sink;
  // In process for one SQLite process; budgets in the store and rate limits in Redis otherwise.
  const limits = setupLimits(
    store,
    {
      redisUrl: config.redisUrl,
      leaseMs: config.limitsLeaseMs,
      redisDown: config.limitsRedisDown,
      pgSchema: overrides.pgSchema,
    },
    storeSpendLoader(store.db, usage),
    alerts,
    clock,
    logger,
  );
  const metrics = createGatewayMetrics({
    cacheHits: () => keyCache.hits,
    cacheMisses: () => keyCache.misses,
    usagePending: () => usage.pending,
    clusterListening: () => (invalidation.healthy ? 1 : 0),
    limitsShared: () => limits.health().shared,
  });
  // Stored idempotent responses are replayable for 24 h; sweep older ones hourly.
  const prune = () =>
    idempotency
      .prune()
      .catch((err: unknown) => logger.warn({ err: errorSummary(err) }, "idempotency sweep failed"));
  void prune();
  const stopPruning = every(60 * 60 * 1000, prune);
  const destinations = new DestinationService(store, clock, secretBox);
  await reencryptAtStart(store, secretBox, clock, logger);
  const secretPusher = new SecretPusher(
    store,
    clock,
    secretBox,
    SECRET_WRITERS,
    { timeoutMs: config.secretPushTimeoutMs },
    (err) => logger.error({ err: errorSummary(err) }, "secret push failed unexpectedly; it will be retried"),
  );
  secretPusher.start(config.secretPushIntervalMs);
  const keys = new KeyService(store, clock, hasher, invalidation, idempotency, destinations, {
    brand: config.brand,
    allowDelete: config.allowKeyDelete,
  });
  const publicUrl = new PublicUrl(config.publicUrl, config.host, config.port);
  const passwords = argon2idHasher();
  const sessions = new SessionService(store, clock, hasher, {
    idleTimeoutMs: config.sessionIdleTimeoutMs,
    maxAgeMs: config.sessionMaxAgeMs,
  });
  const throttle = new LoginThrottle(store, clock, {
    maxPerAccount: config.loginMaxFailures,
    maxPerIp: config.loginIpMaxFailures,
    windowMs: config.loginWindowMs,
  });
  const canary = new CanaryTripwire(store, clock, (err) =>
    logger.error({ err: errorSummary(err) }, "could not record a canary key use"),
  );
  const ctx: AppContext = {
    config,
    clock,
    logger,
    store,
    keyCache,
    invalidation,
    lastUsed,
    idempotency,
    admins: new AdminService(store, clock, hasher, config.brand, lastUsed, config.adminCacheTtlMs),
    projects: new ProjectService(store, clock, (projectId) => invalidation.project(projectId)),
    keys,
    leaks: new LeakService(store, clock, hasher, keys, alerts, config.brand, logger),
    githubLeakKeys,
    verifier: new KeyVerifier(store, keyCache, hasher, clock, config.brand, lastUsed, canary),
    canary,
    masterKeys,
    upstreams: new UpstreamService(store, clock, secretBox, upstreamDirectory),
    upstreamDirectory,
    prices,
    usage,
    metrics,
    upstreamClient,
    tracing: overrides.tracing ?? tracing.gateway,
    alerts,
    alerting,
    limiter: limits.control,
    limitsHealth: () => limits.health(),
    trust: new TrustService(store, clock, keys, overrides.issuerKeys ?? new DiscoveredIssuerKeys()),
    destinations,
    secretPusher,
    users: new UserService(store, clock, passwords, sessions, throttle),
    sessions,
    invitations: new InvitationService(store, clock, hasher, passwords, sessions, publicUrl, {
      inviteTtlMs: config.invitationTtlMs,
      resetTtlMs: config.resetLinkTtlMs,
    }),
    publicUrl,
    async close() {
      stopPruning();
      await secretPusher.stop();
      // Order matters: requests are already drained by the server; now write what they queued.
      await canary.idle();
      await limits.close();
      await usage.close();
      await alerting.close();
      await upstreamClient.close();
      await tracing.shutdown();
      upstreamDirectory.stop();
      await lastUsed.close();
      // Both flushed above: nothing more can reach the writer thread.
      await writerThread?.close();
      await invalidation.close();
      await store.close();
    },
  };
  return ctx;
}

/** Destination credentials still under the previous master key are re-sealed under the current one. */
async function reencryptAtStart(
  store: Database,
  box: SecretBox,
  clock: Clock,
  logger: Logger,
): Promise<void> {
  try {
    const r = await reencryptDestinations(store, box, clock.now());
    if (r.rotated)
      logger.info({ rotated: r.rotated }, "re-encrypted secret destinations under the current master key");
    if (r.unreadable.length)
      logger.warn(
        { rows: r.unreadable },
        "secret destinations under an unknown master key: their pushes fail",
      );
  } catch (err) {
    logger.error({ err: errorSummary(err) }, "could not re-encrypt secret destinations");
  }
}
