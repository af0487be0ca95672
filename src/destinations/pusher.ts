import { appendAudit } from "../audit/append.js";
import { SYSTEM_ACTOR } from "../audit/types.js";
import { retryDelayMs } from "../alerts/retry.js";
import { every, SerialQueue } from "../core/background.js";
import type { Clock } from "../core/clock.js";
import { SecretBoxError, type SecretBox } from "../crypto/secret-box.js";
import type { Database } from "../store/database.js";
import type { KeyDestinationsTable, SecretPushesTable } from "../store/schema.js";
import { openCredentials, openPushSecret, type DestinationConfig } from "./model.js";
import type { PushResult, SecretWriters } from "./writer.js";

/** How pushes are sent. */
export interface PusherOptions {
  /** Bound on one attempt. */
  timeoutMs: number;
  /** Pushes claimed per round trip to the store. */
  batchSize?: number;
  /** Jitter source in [0, 1); injectable for tests. */
  random?: () => number;
}

/** The next state of a push after an attempt. Pure. */
export type PushDecision =
  | { outcome: "delivered" }
  | { outcome: "retrying"; nextAttemptAt: number; error: string }
  | { outcome: "failed"; error: string }
  | { outcome: "cancelled"; error: string };

/** Retries follow the webhook schedule (10 s, 30 s, 2 min … about 24 h), then the push fails. */
export function decidePush(result: PushResult, attempt: number, now: number, random: number): PushDecision {
  if (result.ok) return { outcome: "delivered" };
  const delay = retryDelayMs(attempt, random);
  if (delay === null) return { outcome: "failed", error: result.error };
  return { outcome: "retrying", nextAttemptAt: now + delay, error: result.error };
}

interface Claimed {
  push: SecretPushesTable;
  destination: KeyDestinationsTable;
  key: { name: string; project_id: string; status: string };
  /** The attempt this claim owns (1-based). */
  attempt: number;
}

/**
 * Delivers the push outbox: claims due pushes, writes each secret to its destination, records
 * the outcome with an audit entry (`key.secret_pushed`, or `key.secret_push_failed`, which the
 * audit tailer turns into an alert), and retries on the schedule. A delivered, failed or
 * cancelled push has its ciphertext erased in the same update. Calls are serialised in the
 * process; replicas claim with FOR UPDATE SKIP LOCKED plus a lease.
 */
