import { appendAudit } from "../audit/append.js";
import { requireProjectAccess } from "../core/project-access.js";
import { diffFields } from "../audit/diff.js";
import type { Principal } from "../audit/types.js";
import type { Clock } from "../core/clock.js";
import { conflict, forbidden, KeywardError, notFound, type ErrorDetail } from "../core/errors.js";
import { ID_PREFIX, newId } from "../core/ids.js";
import { roleAllows } from "../core/roles.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Database, Executor } from "../store/database.js";
import type { UpstreamsTable } from "../store/schema.js";
import { sealApiKey } from "./credential.js";
import type { CachedUpstreamDirectory } from "./directory.js";
import {
  AUDITED_FIELDS,
  auditedSnapshot,
  toUpstreamView,
  type CreateUpstreamInput,
  type UpdateUpstreamInput,
  type UpstreamView,
} from "./model.js";
import { reencryptUpstreams, type MasterKeyRotation } from "./rotate.js";
import {
  apiKeyProblem,
  headerValueProblem,
  maskProviderKey,
  normalizeBaseUrl,
  PRIORITY_MAX,
} from "./validate.js";

/**
 * Upstream provider credentials per project: create, list, get, update, delete, and master key
 * rotation. The provider key is encrypted before it reaches the store, is never returned or
 * audited (only its masked hint), and every change writes its audit entry in the same
 * transaction. After each commit the directory is refreshed, so this process's next gateway
 * request uses the change.
 */
export class UpstreamService {
  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly box: SecretBox,
    private readonly directory: CachedUpstreamDirectory,
  ) {}

  async create(actor: Principal, projectId: string, input: CreateUpstreamInput): Promise<UpstreamView> {
    if (!roleAllows(actor.role, "projects.write")) throw forbidden("your role may not change upstreams");
    const settings = checked(input);
    const now = this.clock.now();
    const id = newId(ID_PREFIX.upstream, now);
    const apiKey = input.api_key;
    const row: UpstreamsTable = {
      id,
      project_id: projectId,
      name: settings.name ?? input.name,
      base_url: settings.base_url ?? input.base_url,
      api_key_cipher: sealApiKey(this.box, { id, project_id: projectId }, apiKey),
      key_hint: maskProviderKey(apiKey),
      organization: input.organization ?? null,
      openai_project: input.project ?? null,
      priority: input.priority ?? 0,
      created_at: now,
      created_by: actor.id,
      updated_at: now,
    };
    await this.store.db.transaction().execute(async (tx) => {
      await this.lockProject(tx, projectId);
      await this.assertNameFree(tx, projectId, row.name, null);
      await tx.insertInto("upstreams").values(row).execute();
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "upstream.created",
          targetType: "upstream",
          targetId: id,
          projectId,
          changes: { after: auditedSnapshot(toUpstreamView(row)) },
        },
        now,
      );
    });
    await this.directory.refreshProject(projectId);
    return toUpstreamView(row);
  }

  /** A project's upstreams, preferred first (lowest priority value, then oldest). */
  async list(actor: Principal, projectId: string): Promise<UpstreamView[]> {
    if (!roleAllows(actor.role, "projects.read")) throw forbidden("your role may not read upstreams");
    requireProjectAccess(actor, projectId, "project");
    const project = await this.store.db
      .selectFrom("projects")
      .select("id")
      .where("id", "=", projectId)
      .executeTakeFirst();
    if (!project) throw notFound("project");
    const rows = await this.store.db
      .selectFrom("upstreams")
      .selectAll()
      .where("project_id", "=", projectId)
      .orderBy("priority")
      .orderBy("id")
      .execute();
    return rows.map(toUpstreamView);
  }

  async get(actor: Principal, id: string): Promise<UpstreamView> {
    if (!roleAllows(actor.role, "projects.read")) throw forbidden("your role may not read upstreams");
    const row = await this.store.db
      .selectFrom("upstreams")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    if (!row) throw notFound("upstream");
    requireProjectAccess(actor, row.project_id, "upstream");
    return toUpstreamView(row);
  }

  async update(actor: Principal, id: string, patch: UpdateUpstreamInput): Promise<UpstreamView> {
    if (!roleAllows(actor.role, "projects.write")) throw forbidden("your role may not change upstreams");
    const settings = checked(patch);
    const now = this.clock.now();
    const after = await this.store.db.transaction().execute(async (tx) => {
      const before = await this.lockUpstream(tx, id);
      if (settings.name !== undefined && settings.name !== before.name)
        await this.assertNameFree(tx, before.project_id, settings.name, id);
      const set: Partial<UpstreamsTable> = {};
      if (settings.name !== undefined) set.name = settings.name;
      if (settings.base_url !== undefined) set.base_url = settings.base_url;
      if (patch.organization !== undefined) set.organization = patch.organization;
      if (patch.project !== undefined) set.openai_project = patch.project;
      if (patch.priority !== undefined) set.priority = patch.priority;
      if (patch.api_key !== undefined) {
        set.api_key_cipher = sealApiKey(this.box, before, patch.api_key);
        set.key_hint = maskProviderKey(patch.api_key);
      }
      const next: UpstreamsTable = { ...before, ...set };
      const diff = diffFields(toUpstreamView(before), toUpstreamView(next), AUDITED_FIELDS);
      // A replaced key may keep its hint (same last four): still a change, and said so.
      const keyReplaced = patch.api_key !== undefined;
      if (!diff && !keyReplaced) return before;
      next.updated_at = now;
      await tx
        .updateTable("upstreams")
        .set({ ...set, updated_at: now })
        .where("id", "=", id)
        .execute();
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "upstream.updated",
          targetType: "upstream",
          targetId: id,
          projectId: before.project_id,
          changes: {
            ...(diff ?? { before: {}, after: {} }),
            ...(keyReplaced ? { api_key_replaced: true } : {}),
          },
        },
        now,
      );
      return next;
    });
    await this.directory.refreshProject(after.project_id);
    return toUpstreamView(after);
  }

  async delete(actor: Principal, id: string): Promise<void> {
    if (!roleAllows(actor.role, "projects.write")) throw forbidden("your role may not change upstreams");
    const now = this.clock.now();
    const row = await this.store.db.transaction().execute(async (tx) => {
      const before = await this.lockUpstream(tx, id);
      await tx.deleteFrom("upstreams").where("id", "=", id).execute();
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "upstream.deleted",
          targetType: "upstream",
          targetId: id,
          projectId: before.project_id,
          changes: { before: auditedSnapshot(toUpstreamView(before)) },
        },
        now,
      );
      return before;
    });
    await this.directory.refreshProject(row.project_id);
  }

  /**
   * Re-encrypts every credential under the current master key (see `reencryptUpstreams`),
   * then reloads the directory. Run by the operator with the old key as the previous key.
   */
  async rotateMasterKey(): Promise<MasterKeyRotation> {
    const result = await reencryptUpstreams(this.store, this.box, this.clock.now());
    await this.directory.reload();
    return result;
  }

  /** Serialises creates in a project on PostgreSQL, so the name check cannot race. */
  private async lockProject(tx: Executor, projectId: string): Promise<void> {
    const q = tx.selectFrom("projects").select("id").where("id", "=", projectId);
    const project = await (this.store.dialect === "postgres" ? q.forUpdate() : q).executeTakeFirst();
    if (!project) throw notFound("project");
  }

  private async lockUpstream(tx: Executor, id: string): Promise<UpstreamsTable> {
    const q = tx.selectFrom("upstreams").selectAll().where("id", "=", id);
    const row = await (this.store.dialect === "postgres" ? q.forUpdate() : q).executeTakeFirst();
    if (!row) throw notFound("upstream");
    // Renames lock the project too, so they queue with creates for the name check.
    await this.lockProject(tx, row.project_id);
    return row;
  }

  private async assertNameFree(tx: Executor, projectId: string, name: string, exceptId: string | null) {
    let q = tx
      .selectFrom("upstreams")
      .select("id")
      .where("project_id", "=", projectId)
      .where("name", "=", name);
    if (exceptId) q = q.where("id", "!=", exceptId);
    if (await q.executeTakeFirst()) throw conflict(`this project already has an upstream named "${name}"`);
  }
}

