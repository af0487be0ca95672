import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

/** A yes/no setting: a JSON boolean, or "true"/"false"/"1"/"0" from the environment. */
function booleanSetting(fallback: boolean) {
  return z
    .union([z.boolean(), z.enum(["true", "false", "1", "0"])])
    .transform((v) => v === true || v === "true" || v === "1")
    .default(fallback);
}

/**
 * Configuration, parsed once at start-up from (lowest to highest precedence) defaults, an
 * optional JSON file (`KEYWARD_CONFIG`), `KEYWARD_*` environment variables, and CLI flags.
 * Nothing else in keyward reads `process.env` (but the OTLP exporter, for its own further
 * `OTEL_EXPORTER_OTLP_*` settings such as timeouts and certificates).
 */
const ConfigSchema = z
  .object({
    host: z.string().min(1).default("127.0.0.1"),
    port: z.coerce.number().int().min(0).max(65535).default(8080),
    dataDir: z.string().min(1).default("./data"),
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
      .optional(),
    redisUrl: z.string().optional(),
    /**
     * Shared limits (with several processes): how long a concurrency slot or budget reservation
     * outlives a process that stopped renewing it (a crashed replica). Renewed every third.
     */
    limitsLeaseMs: z.coerce.number().int().min(1_000).max(300_000).default(5_000),
    /** Rate limits while Redis is unreachable: counted per process (`local`) or refused with 503 (`closed`). */
    limitsRedisDown: z.enum(["local", "closed"]).default("local"),
    /** Key prefix brand: keys look like `<brand>_live_…`. */
    brand: z
      .string()
      .regex(/^[a-z][a-z0-9]{0,15}$/, "1–16 lowercase letters/digits, starting with a letter")
      .default("kw"),
    /** Optional server pepper: key hashes become HMAC-SHA-256(pepper, key). Never change it after keys exist. */
    keyPepper: z.string().min(16, "at least 16 characters").optional(),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    allowKeyDelete: booleanSetting(false),
    keyCacheTtlMs: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
    keyCacheMaxEntries: z.coerce.number().int().min(1).default(100_000),
    negativeCacheTtlMs: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
    adminCacheTtlMs: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
    lastUsedFlushMs: z.coerce.number().int().min(10).default(5_000),
    /** Largest management API request body. */
    maxBodyBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(64 * 1024),
    /**
     * Master key for upstream credentials: 32 bytes, base64 or hex. Unset on the embedded
     * default: a key file `master.key` (0600) is generated in dataDir, with a warning.
     */
    masterKey: z.string().optional(),
    /** The previous master key, still accepted for decryption while `upstreams rotate-master` runs. */
    masterKeyPrevious: z.string().optional(),
    /** Default upstream (single-project setups): base URL incl. /v1, and its provider key. */
    upstreamBaseUrl: z.url({ protocol: /^https?$/ }).default("https://api.openai.com/v1"),
    upstreamApiKey: z.string().min(1).optional(),
    /** Gateway: upstream response-header timeout and whole-request timeout (ms). */
    upstreamTimeoutMs: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
    /** Gateway: largest request body forwarded (OpenAI's own file limit is 512 MB; audio 25 MB). */
    gatewayMaxBodyBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .default(32 * 1024 * 1024),
    /** Usage events: flush a batch to the store at least this often (the crash-loss window). */
    usageFlushMs: z.coerce.number().int().min(5).max(10_000).default(50),
    /**
     * Commit a request's usage before the end of its answer reaches the client: "on", "off",
     * or "auto" (on with PostgreSQL or Redis, i.e. whenever replicas or workers may serve).
     */
    usageDurable: z.enum(["auto", "on", "off"]).default("auto"),
    /** Output tokens assumed for limits and budgets when a request sets no max_tokens. */
    defaultMaxOutputTokens: z.coerce.number().int().min(1).max(1_000_000).default(4096),
    /** Alerts: emitted alerts are written to the webhook outbox at least this often. */
    alertFlushMs: z.coerce.number().int().min(10).max(60_000).default(1000),
    /** Alerts: outbox delivery and audit tailing interval; 0 = no background loop (tests, tools). */
    alertDispatchMs: z.coerce.number().int().min(0).max(3_600_000).default(1000),
    /** Alerts: rotation policy and anomaly sweep interval; 0 = no background sweep. */
    alertSweepMs: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
    /** Alerts: bound on one webhook delivery attempt. */
    webhookTimeoutMs: z.coerce.number().int().min(100).max(60_000).default(10_000),
    /** Rotation push: how often due retries are attempted; 0 = no background loop (tests, tools). */
    secretPushIntervalMs: z.coerce.number().int().min(0).max(3_600_000).default(5000),
    /** Rotation push: bound on one write to a secret manager. */
    secretPushTimeoutMs: z.coerce.number().int().min(100).max(60_000).default(10_000),
    /** usage.anomaly: last hour above this many times the key's hourly baseline. */
    anomalyMultiplier: z.coerce.number().min(1).max(1000).default(5),
    /** usage.anomaly: fewer requests than this in an hour are never a rate anomaly. */
    anomalyMinRequests: z.coerce.number().int().min(1).default(100),
    /** usage.anomaly: less spend than this (USD) in an hour is never a spend anomaly. */
    anomalyMinCostUsd: z.coerce.number().min(0).default(1),
    /** Price table override: path to a JSON file of USD per 1M tokens by model (see README). */
    pricesFile: z.string().optional(),
    /**
     * GitHub secret-scanning public keys for `POST /api/v1/leaks/github`: a JSON object
     * `{"<key identifier>": "<PEM public key>"}`, or a path to a file holding one. Unset: the
     * endpoint answers 401 to every report.
     */
    githubLeakPublicKeys: z.string().optional(),
    /** Largest leak report body (GitHub sends up to 1,000 tokens per report). */
    leakReportMaxBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    /** A request's head must arrive within this many ms (slow-loris guard). */
    headersTimeoutMs: z.coerce.number().int().min(100).max(300_000).default(15_000),
    /**
     * A whole request, body included, must arrive within this many ms; uploads are bounded by
     * it. Must be at least headersTimeoutMs.
     */
    requestTimeoutMs: z.coerce.number().int().min(100).max(3_600_000).default(300_000),
    /** Forward proxy for http:// upstreams (`HTTP_PROXY`/`http_proxy`). */
    httpProxy: z.url({ protocol: /^https?$/ }).optional(),
    /** Forward proxy for https:// upstreams (`HTTPS_PROXY`/`https_proxy`); falls back to httpProxy. */
    httpsProxy: z.url({ protocol: /^https?$/ }).optional(),
    /** Hosts reached directly, never through a proxy (`NO_PROXY`: comma-separated, `*` for all). */
    noProxy: z.string().optional(),
    /** Offer HTTP/2 to https upstreams (ALPN); they may still answer HTTP/1.1. */
    upstreamHttp2: booleanSetting(false),
    /** Tracing (src/tracing): the standard OpenTelemetry variables. Off unless an exporter or endpoint is set. */
    otelSdkDisabled: booleanSetting(false),
    otelTracesExporter: z.enum(["otlp", "console", "none"]).optional(),
    otelExporterOtlpEndpoint: z.url({ protocol: /^https?$/ }).optional(),
    otelExporterOtlpTracesEndpoint: z.url({ protocol: /^https?$/ }).optional(),
    /** `k1=v1,k2=v2`: sent to the collector (credentials, often); never logged. */
    otelExporterOtlpHeaders: z.string().optional(),
    otelServiceName: z.string().min(1).default("keyward"),
    /** Trust X-Forwarded-For from a proxy in front of keyward (for client IPs and IP allowlists). */
    trustProxy: booleanSetting(false),
    /**
     * Where people reach keyward in a browser: one-time links are `${publicUrl}/invite/<token>`,
     * and the CSRF check accepts this origin besides the request's own. Default: the server's
     * own http://host:port.
     */
    publicUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** Email of the first owner, put on the setup link `init` prints (else asked when it is opened). */
    ownerEmail: z.email().optional(),
    /** A session unused this long ends (ms; default 12 h). */
    sessionIdleTimeoutMs: z.coerce
      .number()
      .int()
      .min(60_000)
      .max(30 * 86_400_000)
      .default(12 * 3_600_000),
    /** A session ends this long after sign-in however much it is used (ms; default 7 days). */
    sessionMaxAgeMs: z.coerce
      .number()
      .int()
      .min(60_000)
      .max(365 * 86_400_000)
      .default(7 * 86_400_000),
    /** Invitations and the setup link expire after this long (ms; default 72 h). */
    invitationTtlMs: z.coerce
      .number()
      .int()
      .min(1000)
      .max(30 * 86_400_000)
      .default(72 * 3_600_000),
    /** Password reset links expire after this long (ms; default 1 h). */
    resetLinkTtlMs: z.coerce
      .number()
      .int()
      .min(1000)
      .max(7 * 86_400_000)
      .default(3_600_000),
    /** Failed sign-ins per email within loginWindowMs before further attempts get 429. */
    loginMaxFailures: z.coerce.number().int().min(1).max(1000).default(5),
    /** Failed sign-ins per client IP within loginWindowMs before further attempts get 429. */
    loginIpMaxFailures: z.coerce.number().int().min(1).max(100_000).default(20),
    /** The sign-in throttle's sliding window (ms; default 15 min). */
    loginWindowMs: z.coerce
      .number()
      .int()
      .min(1000)
      .max(86_400_000)
      .default(15 * 60_000),
    /** `serve` tunes V8's collector for a long-running gateway (src/server/heap-tuning.ts). */
    heapTuning: booleanSetting(true),
  })
  .strict()
  .refine((c) => c.requestTimeoutMs >= c.headersTimeoutMs, {
    path: ["requestTimeoutMs"],
    message: "must be at least headersTimeoutMs",
  });

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