export class SecretPusher {
  private readonly queue = new SerialQueue();
  private stopTimer: (() => void) | undefined;
  private readonly random: () => number;

  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly box: SecretBox,
    private readonly writers: SecretWriters,
    private readonly options: PusherOptions,
    private readonly onError: (err: unknown) => void,
  ) {
    this.random = options.random ?? Math.random;
  }

  /** If the process dies mid-attempt, the push is due again after this lease. */
  private get leaseMs(): number {
    return this.options.timeoutMs + 60_000;
  }

  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.stopTimer = every(intervalMs, () => void this.runOnce().catch((err: unknown) => this.onError(err)));
  }

  async stop(): Promise<void> {
    this.stopTimer?.();
    await this.queue.idle();
  }

  /** Attempts every push due now; resolves to how many were attempted. */
  runOnce(): Promise<number> {
    return this.queue.run(async () => {
      const claimed = await this.claim(null);
      await Promise.all(claimed.map((c) => this.attempt(c)));
      return claimed.length;
    });
  }

  /** Attempts these pushes now, whatever their schedule (right after a rotation commits). */
  pushNow(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return this.queue.run(async () => {
      const claimed = await this.claim(ids);
      await Promise.all(claimed.map((c) => this.attempt(c)));
    });
  }

  private async claim(onlyIds: readonly string[] | null): Promise<Claimed[]> {
    // Look before locking: on SQLite a transaction takes the write lock.
    if (onlyIds === null && !(await this.anyDue())) return [];
    return this.store.db.transaction().execute(async (tx) => {
      const now = this.clock.now();
      let q = tx
        .selectFrom("secret_pushes as p")
        .innerJoin("key_destinations as d", "d.id", "p.destination_id")
        .innerJoin("api_keys as k", "k.id", "p.key_id")
        .selectAll("p")
        .select([
          "d.kind as d_kind",
          "d.config as d_config",
          "d.credentials_cipher as d_credentials_cipher",
          "d.project_id as d_project_id",
          "d.created_at as d_created_at",
          "d.created_by as d_created_by",
          "k.name as k_name",
          "k.status as k_status",
        ])
        .where("p.status", "=", "pending");
      q = onlyIds
        ? q.where("p.id", "in", [...onlyIds])
        : q
            .where("p.next_attempt_at", "<=", now)
            .orderBy("p.next_attempt_at")
            .limit(this.options.batchSize ?? 20);
      if (this.store.dialect === "postgres") q = q.forUpdate("p").skipLocked();
      const rows = await q.execute();
      if (rows.length === 0) return [];
      await tx
        .updateTable("secret_pushes")
        .set((eb) => ({ attempts: eb("attempts", "+", 1), next_attempt_at: now + this.leaseMs }))
        .where(
          "id",
          "in",
          rows.map((r) => r.id),
        )
        .execute();
      return rows.map((r): Claimed => {
        const {
          d_kind,
          d_config,
          d_credentials_cipher,
          d_project_id,
          d_created_at,
          d_created_by,
          k_name,
          k_status,
          ...push
        } = r;
        return {
          push,
          destination: {
            id: push.destination_id,
            key_id: push.key_id,
            project_id: d_project_id,
            kind: d_kind,
            config: d_config,
            credentials_cipher: d_credentials_cipher,
            created_at: d_created_at,
            created_by: d_created_by,
          },
          key: { name: k_name, project_id: d_project_id, status: k_status },
          attempt: push.attempts + 1,
        };
      });
    });
  }

  private async anyDue(): Promise<boolean> {
    const due = await this.store.db
      .selectFrom("secret_pushes")
      .select("id")
      .where("status", "=", "pending")
      .where("next_attempt_at", "<=", this.clock.now())
      .limit(1)
      .executeTakeFirst();
    return due !== undefined;
  }

  private async attempt(c: Claimed): Promise<void> {
    const now = this.clock.now();
    let decision: PushDecision;
    if (c.key.status === "revoked") {
      // A revoked key's secret is worth nothing; writing it would only replace a working value.
      decision = { outcome: "cancelled", error: "the key was revoked before the push" };
    } else {
      decision = decidePush(await this.write(c), c.attempt, this.clock.now(), this.random());
    }
    try {
      await this.record(c, decision, now);
    } catch (err) {
      // The lease makes the push due again, so nothing is lost (it may be written once more).
      this.onError(err);
    }
  }

  private async write(c: Claimed): Promise<PushResult> {
    const config = JSON.parse(c.destination.config) as DestinationConfig;
    let credentials;
    let secret;
    try {
      credentials = openCredentials(this.box, c.destination);
      secret = openPushSecret(this.box, c.push.id, c.push.secret_cipher ?? "");
    } catch (err) {
      const why = err instanceof SecretBoxError ? err.problem : "unexpected error";
      return { ok: false, error: `cannot decrypt the destination's credentials or the secret (${why})` };
    }
    try {
      return await this.writers[config.kind]({
        pushId: c.push.id,
        config,
        credentials,
        secret,
        key: {
          id: c.push.key_id,
          name: c.key.name,
          project_id: c.key.project_id,
          masked_key: c.push.masked_key,
        },
        reason: c.push.reason,
        oldKeyExpiresAt:
          c.push.old_key_expires_at === null ? null : new Date(c.push.old_key_expires_at).toISOString(),
        timeoutMs: this.options.timeoutMs,
        nowSeconds: Math.floor(this.clock.now() / 1000),
      });
    } catch (err) {
      this.onError(err);
      return { ok: false, error: "unexpected error in the destination client" };
    }
  }

  /**
   * Writes the outcome and its audit entry. Rule: only the claim that owns this attempt (still
   * pending, attempts unchanged) updates the row; a superseded or stale claim changes nothing
   * and audits nothing.
   */
  private async record(c: Claimed, d: PushDecision, now: number): Promise<void> {
    await this.store.db.transaction().execute(async (tx) => {
      const finished = { secret_cipher: null, finished_at: now };
      const set: Partial<SecretPushesTable> =
        d.outcome === "delivered"
          ? { status: "delivered", last_error: null, ...finished }
          : d.outcome === "retrying"
            ? { next_attempt_at: d.nextAttemptAt, last_error: d.error }
            : { status: d.outcome, last_error: d.error, ...finished };
      const r = await tx
        .updateTable("secret_pushes")
        .set(set)
        .where("id", "=", c.push.id)
        .where("status", "=", "pending")
        .where("attempts", "=", c.attempt)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0 || d.outcome === "cancelled") return;
      const config = JSON.parse(c.destination.config) as DestinationConfig;
      const about = {
        push_id: c.push.id,
        destination_id: c.destination.id,
        kind: config.kind,
        reason: c.push.reason,
        masked_key: c.push.masked_key,
        key_name: c.key.name,
        attempt: c.attempt,
      };
      const failure =
        d.outcome === "delivered"
          ? null
          : {
              error: d.error,
              final: d.outcome === "failed",
              next_attempt_at: d.outcome === "retrying" ? new Date(d.nextAttemptAt).toISOString() : null,
              old_key_expires_at:
                c.push.old_key_expires_at === null ? null : new Date(c.push.old_key_expires_at).toISOString(),
            };
      await appendAudit(
        tx,
        this.store.dialect,
        SYSTEM_ACTOR,
        {
          action: failure ? "key.secret_push_failed" : "key.secret_pushed",
          targetType: "key",
          targetId: c.push.key_id,
          projectId: c.key.project_id,
          changes: { ...about, ...(failure ?? {}) },
        },
        now,
      );
    });
  }
}
