import type { Limits } from "../core/limits.js";
import type { Permissions } from "../core/permissions.js";
import type { KeyEnvironment, KeyStatus } from "../store/schema.js";

/** What the verify path needs about one secret, with its matchers compiled once at fill time. */
export interface CachedKey {
  keyId: string;
  projectId: string;
  name: string;
  environment: KeyEnvironment;
  status: KeyStatus;
  expiresAt: number | null;
  /** Set while a rotated-away secret is in its grace period. */
  secretExpiresAt: number | null;
  permissions: Permissions;
  allowedModels: string[] | null;
  hasIpAllowlist: boolean;
  allowsModel: (model: string) => boolean;
  allowsIp: (ip: string | undefined) => boolean;
  /** The key's own rate limits and budget. */
  limits: Limits | null;
  /** Its project's, shared by all the project's keys. */
  projectLimits: Limits | null;
  /** A canary key: never valid (verify answers NOT_FOUND) and every use is recorded. */
  canary: boolean;
}

interface Slot {
  value: CachedKey | null;
  until: number;
}

/**
 * In-process cache of verify lookups by secret hash, including negative entries (unknown
 * hashes), so a spray of made-up keys with valid checksums cannot hammer the store.
 * Bounded: the oldest entries go first. `invalidateKey` drops every secret of a key at once;
 * revoke, rotate, update and status changes call it before they return.
 */
export class KeyCache {
  private readonly slots = new Map<string, Slot>();
  private readonly hashesByKey = new Map<string, Set<string>>();
  /** While set, every lookup is a miss and nothing is stored: see `suspend`. */
  private suspended = false;
  /**
   * Bumped by every invalidation. A lookup read before an invalidation is not cached after it:
   * the row it read may be the one just changed (a revoke must never be undone by a slow miss).
   */
  generation = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly negativeTtlMs: number,
  ) {}

  /** The cached lookup, `null` for a known-unknown hash, `undefined` for a miss. */
  get(hash: string, now: number): CachedKey | null | undefined {
    const slot = this.suspended ? undefined : this.slots.get(hash);
    if (!slot || slot.until <= now) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return slot.value;
  }

  /** Stores a lookup; `readAt` is the `generation` seen before the store was read. */
  set(hash: string, value: CachedKey | null, now: number, readAt = this.generation): void {
    if (this.suspended || readAt !== this.generation) return;
    if (this.slots.size >= this.maxEntries) this.evictOldest();
    this.slots.set(hash, { value, until: now + (value ? this.ttlMs : this.negativeTtlMs) });
    if (value) {
      let set = this.hashesByKey.get(value.keyId);
      if (!set) this.hashesByKey.set(value.keyId, (set = new Set()));
      set.add(hash);
    }
  }

  invalidateKey(keyId: string): void {
    this.generation++;
    const hashes = this.hashesByKey.get(keyId);
    if (!hashes) return;
    for (const h of hashes) this.slots.delete(h);
    this.hashesByKey.delete(keyId);
  }

  /** Drops every cached key of a project (its limits changed). Rare, so a scan is fine. */
  invalidateProject(projectId: string): void {
    this.generation++;
    for (const [keyId, hashes] of this.hashesByKey) {
      const any = hashes.values().next();
      if (any.done) continue;
      if (this.slots.get(any.value)?.value?.projectId !== projectId) continue;
      for (const h of hashes) this.slots.delete(h);
      this.hashesByKey.delete(keyId);
    }
  }

  /**
   * Stops caching until `resume`: used while this replica cannot hear other replicas' changes,
   * because a cached key could then be one revoked elsewhere (revocation never fails open).
   */
  suspend(): void {
    this.suspended = true;
    this.clear();
  }

  /** Caches again, starting empty: whatever was missed while suspended is re-read from the store. */
  resume(): void {
    this.clear();
    this.suspended = false;
  }

  get isSuspended(): boolean {
    return this.suspended;
  }

  clear(): void {
    this.generation++;
    this.slots.clear();
    this.hashesByKey.clear();
  }

  get size(): number {
    return this.slots.size;
  }

  private evictOldest(): void {
    const oldest = this.slots.keys().next();
    if (oldest.done) return;
    const slot = this.slots.get(oldest.value);
    this.slots.delete(oldest.value);
    if (slot?.value) this.hashesByKey.get(slot.value.keyId)?.delete(oldest.value);
  }
}
