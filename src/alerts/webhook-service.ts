import { appendAudit } from "../audit/append.js";
import { projectScope, requireProjectAccess } from "../core/project-access.js";
import { diffFields } from "../audit/diff.js";
import { canonicalJson } from "../audit/canonical.js";
import type { Principal } from "../audit/types.js";
import type { Clock } from "../core/clock.js";
import { forbidden, KeywardError, notFound, type ErrorDetail } from "../core/errors.js";
import { ID_PREFIX, newId } from "../core/ids.js";
import { roleAllows } from "../core/roles.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Database, Executor } from "../store/database.js";
import type { WebhooksTable } from "../store/schema.js";
import { EVENT_FILTERS_MAX, isValidEventFilter } from "./catalogue.js";
import { toDeliveryView, type DeliveryView } from "./delivery-view.js";
import type { WebhookDispatcher } from "./dispatcher.js";
import { recordAlerts } from "./record.js";
import { reencryptWebhooks, type WebhookRekey } from "./webhook-rekey.js";
import {
  AUDITED_FIELDS,
  auditedSnapshot,
  generateWebhookSecret,
  maskSecret,
  maskUrl,
  normalizeWebhookUrl,
  sealWebhookSecret,
  sealWebhookUrl,
  toWebhookView,
  type CreateWebhookInput,
  type UpdateWebhookInput,
  type WebhookView,
} from "./webhook-model.js";

/** A webhook with its signing secret: returned by create only. */
export type WebhookWithSecret = WebhookView & { secret: string };

/** What `POST /webhooks/{id}/test` answers. */
export interface WebhookTestResult {
  object: "webhook_test";
  event_id: string;
  delivered: boolean;
  delivery: DeliveryView | null;
}

/**
 * Webhooks: where alerts are delivered. The URL and signing secret are encrypted before they
 * reach the store (the URL may be a bearer token itself), never returned after creation (the
 * secret is shown once, like a key) and never audited (only their hints). Every change writes
 * its audit entry in the same transaction. `projects.write` manages, `projects.read` reads.
 */
export class WebhookService {
  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly box: SecretBox,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  async create(actor: Principal, input: CreateWebhookInput): Promise<WebhookWithSecret> {
    if (!roleAllows(actor.role, "projects.write")) throw forbidden("your role may not manage webhooks");
    const url = checked(input).url!;
    const now = this.clock.now();
    const id = newId(ID_PREFIX.webhook, now);
    const secret = generateWebhookSecret();
    const row: WebhooksTable = {
      id,
      project_id: input.project_id ?? null,
      description: input.description ?? null,
      url_cipher: sealWebhookUrl(this.box, id, url),
      url_hint: maskUrl(url),
      secret_cipher: sealWebhookSecret(this.box, id, secret),
      secret_hint: maskSecret(secret),
      event_types: canonicalJson(normalizeFilters(input.event_types ?? ["*"])),
      enabled: input.enabled === false ? 0 : 1,
      created_at: now,
      created_by: actor.id,
      updated_at: now,
    };
    await this.store.db.transaction().execute(async (tx) => {
      if (row.project_id) await this.requireProject(tx, row.project_id);
      await tx.insertInto("webhooks").values(row).execute();
      await this.audit(
        tx,
        actor,
        "webhook.created",
        row,
        { after: auditedSnapshot(toWebhookView(row)) },
        now,
      );
    });
    return { ...toWebhookView(row), secret };
  }

  async list(actor: Principal, projectId?: string): Promise<WebhookView[]> {
    if (!roleAllows(actor.role, "projects.read")) throw forbidden("your role may not read webhooks");
    let q = this.store.db.selectFrom("webhooks").selectAll();
    if (projectId) {
      requireProjectAccess(actor, projectId, "project");
      q = q.where("project_id", "=", projectId);
    }
    // Org-wide webhooks (no project) are not a limited principal's to see.
    const scope = projectScope(actor);
    if (scope !== null) {
      if (scope.length === 0) return [];
      q = q.where("project_id", "in", [...scope]);
    }
    return (await q.orderBy("id").execute()).map(toWebhookView);
  }

