import type { Clock } from "../core/clock.js";
import { KeywardError } from "../core/errors.js";
import { isUniqueViolation, type Database, type Executor } from "../store/database.js";
import { idempotencyRowId, openResponse, sealResponse } from "./crypto.js";

/** How long a stored response can be replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface IdempotentRequest {
  principalId: string;
  /** The client's Idempotency-Key header, already validated (16–255 visible ASCII chars). */
  key: string;
  /** Hash of method, path and body: the same key with a different request is refused. */
  requestHash: string;
}

export interface StoredResponse<T> {
  status: number;
  body: T;
  replayed: boolean;
}

/**
 * Runs `operation` in a transaction at most once per Idempotency-Key. The response is stored in
 * the same transaction as the change, so "it happened" and "its response is replayable" are one
 * fact. A concurrent duplicate loses the unique-key race, rolls back its own attempt, and
 * replays the winner's response.
 */
export class IdempotencyStore {
  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
  ) {}

  async run<T>(
    req: IdempotentRequest | null,
    operation: (tx: Executor) => Promise<{ status: number; body: T }>,
  ): Promise<StoredResponse<T>> {
    if (!req) {
      const r = await this.store.db.transaction().execute(operation);
      return { ...r, replayed: false };
    }
    const id = idempotencyRowId(req.principalId, req.key);
    try {
      return await this.store.db.transaction().execute(async (tx) => {
        const prior = await this.replay<T>(tx, id, req);
        if (prior) return prior;
        const result = await operation(tx);
        await tx
          .insertInto("idempotency")
          .values({
            id,
            principal_id: req.principalId,
            request_hash: req.requestHash,
            status: result.status,
            response_cipher: sealResponse(JSON.stringify(result.body), req.key, req.principalId),
            created_at: this.clock.now(),
          })
          .execute();
        return { ...result, replayed: false };
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const prior = await this.replay<T>(this.store.db, id, req);
      if (prior) return prior;
      throw new KeywardError(
        "idempotency_in_progress",
        "a request with this Idempotency-Key is in progress; retry shortly",
      );
    }
  }

  private async replay<T>(
    db: Executor,
    id: string,
    req: IdempotentRequest,
  ): Promise<StoredResponse<T> | null> {
    const row = await db
      .selectFrom("idempotency")
      .select(["request_hash", "status", "response_cipher", "created_at"])
      .where("id", "=", id)
      .executeTakeFirst();
    if (!row) return null;
    if (row.created_at < this.clock.now() - IDEMPOTENCY_TTL_MS) {
      // Past its replay window: the key may be used afresh.
      await db.deleteFrom("idempotency").where("id", "=", id).execute();
      return null;
    }
    if (row.request_hash !== req.requestHash) {
      throw new KeywardError(
        "idempotency_key_reused",
        "this Idempotency-Key was already used for a different request; use a new key",
      );
    }
    const body = JSON.parse(openResponse(row.response_cipher, req.key, req.principalId)) as T;
    return { status: row.status, body, replayed: true };
  }

  /** Deletes responses past their replay window. */
  async prune(): Promise<number> {
    const res = await this.store.db
      .deleteFrom("idempotency")
      .where("created_at", "<", this.clock.now() - IDEMPOTENCY_TTL_MS)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
