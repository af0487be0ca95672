import type { Kysely } from "kysely";
import { compileIpAllowlist } from "../core/cidr.js";
import type { Clock } from "../core/clock.js";
import { KeywardError } from "../core/errors.js";
import type { Limits } from "../core/limits.js";
import type { SecretHasher } from "../core/hashing.js";
import { parseKey } from "../core/key-format.js";
import {
  compileModelAllowlist,
  permits,
  type Access,
  type Permissions,
  type Resource,
} from "../core/permissions.js";
import type { Database } from "../store/database.js";
import type { DB } from "../store/schema.js";
import type { CachedKey, KeyCache } from "./cache.js";
import type { CanaryTripwire } from "./canary.js";
import type { LastUsedTracker } from "./last-used.js";
import { modelRefusal, type ModelUse } from "./model-policy.js";

/** Verification result codes (DESIGN.md). A failed verification is a result, not an exception. */
export type VerifyCode =
  | "VALID"
  | "NOT_FOUND"
  | "MALFORMED"
  | "REVOKED"
  | "EXPIRED"
  | "DISABLED"
  | "FORBIDDEN"
  | "RATE_LIMITED"
  | "BUDGET_EXCEEDED";

export interface VerifyRequest {
  /** The presented secret, or what `CheckedKey.check` made of it (then the format is not re-checked). */
  key: string | CheckedKey;
  /**
   * The resource the caller wants; omitted = no permission check; `null` = a request keyward
   * cannot classify (an unknown gateway path), which only keys with `all` may make.
   */
  resource?: Resource | null;
  /** Default `write` when a resource is given: calling an API is a write. */
  access?: Access;
  /** Every model the request names; each must be allowed (see model-policy.ts). */
  models?: readonly string[];
  /** How the endpoint uses models; default `free`. */
  modelUse?: ModelUse;
  ip?: string;
  /** Only recorded when a canary key is presented. */
  userAgent?: string;
  /** Where the key was presented (gateway endpoint, `verify`); recorded for canary keys only. */
  endpoint?: string;
}

export interface VerifyOutcome {
  code: VerifyCode;
  /** Present for every code but NOT_FOUND and MALFORMED: only the presented key is described. */
  key?: CachedKey;
  message?: string;
}

/**
 * A presented secret whose format and checksum passed verify's first step, offline. The gateway
 * checks the format before it reads a request body (unauthenticated noise costs no more than
 * that) and hands this on, so verify does not check the same string twice.
 *
 * The secret sits in a private field: a CheckedKey that reaches a log line or `JSON.stringify`
 * shows nothing of it.
 */
export class CheckedKey {
  readonly #secret: string;

  /** Only `check` makes one: holding a CheckedKey means the check passed. */
  private constructor(secret: string) {
    this.#secret = secret;
  }

  /** A gateway key (live or test) of this brand with a valid checksum, else null (MALFORMED). */
  static check(secret: string, brand: string): CheckedKey | null {
    const parsed = parseKey(secret, brand);
    return parsed.ok && parsed.key.kind !== "admin" ? new CheckedKey(secret) : null;
  }

  get secret(): string {
    return this.#secret;
  }
}

/**
 * The one ordered verify path, shared by the verify API and the gateway:
 * format/checksum → hash → cache → store → status → expiry → IP → permission → model.
 * Each step either returns a result code or hands on to the next; nothing here throws for a
 * bad key. Only an unreachable store throws (`unavailable`): auth fails closed.
 */
export class KeyVerifier {
  /** The cache-miss lookup, built and compiled once; each miss only swaps in its hash. */
  private readonly lookup: LookupQuery;

  constructor(
    private readonly store: Database,
    private readonly cache: KeyCache,
    private readonly hasher: SecretHasher,
    private readonly clock: Clock,
    private readonly brand: string,
    private readonly lastUsed: LastUsedTracker,
    private readonly canary: CanaryTripwire,
  ) {
    this.lookup = compileLookup(store.db);
  }

