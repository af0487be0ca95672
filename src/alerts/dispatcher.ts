import { SerialQueue, every } from "../core/background.js";
import type { Clock } from "../core/clock.js";
import { ID_PREFIX, newId } from "../core/ids.js";
import { SecretBoxError, type SecretBox } from "../crypto/secret-box.js";
import type { Database } from "../store/database.js";
import type { WebhookDeliveriesTable } from "../store/schema.js";
import { toDeliveryView, type DeliveryView } from "./delivery-view.js";
import { decideAfterAttempt, type AttemptDecision, type AttemptResult } from "./retry.js";
import type { WebhookSender } from "./sender.js";
import { signatureHeader } from "./signature.js";
import { openWebhook } from "./webhook-model.js";

/** How the dispatcher sends and batches. */
export interface DispatcherOptions {
  /** Bound on one HTTP attempt. */
  timeoutMs: number;
  /** Messages claimed per round trip to the store. */
  batchSize?: number;
  /** Rounds per `runOnce`, so one call is bounded even with a large backlog. */
  maxBatches?: number;
  /** Jitter source in [0, 1); injectable for tests. */
  random?: () => number;
}

/** What one `runOnce` did. */
export interface DispatchStats {
  attempted: number;
  delivered: number;
  retrying: number;
  failed: number;
}

interface Claimed {
  id: string;
  webhook_id: string;
  event_id: string;
  type: string;
  payload: string;
  /** The attempt number this claim owns (1-based). */
  attempt: number;
  url_cipher: string;
  secret_cipher: string;
}

/**
 * Delivers the webhook outbox: claims due messages, POSTs them signed, records each attempt in
 * the delivery log and schedules retries (at-least-once). Runs on the injected clock; a timer
 * calls `runOnce`, and tests call it directly. Calls are serialised within the process; across
 * replicas (PostgreSQL) claims use FOR UPDATE SKIP LOCKED plus a lease, so a message is sent by
 * one replica at a time.
 */
