import { actorNames } from "../audit/actor-names.js";
import { appendAudit } from "../audit/append.js";
import { projectScope, requireProjectAccess } from "../core/project-access.js";
import { diffFields } from "../audit/diff.js";
import { canonicalJson } from "../audit/canonical.js";
import type { Actor, Principal } from "../audit/types.js";
import type { Clock } from "../core/clock.js";
import { conflict, forbidden, KeywardError, notFound } from "../core/errors.js";
import type { SecretHasher } from "../core/hashing.js";
import { ID_PREFIX, newId } from "../core/ids.js";
import { generateKey, maskKey } from "../core/key-format.js";
import { DEFAULT_PERMISSIONS } from "../core/permissions.js";
import { mayManageKey, roleAllows } from "../core/roles.js";
import type { IdempotencyStore, IdempotentRequest } from "../idempotency/idempotency.js";
import type { Database, Executor } from "../store/database.js";
import type { ApiKeysTable, LeakAction } from "../store/schema.js";
import type { AddedDestination, DestinationService } from "../destinations/service.js";
import type { CacheInvalidation } from "../cluster/invalidation.js";
import { afterCondition, nameKey, orderTerms, searchCondition, type KeySort } from "./list-order.js";
import {
  budgetedCondition,
  projectPolicies,
  projectPolicy,
  rotateDueCondition,
  staleCondition,
} from "./policy.js";
import {
  effectiveStatus,
  toKeyView,
  type CreateKeyInput,
  type KeyStatusView,
  type KeyView,
  type NamedKeyView,
  type UpdateKeyInput,
} from "./model.js";

export interface KeyServiceOptions {
  brand: string;
  /** Whether revoked or expired keys' records may be deleted (their audit trail always stays). */
  allowDelete: boolean;
}

export interface ListKeysQuery {
  projectId?: string;
  status?: KeyStatusView;
  /** true: only stale keys (rotation policy); false: only keys that are not stale. */
  stale?: boolean;
  /** Only keys whose rotation deadline (`rotate_by`) is before this time (epoch ms). */
  rotateDueBefore?: number;
  /** true: only keys with a budget of their own; false: only keys without. */
  budgeted?: boolean;
  /** Name or masked key contains this (case-insensitive). */
  search?: string;
  /** Default `created` (oldest first). */
  sort?: KeySort;
  /** The last key of the previous page (its id); the page continues after it in `sort` order. */
  after?: string;
  limit: number;
}

/** A response that carries a freshly minted secret: the only time it is ever returned. */
export type KeyWithSecret = KeyView & { key: string };
export type CreatedKey = KeyWithSecret & { destinations?: AddedDestination[] };
export type RotatedKey = KeyWithSecret & { old_key_expires_at: string };

/** What key changes need of the secret destinations, inside their own transactions. */
export type KeyDestinations = Pick<DestinationService, "addInTx" | "enqueue" | "removeForKey">;

/** A create or rotate: the response body, and the secret pushes it queued (to attempt now). */
export interface MintResult<T> {
  body: T;
  replayed: boolean;
  pushIds: string[];
}

/** Fields whose before/after go into the audit log on update (never a secret). */
const AUDITED_FIELDS = [
  "name",
  "permissions",
  "allowed_models",
  "allowed_ips",
  "metadata",
  "expires_at",
  "limits",
] as const;

/**
 * The key lifecycle: create, list, get, update, disable/enable, revoke, rotate, delete.
 * Every change writes its audit entry in the same transaction and drops the key from the
 * verify cache before returning, so the very next verify sees it.
 */