  async verify(req: VerifyRequest): Promise<VerifyOutcome> {
    // 1. Format and checksum, offline: typos and look-alikes never reach the store.
    const checked = typeof req.key === "string" ? CheckedKey.check(req.key, this.brand) : req.key;
    if (!checked) return { code: "MALFORMED", message: "not a keyward API key" };
    // 2. Hash; 3. cache; 4. store.
    const hash = this.hasher.hash(checked.secret);
    const now = this.clock.now();
    let key = this.cache.get(hash, now);
    if (key === undefined) {
      const generation = this.cache.generation;
      key = await this.load(hash);
      this.cache.set(hash, key, now, generation);
    }
    if (key === null) return { code: "NOT_FOUND", message: "no such key" };
    // A canary key answers exactly like an unknown one; only the tripwire knows (and writes).
    if (key.canary) {
      this.canary.record(key, {
        ip: req.ip ?? null,
        userAgent: req.userAgent ?? null,
        endpoint: req.endpoint ?? "verify",
      });
      return { code: "NOT_FOUND", message: "no such key" };
    }
    // 5. Status; 6. expiry (of the key, then of a rotated-away secret's grace period).
    if (key.status === "revoked") return { code: "REVOKED", key, message: "this key was revoked" };
    if (key.status === "disabled") return { code: "DISABLED", key, message: "this key is disabled" };
    if (key.expiresAt !== null && key.expiresAt <= now)
      return { code: "EXPIRED", key, message: "this key has expired" };
    if (key.secretExpiresAt !== null && key.secretExpiresAt <= now) {
      return {
        code: "EXPIRED",
        key,
        message: "this secret was replaced by a rotation and its grace period has ended",
      };
    }
    // 7. IP allowlist: without a known client IP, a key that has one fails closed.
    if (key.hasIpAllowlist && !key.allowsIp(req.ip)) {
      return {
        code: "FORBIDDEN",
        key,
        message: req.ip
          ? `IP ${req.ip} is not allowed for this key`
          : "this key has an IP allowlist; the client IP is required",
      };
    }
    // 8. Permission, then model.
    if (
      req.resource !== undefined &&
      !permits(key.permissions, req.resource ?? undefined, req.access ?? "write")
    ) {
      const what = req.resource ?? "this endpoint (only keys with `all` permissions may call it)";
      return { code: "FORBIDDEN", key, message: `this key may not ${req.access ?? "write"} ${what}` };
    }
    const refusal = modelRefusal(key, req.models ?? [], req.modelUse ?? "free");
    if (refusal) return { code: "FORBIDDEN", key, message: refusal };
    this.lastUsed.touchKey(key.keyId, now);
    return { code: "VALID", key };
  }

  private async load(hash: string): Promise<CachedKey | null> {
    let row;
    try {
      // Same SQL and shape as the builder produced; only the hash parameter differs. Saves
      // rebuilding and recompiling the query on every miss (bench/verify-bench.ts).
      const query: LookupQuery = { ...this.lookup, parameters: [hash] };
      row = (await this.store.db.executeQuery(query)).rows[0];
    } catch {
      throw new KeywardError("unavailable", "the key store is unavailable; try again");
    }
    if (!row) return null;
    const allowedModels = row.allowed_models === null ? null : (JSON.parse(row.allowed_models) as string[]);
    const allowedIps = row.allowed_ips === null ? null : (JSON.parse(row.allowed_ips) as string[]);
    return {
      keyId: row.id,
      projectId: row.project_id,
      name: row.name,
      environment: row.environment,
      status: row.status,
      expiresAt: row.expires_at,
      secretExpiresAt: row.secret_expires_at,
      permissions: JSON.parse(row.permissions) as Permissions,
      allowedModels,
      hasIpAllowlist: allowedIps !== null,
      allowsModel: compileModelAllowlist(allowedModels),
      allowsIp: compileIpAllowlist(allowedIps),
      limits: row.limits === null ? null : (JSON.parse(row.limits) as Limits),
      projectLimits: row.project_limits === null ? null : (JSON.parse(row.project_limits) as Limits),
      canary: row.canary === 1,
    };
  }
}

/** The verify lookup by secret hash, compiled for the store's dialect (parameter 0 = the hash). */
function compileLookup(db: Kysely<DB>) {
  return db
    .selectFrom("key_secrets as s")
    .innerJoin("api_keys as k", "k.id", "s.key_id")
    .innerJoin("projects as p", "p.id", "k.project_id")
    .select([
      "k.id",
      "k.project_id",
      "k.name",
      "k.environment",
      "k.status",
      "k.expires_at",
      "k.permissions",
      "k.allowed_models",
      "k.allowed_ips",
      "s.expires_at as secret_expires_at",
      "k.limits",
      "p.limits as project_limits",
      "k.canary",
    ])
    .where("s.hash", "=", "")
    .compile();
}

type LookupQuery = ReturnType<typeof compileLookup>;