  async get(actor: Principal, id: string): Promise<WebhookView> {
    if (!roleAllows(actor.role, "projects.read")) throw forbidden("your role may not read webhooks");
    const row = await this.require(this.store.db, id);
    requireProjectAccess(actor, row.project_id, "webhook");
    return toWebhookView(row);
  }

  async update(actor: Principal, id: string, patch: UpdateWebhookInput): Promise<WebhookView> {
    if (!roleAllows(actor.role, "projects.write")) throw forbidden("your role may not manage webhooks");
    const settings = checked(patch);
    const now = this.clock.now();
    return this.store.db.transaction().execute(async (tx) => {
      const before = await this.require(tx, id, true);
      const set: Partial<WebhooksTable> = {};
      if (settings.url !== undefined) {
        set.url_cipher = sealWebhookUrl(this.box, id, settings.url);
        set.url_hint = maskUrl(settings.url);
      }
      if (patch.project_id !== undefined) {
        if (patch.project_id !== null) await this.requireProject(tx, patch.project_id);
        set.project_id = patch.project_id;
      }
      if (patch.description !== undefined) set.description = patch.description;
      if (patch.event_types !== undefined)
        set.event_types = canonicalJson(normalizeFilters(patch.event_types));
      if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0;
      const next: WebhooksTable = { ...before, ...set };
      const diff = diffFields(toWebhookView(before), toWebhookView(next), AUDITED_FIELDS);
      // A new URL may keep its hint (same host and first segment): still a change, and said so.
      const urlReplaced = settings.url !== undefined;
      if (!diff && !urlReplaced) return toWebhookView(before);
      next.updated_at = now;
      await tx
        .updateTable("webhooks")
        .set({ ...set, updated_at: now })
        .where("id", "=", id)
        .execute();
      await this.audit(
        tx,
        actor,
        "webhook.updated",
        next,
        { ...(diff ?? { before: {}, after: {} }), ...(urlReplaced ? { url_replaced: true } : {}) },
        now,
      );
      return toWebhookView(next);
    });
  }

  /** Deletes the webhook with its undelivered messages and delivery log; the audit trail stays. */
  async delete(actor: Principal, id: string): Promise<void> {
    if (!roleAllows(actor.role, "projects.write")) throw forbidden("your role may not manage webhooks");
    const now = this.clock.now();
    await this.store.db.transaction().execute(async (tx) => {
      const before = await this.require(tx, id, true);
      await tx.deleteFrom("webhook_deliveries").where("webhook_id", "=", id).execute();
      await tx.deleteFrom("webhook_outbox").where("webhook_id", "=", id).execute();
      await tx.deleteFrom("webhooks").where("id", "=", id).execute();
      await this.audit(
        tx,
        actor,
        "webhook.deleted",
        before,
        { before: auditedSnapshot(toWebhookView(before)) },
        now,
      );
    });
  }

  /** The delivery log, newest first; `after` continues from the previous page's last id. */
  async deliveries(
    actor: Principal,
    id: string,
    opts: { limit: number; after?: string },
  ): Promise<{ data: DeliveryView[]; has_more: boolean }> {
    if (!roleAllows(actor.role, "projects.read")) throw forbidden("your role may not read webhooks");
    requireProjectAccess(actor, (await this.require(this.store.db, id)).project_id, "webhook");
    let q = this.store.db.selectFrom("webhook_deliveries").selectAll().where("webhook_id", "=", id);
    if (opts.after) q = q.where("id", "<", opts.after);
    const rows = await q
      .orderBy("id", "desc")
      .limit(opts.limit + 1)
      .execute();
    return { data: rows.slice(0, opts.limit).map(toDeliveryView), has_more: rows.length > opts.limit };
  }