export class KeyService {
  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly hasher: SecretHasher,
    private readonly invalidation: Pick<CacheInvalidation, "key">,
    private readonly idempotency: IdempotencyStore,
    private readonly destinations: KeyDestinations,
    private readonly options: KeyServiceOptions,
  ) {}

  async create(
    actor: Principal,
    projectId: string,
    input: CreateKeyInput,
    idem: IdempotentRequest | null,
  ): Promise<MintResult<CreatedKey>> {
    if (!roleAllows(actor.role, "keys.create")) throw forbidden("your role may not create keys");
    requireProjectAccess(actor, projectId, "project");
    const now = this.clock.now();
    this.assertFutureExpiry(input.expires_at ?? null, now);
    let pushIds: string[] = [];
    const r = await this.idempotency.run<CreatedKey>(idem, async (tx) => {
      const project = await tx
        .selectFrom("projects")
        .select(["id", "ephemeral_max_ttl_seconds"])
        .where("id", "=", projectId)
        .executeTakeFirst();
      if (!project) throw notFound("project");
      const ttl = input.ephemeral_ttl_seconds;
      if (ttl !== undefined && ttl > project.ephemeral_max_ttl_seconds) {
        throw new KeywardError(
          "invalid_request",
          `an ephemeral key may live at most ${project.ephemeral_max_ttl_seconds} s in this project (asked for ${ttl} s)`,
          [{ path: "ttl_seconds", message: `at most ${project.ephemeral_max_ttl_seconds}` }],
        );
      }
      const environment = input.environment ?? "live";
      const secret = generateKey(this.options.brand, environment);
      const row: ApiKeysTable = {
        id: newId(ID_PREFIX.key, now),
        project_id: projectId,
        name: input.name,
        environment,
        status: "active",
        permissions: canonicalJson(input.permissions ?? DEFAULT_PERMISSIONS),
        allowed_models: input.allowed_models ? canonicalJson(input.allowed_models) : null,
        allowed_ips: input.allowed_ips ? canonicalJson(input.allowed_ips) : null,
        metadata: canonicalJson(input.metadata ?? {}),
        hint: maskKey(secret),
        created_at: now,
        created_by: actor.id,
        updated_at: now,
        last_used_at: null,
        expires_at: input.expires_at ?? null,
        revoked_at: null,
        revoked_reason: null,
        limits: input.limits ? canonicalJson(input.limits) : null,
        rotated_at: null,
        canary: input.canary ? 1 : 0,
      };
      await tx.insertInto("api_keys").values(row).execute();
      await tx
        .insertInto("key_secrets")
        .values({
          hash: this.hasher.hash(secret),
          key_id: row.id,
          hint: row.hint,
          created_at: now,
          expires_at: null,
        })
        .execute();
      const view = toKeyView(row, now, await projectPolicy(tx, projectId));
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "key.created",
          targetType: "key",
          targetId: row.id,
          projectId,
          changes: { after: auditedSnapshot(view) },
        },
        now,
      );
      if (!input.destinations?.length) return { status: 201, body: { ...view, key: secret } };
      const destinations = await this.destinations.addInTx(tx, actor, row, input.destinations, now);
      pushIds = await this.destinations.enqueue(tx, row, secret, "created", null, now);
      return { status: 201, body: { ...view, key: secret, destinations } };
    });
    return { body: r.body, replayed: r.replayed, pushIds };
  }

  async list(actor: Principal, q: ListKeysQuery): Promise<{ data: NamedKeyView[]; has_more: boolean }> {
    if (!roleAllows(actor.role, "keys.read")) throw forbidden("your role may not read keys");
    const now = this.clock.now();
    let query = this.store.db.selectFrom("api_keys").selectAll();
    if (q.projectId) {
      requireProjectAccess(actor, q.projectId, "project");
      query = query.where("project_id", "=", q.projectId);
    }
    const scope = projectScope(actor);
    if (scope !== null) {
      if (scope.length === 0) return { data: [], has_more: false };
      query = query.where("project_id", "in", [...scope]);
    }
    const sort = q.sort ?? "created";
    if (q.after) {
      const cursor = await this.listCursor(q.after, sort, q.projectId, scope);
      query = query.where((eb) => afterCondition(eb, this.store.dialect, sort, cursor));
    }
    if (q.search) query = query.where((eb) => searchCondition(eb, q.search!));
    switch (q.status) {
      case "revoked":
        query = query.where("status", "=", "revoked");
        break;
      case "expired":
        query = query.where("status", "!=", "revoked").where("expires_at", "<=", now);
        break;
      case "active":
      case "disabled":
        query = query
          .where("status", "=", q.status)
          .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]));
        break;
    }
    if (q.stale !== undefined)
      query = query.where((eb) => (q.stale ? staleCondition(eb, now) : eb.not(staleCondition(eb, now))));
    if (q.rotateDueBefore !== undefined)
      query = query.where((eb) => rotateDueCondition(eb, q.rotateDueBefore!));
    if (q.budgeted !== undefined)
      query = query.where((eb) => (q.budgeted ? budgetedCondition(eb) : eb.not(budgetedCondition(eb))));
    for (const term of orderTerms(this.store.dialect, sort)) query = query.orderBy(term);
    const rows = await query.limit(q.limit + 1).execute();
    const page = rows.slice(0, q.limit);
    const policies = await projectPolicies(
      this.store.db,
      page.map((r) => r.project_id),
    );
    const names = await actorNames(
      this.store.db,
      page.map((r) => r.created_by),
    );
    return {
      data: page.map((r) => ({
        ...toKeyView(r, now, policies.get(r.project_id)!),
        created_by_name: names.get(r.created_by) ?? null,
      })),
      has_more: rows.length > q.limit,
    };
  }

  /**
   * The cursor key's place in the order. Looked up only among the keys the list itself covers:
   * a cursor naming someone else's key must not reveal where that key's name sorts.
   */
  private async listCursor(
    after: string,
    sort: KeySort,
    projectId: string | undefined,
    scope: readonly string[] | null,
  ): Promise<{ id: string; nameKey: string }> {
    if (sort === "created" || sort === "-created") return { id: after, nameKey: "" };
    let query = this.store.db
      .selectFrom("api_keys")
      .select(["id", nameKey(this.store.dialect).as("name_key")])
      .where("id", "=", after);
    if (projectId) query = query.where("project_id", "=", projectId);
    if (scope !== null) query = query.where("project_id", "in", [...scope]);
    const row = await query.executeTakeFirst();
    if (!row)
      throw new KeywardError(
        "invalid_request",
        "the cursor key no longer exists here: start from the first page",
        [{ path: "after", message: "no such key in this list" }],
      );
    return { id: row.id, nameKey: row.name_key };
  }

  async get(actor: Principal, id: string): Promise<NamedKeyView> {
    if (!roleAllows(actor.role, "keys.read")) throw forbidden("your role may not read keys");
    const row = await this.store.db
      .selectFrom("api_keys")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    if (!row) throw notFound("key");
    requireProjectAccess(actor, row.project_id, "key");
    const names = await actorNames(this.store.db, [row.created_by]);
    return {
      ...toKeyView(row, this.clock.now(), await projectPolicy(this.store.db, row.project_id)),
      created_by_name: names.get(row.created_by) ?? null,
    };
  }

  async update(actor: Principal, id: string, patch: UpdateKeyInput): Promise<KeyView> {
    const now = this.clock.now();
    if (patch.expires_at !== undefined) this.assertFutureExpiry(patch.expires_at, now);
    return this.change(actor, id, "key.updated", async (tx, row) => {
      if (row.status === "revoked") throw conflict("a revoked key cannot be changed");
      const set: Partial<ApiKeysTable> = { updated_at: now };
      if (patch.name !== undefined) set.name = patch.name;
      if (patch.permissions !== undefined) set.permissions = canonicalJson(patch.permissions);
      if (patch.allowed_models !== undefined)
        set.allowed_models = patch.allowed_models === null ? null : canonicalJson(patch.allowed_models);
      if (patch.allowed_ips !== undefined)
        set.allowed_ips = patch.allowed_ips === null ? null : canonicalJson(patch.allowed_ips);
      if (patch.metadata !== undefined) set.metadata = canonicalJson(patch.metadata);
      if (patch.expires_at !== undefined) set.expires_at = patch.expires_at;
      if (patch.limits !== undefined) set.limits = patch.limits === null ? null : canonicalJson(patch.limits);
      await tx.updateTable("api_keys").set(set).where("id", "=", id).execute();
      return { ...row, ...set };
    });
  }

  /** Disables (reversible) or re-enables a key. */
  async setEnabled(actor: Principal, id: string, enabled: boolean): Promise<KeyView> {
    const now = this.clock.now();
    return this.change(actor, id, enabled ? "key.enabled" : "key.disabled", async (tx, row) => {
      if (row.status === "revoked") throw conflict("a revoked key cannot be enabled or disabled");
      const status = enabled ? "active" : "disabled";
      if (row.status === status) return row;
      await tx.updateTable("api_keys").set({ status, updated_at: now }).where("id", "=", id).execute();
      return { ...row, status, updated_at: now };
    });
  }

  /** Revokes at once and for good. Revoking a revoked key changes nothing and is not an error. */
  async revoke(actor: Principal, id: string, reason: string | null): Promise<KeyView> {
    const now = this.clock.now();
    return this.change(actor, id, "key.revoked", async (tx, row) => {
      if (row.status === "revoked") return row;
      const set = { status: "revoked" as const, revoked_at: now, revoked_reason: reason, updated_at: now };
      await tx.updateTable("api_keys").set(set).where("id", "=", id).execute();
      return { ...row, ...set };
    });
  }

  /**
   * A key revoking itself (`keyward run` ending after an OIDC exchange): whoever presents a
   * valid key may end it. Audited with the key as its own actor.
   */
  async revokeSelf(id: string, ip: string | null, userAgent: string | null): Promise<KeyView> {
    const now = this.clock.now();
    return this.change({ id, role: null, ip, userAgent }, id, "key.revoked", async (tx, row) => {
      if (row.status === "revoked") return row;
      const set = {
        status: "revoked" as const,
        revoked_at: now,
        revoked_reason: "revoked by itself",
        updated_at: now,
      };
      await tx.updateTable("api_keys").set(set).where("id", "=", id).execute();
      return { ...row, ...set };
    });
  }

  /**
   * Contains a reported leak under the project's policy: revokes (or disables) the key unless
   * it already is. `actor` may be a system actor (a leak report): no role check then. The
   * reason goes into the audit entry (and `revoked_reason`). Returns whether anything changed;
   * a key already contained changes nothing and writes no audit entry.
   */
  async containLeak(actor: Actor, id: string, action: LeakAction, reason: string): Promise<boolean> {
    const now = this.clock.now();
    let changed = false;
    await this.change(
      actor,
      id,
      action === "revoke" ? "key.revoked" : "key.disabled",
      async (tx, row) => {
        if (row.status === "revoked" || (action === "disable" && row.status === "disabled")) return row;
        changed = true;
        const set: Partial<ApiKeysTable> =
          action === "revoke"
            ? { status: "revoked", revoked_at: now, revoked_reason: reason, updated_at: now }
            : { status: "disabled", updated_at: now };
        await tx.updateTable("api_keys").set(set).where("id", "=", id).execute();
        return { ...row, ...set };
      },
      { reason },
    );
    return changed;
  }

  /**
   * Issues a new secret for the same key record (OpenAI's "regenerate", Stripe's "roll").
   * The old secret keeps working for `graceSeconds` (0 = stops at once). Safe to retry with an
   * Idempotency-Key: a retry replays the first response, secret included, and rotates nothing.
   */
  async rotate(
    actor: Principal,
    id: string,
    graceSeconds: number,
    idem: IdempotentRequest | null,
  ): Promise<MintResult<RotatedKey>> {
    const now = this.clock.now();
    let pushIds: string[] = [];
    const r = await this.idempotency.run<RotatedKey>(idem, async (tx) => {
      const row = await this.lockForChange(tx, actor, id);
      if (row.status === "revoked") throw conflict("a revoked key cannot be rotated; create a new key");
      // A new secret for an expired key would be dead on arrival: extend expires_at first.
      if (row.expires_at !== null && row.expires_at <= now) {
        throw conflict("an expired key cannot be rotated; set a later expires_at first, or create a new key");
      }
      const secret = generateKey(this.options.brand, row.environment);
      const hint = maskKey(secret);
      const oldExpiresAt = now + graceSeconds * 1000;
      // Superseded secrets end at the new grace deadline, or earlier if they already ended.
      await tx
        .updateTable("key_secrets")
        .set({ expires_at: oldExpiresAt })
        .where("key_id", "=", id)
        .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", oldExpiresAt)]))
        .execute();
      await tx
        .insertInto("key_secrets")
        .values({ hash: this.hasher.hash(secret), key_id: id, hint, created_at: now, expires_at: null })
        .execute();
      // rotated_at restarts the rotation policy's clock (rotate_by).
      await tx
        .updateTable("api_keys")
        .set({ hint, updated_at: now, rotated_at: now })
        .where("id", "=", id)
        .execute();
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "key.rotated",
          targetType: "key",
          targetId: id,
          projectId: row.project_id,
          changes: {
            before: { masked_key: row.hint },
            after: { masked_key: hint },
            grace_seconds: graceSeconds,
            old_key_expires_at: new Date(oldExpiresAt).toISOString(),
          },
        },
        now,
      );
      // Same transaction: the rotation and its pushes commit together, or neither does.
      pushIds = await this.destinations.enqueue(
        tx,
        { id, hint },
        secret,
        "rotated",
        graceSeconds > 0 ? oldExpiresAt : null,
        now,
      );
      const view = toKeyView(
        { ...row, hint, updated_at: now, rotated_at: now },
        now,
        await projectPolicy(tx, row.project_id),
      );
      return {
        status: 200,
        body: { ...view, key: secret, old_key_expires_at: new Date(oldExpiresAt).toISOString() },
      };
    });
    await this.invalidation.key(id);
    return { body: r.body, replayed: r.replayed, pushIds };
  }

  /** Deletes a revoked or expired key's record when policy allows; the audit trail stays. */
  async delete(actor: Principal, id: string): Promise<void> {
    if (!roleAllows(actor.role, "keys.delete")) throw forbidden("your role may not delete keys");
    if (!this.options.allowDelete)
      throw forbidden("this deployment's policy does not allow deleting key records");
    const now = this.clock.now();
    await this.store.db.transaction().execute(async (tx) => {
      const row = await this.lockForChange(tx, actor, id);
      const status = effectiveStatus(row, now);
      if (status !== "revoked" && status !== "expired")
        throw conflict("only revoked or expired keys can be deleted; revoke it first");
      await this.destinations.removeForKey(tx, id);
      await tx.deleteFrom("key_secrets").where("key_id", "=", id).execute();
      await tx.deleteFrom("api_keys").where("id", "=", id).execute();
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "key.deleted",
          targetType: "key",
          targetId: id,
          projectId: row.project_id,
          changes: { before: auditedSnapshot(toKeyView(row, now, null)) },
        },
        now,
      );
    });
    await this.invalidation.key(id);
  }

  /**
   * Shared shape of every in-place change: lock the row, check the actor may manage it, apply,
   * audit what changed (if anything did), invalidate the cache.
   */
  private async change(
    actor: Actor,
    id: string,
    action: string,
    apply: (tx: Executor, row: ApiKeysTable) => Promise<ApiKeysTable>,
    auditExtra: Record<string, unknown> = {},
  ): Promise<KeyView> {
    const now = this.clock.now();
    const view = await this.store.db.transaction().execute(async (tx) => {
      const before = await this.lockForChange(tx, actor, id);
      const after = await apply(tx, before);
      const policy = await projectPolicy(tx, before.project_id);
      const beforeView = toKeyView(before, now, policy);
      const afterView = toKeyView(after, now, policy);
      const diff = diffFields(beforeView, afterView, [...AUDITED_FIELDS, "status", "revoked_reason"]);
      if (diff) {
        await appendAudit(
          tx,
          this.store.dialect,
          actor,
          {
            action,
            targetType: "key",
            targetId: id,
            projectId: before.project_id,
            changes: { ...diff, ...auditExtra },
          },
          now,
        );
      }
      return afterView;
    });
    await this.invalidation.key(id);
    return view;
  }

  /** Locks a key for a change; an admin actor must be allowed to manage it, a system actor may. */
  private async lockForChange(tx: Executor, actor: Actor, id: string): Promise<ApiKeysTable> {
    const q = tx.selectFrom("api_keys").selectAll().where("id", "=", id);
    const row = await (this.store.dialect === "postgres" ? q.forUpdate() : q).executeTakeFirst();
    if (!row) throw notFound("key");
    if (isPrincipal(actor)) requireProjectAccess(actor, row.project_id, "key");
    if (isPrincipal(actor) && !mayManageKey(actor.role, actor.id, row.created_by)) {
      throw forbidden(
        actor.role === "member"
          ? "members may manage only keys they created"
          : "your role may not manage keys",
      );
    }
    return row;
  }

  private assertFutureExpiry(expiresAt: number | null, now: number): void {
    if (expiresAt !== null && expiresAt <= now) {
      throw new KeywardError("invalid_request", "expires_at must be in the future", [
        { path: "expires_at", message: "must be in the future" },
      ]);
    }
  }
}

/** An authenticated admin (role-checked) rather than a system actor (a leak report). */
function isPrincipal(actor: Actor): actor is Principal {
  return "name" in actor;
}

/** The fields of a key view that the audit log records (no secret is ever in a view). */
function auditedSnapshot(v: KeyView): Record<string, unknown> {
  return {
    name: v.name,
    environment: v.environment,
    status: v.status,
    masked_key: v.masked_key,
    permissions: v.permissions,
    allowed_models: v.allowed_models,
    allowed_ips: v.allowed_ips,
    metadata: v.metadata,
    expires_at: v.expires_at,
    limits: v.limits,
    ...(v.canary ? { canary: true } : {}),
  };
}
