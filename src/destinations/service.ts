import { appendAudit } from "../audit/append.js";
import { requireProjectAccess } from "../core/project-access.js";
import type { Principal } from "../audit/types.js";
import { generateWebhookSecret } from "../alerts/webhook-model.js";
import type { Clock } from "../core/clock.js";
import { conflict, forbidden, KeywardError, notFound } from "../core/errors.js";
import { ID_PREFIX, newId } from "../core/ids.js";
import { mayManageKey, roleAllows } from "../core/roles.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Database, Executor } from "../store/database.js";
import type { KeyDestinationsTable, SecretPushesTable } from "../store/schema.js";
import {
  DESTINATIONS_PER_KEY_MAX,
  sealCredentials,
  sealPushSecret,
  splitDestination,
  type DestinationConfig,
  type DestinationInput,
  type DestinationView,
  type PushView,
} from "./model.js";
import { toDestinationView } from "./views.js";

/** A destination just added: a webhook's signing secret is in this answer only. */
export type AddedDestination = DestinationView & { signing_secret?: string };

/** The key a destination belongs to, as the key service holds it inside its transaction. */
export interface DestinationKey {
  id: string;
  project_id: string;
  created_by: string;
  status: string;
}

/**
 * A key's secret destinations and the push outbox: what the key service calls inside its own
 * transactions (so a rotation and its pushes commit together or not at all), and the
 * management calls (add, list, remove).
 */