export class WebhookDispatcher {
  private readonly queue = new SerialQueue();
  private stopTimer: (() => void) | undefined;
  private readonly batchSize: number;
  private readonly maxBatches: number;
  private readonly random: () => number;

  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly box: SecretBox,
    private readonly send: WebhookSender,
    private readonly options: DispatcherOptions,
    private readonly onError: (err: unknown) => void,
  ) {
    this.batchSize = options.batchSize ?? 50;
    this.maxBatches = options.maxBatches ?? 20;
    this.random = options.random ?? Math.random;
  }

  /**
   * A claimed message is not claimed again before its attempt has had time to finish: if the
   * process dies mid-send, the message becomes due again after this lease (at-least-once).
   */
  private get leaseMs(): number {
    return this.options.timeoutMs + 60_000;
  }

  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.stopTimer = every(intervalMs, () => void this.runOnce().catch((err: unknown) => this.onError(err)));
  }

  /** Stops the timer and waits for an attempt in progress. */
  async stop(): Promise<void> {
    this.stopTimer?.();
    await this.queue.idle();
  }

  /** Delivers every message due now (bounded by batchSize × maxBatches). */
  runOnce(): Promise<DispatchStats> {
    return this.serial(async () => {
      const stats: DispatchStats = { attempted: 0, delivered: 0, retrying: 0, failed: 0 };
      for (let round = 0; round < this.maxBatches; round++) {
        const claimed = await this.claim(null);
        const outcomes = await Promise.all(claimed.map((m) => this.attempt(m)));
        for (const d of outcomes) {
          stats.attempted++;
          stats[d.outcome]++;
        }
        if (claimed.length < this.batchSize) break;
      }
      return stats;
    });
  }

  /**
   * Attempts one message now, whatever its schedule (the `webhooks test` command). Null when
   * it is not pending any more (delivered, failed, or gone).
   */
  deliverNow(outboxId: string): Promise<DeliveryView | null> {
    return this.serial(async () => {
      const [m] = await this.claim(outboxId);
      return m ? this.attempt(m) : null;
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }

  /** Claims due messages of enabled webhooks (or one message by id) and takes a lease on them. */
  private async claim(onlyId: string | null): Promise<Claimed[]> {
    // The periodic tick looks before it locks: on SQLite a transaction takes the write lock,
    // which the usage writer thread may be holding, and the wait would stall the event loop.
    if (onlyId === null && !(await this.anyDue())) return [];
    return this.store.db.transaction().execute(async (tx) => {
      const now = this.clock.now();
      let q = tx
        .selectFrom("webhook_outbox as o")
        .innerJoin("webhooks as w", "w.id", "o.webhook_id")
        .select([
          "o.id",
          "o.webhook_id",
          "o.event_id",
          "o.type",
          "o.payload",
          "o.attempts",
          "w.url_cipher",
          "w.secret_cipher",
        ])
        .where("o.status", "=", "pending");
      q = onlyId
        ? q.where("o.id", "=", onlyId)
        : q
            .where("o.next_attempt_at", "<=", now)
            .where("w.enabled", "=", 1)
            .orderBy("o.next_attempt_at")
            .limit(this.batchSize);
      // Replicas skip rows another one is claiming instead of waiting for (and re-sending) them.
      if (this.store.dialect === "postgres") q = q.forUpdate("o").skipLocked();
      const rows = await q.execute();
      if (rows.length === 0) return [];
      await tx
        .updateTable("webhook_outbox")
        .set((eb) => ({ attempts: eb("attempts", "+", 1), next_attempt_at: now + this.leaseMs }))
        .where(
          "id",
          "in",
          rows.map((r) => r.id),
        )
        .execute();
      return rows.map(({ attempts, ...r }) => ({ ...r, attempt: attempts + 1 }));
    });
  }

  /** Whether any pending message is due (a read through the due index; no transaction). */
  private async anyDue(): Promise<boolean> {
    const due = await this.store.db
      .selectFrom("webhook_outbox")
      .select("id")
      .where("status", "=", "pending")
      .where("next_attempt_at", "<=", this.clock.now())
      .limit(1)
      .executeTakeFirst();
    return due !== undefined;
  }

  /** One signed POST, then its outcome recorded. Never throws for the receiver's failures. */
  private async attempt(m: Claimed): Promise<DeliveryView> {
    let result: AttemptResult;
    let durationMs = 0;
    try {
      const { url, secret } = openWebhook(this.box, { ...m, id: m.webhook_id });
      const timestamp = Math.floor(this.clock.now() / 1000);
      const sent = await this.send({
        url,
        body: m.payload,
        timeoutMs: this.options.timeoutMs,
        headers: {
          "content-type": "application/json",
          "user-agent": "keyward-webhooks/1",
          "keyward-webhook-id": m.event_id,
          "keyward-webhook-timestamp": String(timestamp),
          "keyward-signature": signatureHeader(secret, timestamp, m.payload),
        },
      });
      result = sent.result;
      durationMs = sent.durationMs;
    } catch (err) {
      // Only opening the ciphertexts can throw here: the master key is missing or the row was altered.
      const why = err instanceof SecretBoxError ? err.problem : "unexpected error";
      result = { status: null, error: `cannot decrypt the webhook's URL or secret (${why})` };
      this.onError(err);
    }
    return this.record(m, result, durationMs);
  }

  /**
   * Writes the attempt's outcome. Rule: the outbox row is updated only by the claim that owns
   * this attempt (still pending, attempts unchanged); a claimer whose lease ran out and was
   * superseded still logs its attempt but leaves the row to the newer claim.
   */
  private async record(m: Claimed, result: AttemptResult, durationMs: number): Promise<DeliveryView> {
    const now = this.clock.now();
    const decision = decideAfterAttempt(result, m.attempt, now, this.random());
    const log: WebhookDeliveriesTable = {
      id: newId(ID_PREFIX.delivery, now),
      webhook_id: m.webhook_id,
      outbox_id: m.id,
      event_id: m.event_id,
      type: m.type,
      attempt: m.attempt,
      status_code: result.status,
      duration_ms: durationMs,
      error: decision.outcome === "delivered" ? null : decision.error,
      outcome: decision.outcome,
      next_retry_at: decision.outcome === "retrying" ? decision.nextAttemptAt : null,
      attempted_at: now,
    };
    try {
      await this.writeOutcome(m, log, decision, now);
    } catch (err) {
      // The attempt happened; failing to log it must not stop the other deliveries. The lease
      // makes the message due again, so nothing is lost (it may be sent once more).
      this.onError(err);
    }
    return toDeliveryView(log);
  }

  private async writeOutcome(
    m: Claimed,
    log: WebhookDeliveriesTable,
    decision: AttemptDecision,
    now: number,
  ) {
    await this.store.db.transaction().execute(async (tx) => {
      await tx
        .updateTable("webhook_outbox")
        .set(
          decision.outcome === "delivered"
            ? { status: "delivered", delivered_at: now, last_error: null }
            : decision.outcome === "retrying"
              ? { next_attempt_at: decision.nextAttemptAt, last_error: decision.error }
              : { status: "failed", last_error: decision.error },
        )
        .where("id", "=", m.id)
        .where("status", "=", "pending")
        .where("attempts", "=", m.attempt)
        .execute();
      // The webhook may have been deleted while the request was in flight: then there is no log.
      const exists = await tx
        .selectFrom("webhooks")
        .select("id")
        .where("id", "=", m.webhook_id)
        .executeTakeFirst();
      if (exists) await tx.insertInto("webhook_deliveries").values(log).execute();
    });
  }
}