const ENV_KEYS: Record<string, keyof ConfigInput> = {
  KEYWARD_HOST: "host",
  KEYWARD_PORT: "port",
  KEYWARD_DATA_DIR: "dataDir",
  KEYWARD_DATABASE_URL: "databaseUrl",
  KEYWARD_REDIS_URL: "redisUrl",
  KEYWARD_LIMITS_LEASE_MS: "limitsLeaseMs",
  KEYWARD_LIMITS_REDIS_DOWN: "limitsRedisDown",
  KEYWARD_KEY_PREFIX: "brand",
  KEYWARD_KEY_PEPPER: "keyPepper",
  KEYWARD_LOG_LEVEL: "logLevel",
  KEYWARD_ALLOW_KEY_DELETE: "allowKeyDelete",
  KEYWARD_KEY_CACHE_TTL_MS: "keyCacheTtlMs",
  KEYWARD_MAX_BODY_BYTES: "maxBodyBytes",
  KEYWARD_TRUST_PROXY: "trustProxy",
  KEYWARD_HEAP_TUNING: "heapTuning",
  KEYWARD_MASTER_KEY: "masterKey",
  KEYWARD_MASTER_KEY_PREVIOUS: "masterKeyPrevious",
  KEYWARD_UPSTREAM_BASE_URL: "upstreamBaseUrl",
  KEYWARD_UPSTREAM_API_KEY: "upstreamApiKey",
  KEYWARD_UPSTREAM_TIMEOUT_MS: "upstreamTimeoutMs",
  KEYWARD_GATEWAY_MAX_BODY_BYTES: "gatewayMaxBodyBytes",
  KEYWARD_USAGE_FLUSH_MS: "usageFlushMs",
  KEYWARD_USAGE_DURABLE: "usageDurable",
  KEYWARD_PRICES_FILE: "pricesFile",
  KEYWARD_ALERT_FLUSH_MS: "alertFlushMs",
  KEYWARD_ALERT_DISPATCH_MS: "alertDispatchMs",
  KEYWARD_ALERT_SWEEP_MS: "alertSweepMs",
  KEYWARD_WEBHOOK_TIMEOUT_MS: "webhookTimeoutMs",
  KEYWARD_SECRET_PUSH_INTERVAL_MS: "secretPushIntervalMs",
  KEYWARD_SECRET_PUSH_TIMEOUT_MS: "secretPushTimeoutMs",
  KEYWARD_ANOMALY_MULTIPLIER: "anomalyMultiplier",
  KEYWARD_ANOMALY_MIN_REQUESTS: "anomalyMinRequests",
  KEYWARD_ANOMALY_MIN_COST_USD: "anomalyMinCostUsd",
  KEYWARD_DEFAULT_MAX_OUTPUT_TOKENS: "defaultMaxOutputTokens",
  KEYWARD_GITHUB_LEAK_PUBLIC_KEYS: "githubLeakPublicKeys",
  KEYWARD_LEAK_REPORT_MAX_BYTES: "leakReportMaxBytes",
  KEYWARD_HEADERS_TIMEOUT_MS: "headersTimeoutMs",
  KEYWARD_REQUEST_TIMEOUT_MS: "requestTimeoutMs",
  KEYWARD_UPSTREAM_HTTP2: "upstreamHttp2",
  KEYWARD_PUBLIC_URL: "publicUrl",
  KEYWARD_OWNER_EMAIL: "ownerEmail",
  KEYWARD_SESSION_IDLE_TIMEOUT_MS: "sessionIdleTimeoutMs",
  KEYWARD_SESSION_MAX_AGE_MS: "sessionMaxAgeMs",
  KEYWARD_INVITATION_TTL_MS: "invitationTtlMs",
  KEYWARD_RESET_LINK_TTL_MS: "resetLinkTtlMs",
  KEYWARD_LOGIN_MAX_FAILURES: "loginMaxFailures",
  KEYWARD_LOGIN_IP_MAX_FAILURES: "loginIpMaxFailures",
  KEYWARD_LOGIN_WINDOW_MS: "loginWindowMs",
  // The conventional proxy variables; the lower-case spelling wins, as in curl.
  HTTP_PROXY: "httpProxy",
  http_proxy: "httpProxy",
  HTTPS_PROXY: "httpsProxy",
  https_proxy: "httpsProxy",
  NO_PROXY: "noProxy",
  no_proxy: "noProxy",
  OTEL_SDK_DISABLED: "otelSdkDisabled",
  OTEL_TRACES_EXPORTER: "otelTracesExporter",
  OTEL_EXPORTER_OTLP_ENDPOINT: "otelExporterOtlpEndpoint",
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "otelExporterOtlpTracesEndpoint",
  OTEL_EXPORTER_OTLP_HEADERS: "otelExporterOtlpHeaders",
  OTEL_SERVICE_NAME: "otelServiceName",
};