  /**
   * Sends a `webhook.test` event to this webhook now (enabled or not) and reports the attempt.
   * It goes through the outbox like any alert: it is in the delivery log, and a failed test is
   * retried on the normal schedule while the webhook is enabled.
   */
  async test(actor: Principal, id: string): Promise<WebhookTestResult> {
    if (!roleAllows(actor.role, "projects.write")) throw forbidden("your role may not manage webhooks");
    const webhook = await this.require(this.store.db, id);
    const now = this.clock.now();
    const event = {
      type: "webhook.test",
      subject: id,
      projectId: webhook.project_id,
      data: { webhook_id: id, requested_by: actor.id },
      at: now,
    };
    const [eventId] = await this.store.db.transaction().execute((tx) =>
      // Held for a minute: this request attempts it itself; the background loop must not race it.
      recordAlerts(tx, [event], now, { webhookId: id, holdUntil: now + 60_000 }),
    );
    const message = await this.store.db
      .selectFrom("webhook_outbox")
      .select("id")
      .where("webhook_id", "=", id)
      .where("event_id", "=", eventId!)
      .executeTakeFirstOrThrow();
    const delivery = await this.dispatcher.deliverNow(message.id);
    return {
      object: "webhook_test",
      event_id: eventId!,
      delivered: delivery?.outcome === "delivered",
      delivery,
    };
  }

  /** See `reencryptWebhooks`: run at start-up, after a master key change. */
  reencrypt(): Promise<WebhookRekey> {
    return reencryptWebhooks(this.store, this.box, this.clock.now());
  }

  private async require(exec: Executor, id: string, lock = false): Promise<WebhooksTable> {
    const q = exec.selectFrom("webhooks").selectAll().where("id", "=", id);
    const row = await (lock && this.store.dialect === "postgres" ? q.forUpdate() : q).executeTakeFirst();
    if (!row) throw notFound("webhook");
    return row;
  }

  private async requireProject(exec: Executor, projectId: string): Promise<void> {
    const p = await exec.selectFrom("projects").select("id").where("id", "=", projectId).executeTakeFirst();
    if (!p) throw notFound("project");
  }

  private audit(
    tx: Executor,
    actor: Principal,
    action: string,
    row: WebhooksTable,
    changes: Record<string, unknown>,
    now: number,
  ): Promise<void> {
    return appendAudit(
      tx,
      this.store.dialect,
      actor,
      { action, targetType: "webhook", targetId: row.id, projectId: row.project_id, changes },
      now,
    );
  }
}

/** Sorted, without duplicates; `*` alone when it is present (it covers everything). */
function normalizeFilters(filters: readonly string[]): string[] {
  if (filters.includes("*")) return ["*"];
  return [...new Set(filters)].sort();
}

/**
 * Validates settings again at the service boundary (the API schema already did for its callers)
 * and returns the normalised URL. Messages never contain the URL: it may be a credential.
 */
function checked(input: UpdateWebhookInput): { url?: string } {
  const details: ErrorDetail[] = [];
  const out: { url?: string } = {};
  if (input.url !== undefined) {
    const r = normalizeWebhookUrl(input.url);
    if (r.ok) out.url = r.url;
    else details.push({ path: "url", message: r.problem });
  }
  if (input.event_types !== undefined) {
    if (input.event_types.length === 0 || input.event_types.length > EVENT_FILTERS_MAX)
      details.push({ path: "event_types", message: `give 1–${EVENT_FILTERS_MAX} entries` });
    const bad = input.event_types.find((f) => !isValidEventFilter(f));
    if (bad !== undefined)
      details.push({
        path: "event_types",
        message: `unknown event type "${bad.slice(0, 64)}" (see the event catalogue)`,
      });
  }
  if (details.length)
    throw new KeywardError(
      "invalid_request",
      `invalid request body: ${details[0]!.path}: ${details[0]!.message}`,
      details,
    );
  return out;
}