/**
 * Validates settings again at the service boundary (the API schema already did, for its
 * callers) and returns the normalized name and base URL. Messages never contain the key.
 */
function checked(input: UpdateUpstreamInput): { name?: string; base_url?: string } {
  const details: ErrorDetail[] = [];
  const out: { name?: string; base_url?: string } = {};
  if (input.name !== undefined) {
    const name = input.name.trim();
    if (name.length === 0 || name.length > 128)
      details.push({ path: "name", message: "must be 1–128 characters" });
    out.name = name;
  }
  if (input.base_url !== undefined) {
    const r = normalizeBaseUrl(input.base_url);
    if (r.ok) out.base_url = r.url;
    else details.push({ path: "base_url", message: r.problem });
  }
  if (input.api_key !== undefined) {
    const problem = apiKeyProblem(input.api_key);
    if (problem) details.push({ path: "api_key", message: problem });
  }
  for (const field of ["organization", "project"] as const) {
    const v = input[field];
    const problem = v === undefined || v === null ? null : headerValueProblem(v);
    if (problem) details.push({ path: field, message: problem });
  }
  if (
    input.priority !== undefined &&
    (!Number.isInteger(input.priority) || input.priority < 0 || input.priority > PRIORITY_MAX)
  ) {
    details.push({ path: "priority", message: `must be a whole number from 0 to ${PRIORITY_MAX}` });
  }
  if (details.length) {
    throw new KeywardError(
      "invalid_request",
      `invalid request body: ${details[0]!.path}: ${details[0]!.message}`,
      details,
    );
  }
  return out;
}