/** A configuration problem, reported as one readable line. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Builds the config from env (+ optional file) and flag overrides. Throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv, overrides: Partial<ConfigInput> = {}): Config {
  let fromFile: Record<string, unknown> = {};
  const file = env.KEYWARD_CONFIG;
  if (file) {
    try {
      fromFile = JSON.parse(readFileSync(path.resolve(file), "utf8")) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(
        `cannot read config file ${file}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  const fromEnv: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const v = env[name];
    if (v !== undefined && v !== "") fromEnv[key] = v;
  }
  const merged = { ...fromFile, ...fromEnv, ...stripUndefined(overrides) };
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join(".") || "(root)";
    const envName = Object.entries(ENV_KEYS).find(([, key]) => key === field)?.[0];
    // Never echo the value: it may be a secret (master key, pepper, provider key).
    throw new ConfigError(
      `invalid configuration: ${envName ? `${envName} (${field})` : field}: ${issue.message}`,
    );
  }
  return parsed.data;
}

function stripUndefined(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/**
 * Whether usage is committed before an answer ends (`usageDurable`). "auto" turns it on where
 * several processes serve (PostgreSQL or Redis configured): there, one killed replica must not
 * take the metering of answers its clients already received with it. One embedded process
 * keeps the 50 ms batching window, which costs no latency.
 */
export function usageIsDurable(config: Pick<Config, "usageDurable" | "databaseUrl" | "redisUrl">): boolean {
  if (config.usageDurable !== "auto") return config.usageDurable === "on";
  return config.databaseUrl !== undefined || config.redisUrl !== undefined;
}