export class DestinationService {
  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly box: SecretBox,
  ) {}

  /** Adds a destination to an existing key; it receives the secret from the key's next rotation on. */
  async add(actor: Principal, keyId: string, input: DestinationInput): Promise<AddedDestination> {
    return this.store.db.transaction().execute(async (tx) => {
      const key = await this.lockKey(tx, actor, keyId);
      if (key.status === "revoked") throw conflict("a revoked key cannot get destinations");
      const [added] = await this.addInTx(tx, actor, key, [input], this.clock.now());
      return added!;
    });
  }

  /**
   * Adds destinations inside the caller's transaction (key creation). Validates every input
   * before writing any, so a bad one adds nothing.
   */
  async addInTx(
    tx: Executor,
    actor: Principal,
    key: DestinationKey,
    inputs: readonly DestinationInput[],
    now: number,
  ): Promise<AddedDestination[]> {
    const existing = await tx
      .selectFrom("key_destinations")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("key_id", "=", key.id)
      .executeTakeFirstOrThrow();
    if (Number(existing.n) + inputs.length > DESTINATIONS_PER_KEY_MAX)
      throw new KeywardError(
        "invalid_request",
        `a key may have at most ${DESTINATIONS_PER_KEY_MAX} destinations`,
        [{ path: "destinations", message: `at most ${DESTINATIONS_PER_KEY_MAX}` }],
      );
    const prepared = inputs.map((input) => {
      const signingSecret = generateWebhookSecret();
      return { signingSecret, ...splitDestination(input, signingSecret) };
    });
    const added: AddedDestination[] = [];
    for (const p of prepared) {
      const row: KeyDestinationsTable = {
        id: newId(ID_PREFIX.destination, now),
        key_id: key.id,
        project_id: key.project_id,
        kind: p.config.kind,
        config: JSON.stringify(p.config),
        credentials_cipher: "",
        created_at: now,
        created_by: actor.id,
      };
      row.credentials_cipher = sealCredentials(this.box, row.id, p.credentials);
      await tx.insertInto("key_destinations").values(row).execute();
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "key.destination_added",
          targetType: "key",
          targetId: key.id,
          projectId: key.project_id,
          changes: { after: { destination_id: row.id, config: p.config } },
        },
        now,
      );
      const view = toDestinationView(row, null);
      added.push(p.config.kind === "webhook" ? { ...view, signing_secret: p.signingSecret } : view);
    }
    return added;
  }

  /**
   * Queues the key's new secret for each of its destinations, in the caller's transaction.
   * Rule: a destination never receives an older secret after a newer one — pushes still
   * pending for this key are superseded (and their ciphertexts erased) before the new ones are
   * queued. Returns the new push ids.
   */
  async enqueue(
    tx: Executor,
    key: { id: string; hint: string },
    secret: string,
    reason: SecretPushesTable["reason"],
    oldKeyExpiresAt: number | null,
    now: number,
  ): Promise<string[]> {
    const destinations = await tx
      .selectFrom("key_destinations")
      .select("id")
      .where("key_id", "=", key.id)
      .orderBy("id")
      .execute();
    if (destinations.length === 0) return [];
    // created_at strictly increases per key, so "latest push" never depends on id randomness
    // within one millisecond.
    const last = await tx
      .selectFrom("secret_pushes")
      .select((eb) => eb.fn.max("created_at").as("at"))
      .where("key_id", "=", key.id)
      .executeTakeFirst();
    const createdAt = Math.max(now, Number(last?.at ?? 0) + 1);
    await tx
      .updateTable("secret_pushes")
      .set({ status: "superseded", secret_cipher: null, finished_at: now })
      .where("key_id", "=", key.id)
      .where("status", "=", "pending")
      .execute();
    const ids: string[] = [];
    for (const d of destinations) {
      const id = newId(ID_PREFIX.secretPush, now);
      await tx
        .insertInto("secret_pushes")
        .values({
          id,
          destination_id: d.id,
          key_id: key.id,
          reason,
          secret_cipher: sealPushSecret(this.box, id, secret),
          masked_key: key.hint,
          old_key_expires_at: oldKeyExpiresAt,
          status: "pending",
          attempts: 0,
          next_attempt_at: now,
          last_error: null,
          created_at: createdAt,
          finished_at: null,
        })
        .execute();
      ids.push(id);
    }
    return ids;
  }

  /** Removes a key's destinations and their pushes (the key record is being deleted). */
  async removeForKey(tx: Executor, keyId: string): Promise<void> {
    await tx.deleteFrom("secret_pushes").where("key_id", "=", keyId).execute();
    await tx.deleteFrom("key_destinations").where("key_id", "=", keyId).execute();
  }

  /** A key's destinations, each with its latest push. */
  async list(actor: Principal, keyId: string): Promise<DestinationView[]> {
    if (!roleAllows(actor.role, "keys.read")) throw forbidden("your role may not read keys");
    const key = await this.store.db
      .selectFrom("api_keys")
      .select(["id", "project_id"])
      .where("id", "=", keyId)
      .executeTakeFirst();
    if (!key) throw notFound("key");
    requireProjectAccess(actor, key.project_id, "key");
    return this.views(this.store.db, keyId);
  }

  /** The latest push of each of a key's destinations. */
  async latestPushes(keyId: string): Promise<PushView[]> {
    const views = await this.views(this.store.db, keyId);
    return views.flatMap((v) => (v.last_push ? [v.last_push] : []));
  }

  /** Removes one destination; a push to it still pending is dropped with it. */
  async remove(actor: Principal, keyId: string, destinationId: string): Promise<void> {
    const now = this.clock.now();
    await this.store.db.transaction().execute(async (tx) => {
      const key = await this.lockKey(tx, actor, keyId);
      const row = await tx
        .selectFrom("key_destinations")
        .select(["id", "config"])
        .where("id", "=", destinationId)
        .where("key_id", "=", keyId)
        .executeTakeFirst();
      if (!row) throw notFound("destination");
      await tx.deleteFrom("secret_pushes").where("destination_id", "=", destinationId).execute();
      await tx.deleteFrom("key_destinations").where("id", "=", destinationId).execute();
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "key.destination_removed",
          targetType: "key",
          targetId: keyId,
          projectId: key.project_id,
          changes: {
            before: { destination_id: row.id, config: JSON.parse(row.config) as DestinationConfig },
          },
        },
        now,
      );
    });
  }

  private async views(db: Executor, keyId: string): Promise<DestinationView[]> {
    const rows = await db
      .selectFrom("key_destinations")
      .selectAll()
      .where("key_id", "=", keyId)
      .orderBy("id")
      .execute();
    if (rows.length === 0) return [];
    const pushes = await db
      .selectFrom("secret_pushes")
      .selectAll()
      .where("key_id", "=", keyId)
      .orderBy("created_at", "desc")
      .execute();
    return rows.map((r) => toDestinationView(r, pushes.find((p) => p.destination_id === r.id) ?? null));
  }

  /** Locks the key a change is about; the actor must be allowed to manage it. */
  private async lockKey(tx: Executor, actor: Principal, keyId: string): Promise<DestinationKey> {
    const q = tx
      .selectFrom("api_keys")
      .select(["id", "project_id", "created_by", "status"])
      .where("id", "=", keyId);
    const key = await (this.store.dialect === "postgres" ? q.forUpdate() : q).executeTakeFirst();
    if (!key) throw notFound("key");
    requireProjectAccess(actor, key.project_id, "key");
    if (!mayManageKey(actor.role, actor.id, key.created_by))
      throw forbidden(
        actor.role === "member"
          ? "members may manage only keys they created"
          : "your role may not manage keys",
      );
    return key;
  }
}
