import { appendAudit } from "../audit/append.js";
import { projectScope, requireProjectAccess } from "../core/project-access.js";
import { canonicalJson } from "../audit/canonical.js";
import type { Limits } from "../core/limits.js";
import type { Clock } from "../core/clock.js";
import { conflict, forbidden, notFound } from "../core/errors.js";
import { ID_PREFIX, newId } from "../core/ids.js";
import { definedOnly } from "../core/objects.js";
import { roleAllows } from "../core/roles.js";
import { DEFAULT_ROTATION_POLICY } from "../core/rotation-policy.js";
import type { Principal } from "../audit/types.js";
import { isUniqueViolation, type Database } from "../store/database.js";
import type { LeakAction, ProjectsTable } from "../store/schema.js";

export interface ProjectView {
  id: string;
  object: "project";
  name: string;
  description: string | null;
  /** Rate limits and budget for the whole project (all its keys together). */
  limits: Limits | null;
  /** Rotation policy: keys must be rotated within this many days (null = no maximum). */
  rotation_max_age_days: number | null;
  /** Expire keys at their rotation deadline (true) or only warn (false). */
  rotation_enforce: boolean;
  /** Active keys unused for this many days are flagged stale (null = never). */
  stale_after_days: number | null;
  /** What a reported leak of one of its keys does: revoke (default) or disable. */
  leak_action: LeakAction;
  /** Longest life of an ephemeral key (`keyward run`, OIDC exchange), in seconds. */
  ephemeral_max_ttl_seconds: number;
  created_at: string;
  created_by: string;
  updated_at: string;
}

/** Rotation policy fields a project update may change. */
export interface ProjectPolicyPatch {
  rotation_max_age_days?: number | null;
  rotation_enforce?: boolean;
  stale_after_days?: number | null;
  leak_action?: LeakAction;
  ephemeral_max_ttl_seconds?: number;
}

export function toProjectView(p: ProjectsTable): ProjectView {
  return {
    id: p.id,
    object: "project",
    name: p.name,
    description: p.description,
    limits: p.limits === null ? null : (JSON.parse(p.limits) as Limits),
    rotation_max_age_days: p.rotation_max_age_days,
    rotation_enforce: p.rotation_enforce === 1,
    stale_after_days: p.stale_after_days,
    leak_action: p.leak_action,
    ephemeral_max_ttl_seconds: p.ephemeral_max_ttl_seconds,
    created_at: new Date(p.created_at).toISOString(),
    created_by: p.created_by,
    updated_at: new Date(p.updated_at).toISOString(),
  };
}

/** A new project's cap on ephemeral keys: a day (migration 0008 gives existing ones the same). */
export const DEFAULT_EPHEMERAL_MAX_TTL_SECONDS = 86_400;

/** Projects group keys (organisation → projects → keys). */
export class ProjectService {
  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    /** Called after a committed change, so caches holding project settings drop them. */
    private readonly onChanged: (projectId: string) => Promise<void> | void = () => undefined,
  ) {}

  async create(
    actor: Principal,
    input: { name: string; description?: string | null; limits?: Limits | null },
  ): Promise<ProjectView> {
    if (!roleAllows(actor.role, "projects.write")) throw forbidden("your role may not create projects");
    // A principal limited to some projects could not see the new one; creating is org-wide.
    if (projectScope(actor) !== null) throw forbidden("your access is limited to some projects");
    const now = this.clock.now();
    const row: ProjectsTable = {
      id: newId(ID_PREFIX.project, now),
      name: input.name,
      description: input.description ?? null,
      created_at: now,
      created_by: actor.id,
      updated_at: now,
      limits: input.limits ? canonicalJson(input.limits) : null,
      rotation_max_age_days: DEFAULT_ROTATION_POLICY.maxAgeDays,
      rotation_enforce: DEFAULT_ROTATION_POLICY.enforce ? 1 : 0,
      leak_action: "revoke",
      stale_after_days: DEFAULT_ROTATION_POLICY.staleAfterDays,
      ephemeral_max_ttl_seconds: DEFAULT_EPHEMERAL_MAX_TTL_SECONDS,
    };
    try {
      await this.store.db.transaction().execute(async (tx) => {
        await tx.insertInto("projects").values(row).execute();
        await appendAudit(
          tx,
          this.store.dialect,
          actor,
          {
            action: "project.created",
            targetType: "project",
            targetId: row.id,
            projectId: row.id,
            changes: { after: auditedFields(row) },
          },
          now,
        );
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`a project named "${input.name}" already exists`);
      throw err;
    }
    return toProjectView(row);
  }

  async list(actor: Principal, opts: { after?: string; limit: number }): Promise<ProjectView[]> {
    if (!roleAllows(actor.role, "projects.read")) throw forbidden("your role may not read projects");
    let q = this.store.db.selectFrom("projects").selectAll();
    const scope = projectScope(actor);
    if (scope !== null) {
      if (scope.length === 0) return [];
      q = q.where("id", "in", [...scope]);
    }
    if (opts.after) q = q.where("id", ">", opts.after);
    const rows = await q.orderBy("id").limit(opts.limit).execute();
    return rows.map(toProjectView);
  }

  async get(actor: Principal, id: string): Promise<ProjectView> {
    if (!roleAllows(actor.role, "projects.read")) throw forbidden("your role may not read projects");
    requireProjectAccess(actor, id, "project");
    return toProjectView(await this.require(id));
  }

  async update(
    actor: Principal,
    id: string,
    patch: { name?: string; description?: string | null; limits?: Limits | null } & ProjectPolicyPatch,
  ): Promise<ProjectView> {
    if (!roleAllows(actor.role, "projects.write")) throw forbidden("your role may not change projects");
    requireProjectAccess(actor, id, "project");
    const now = this.clock.now();
    try {
      const view = await this.store.db.transaction().execute(async (tx) => {
        const before = await tx.selectFrom("projects").selectAll().where("id", "=", id).executeTakeFirst();
        if (!before) throw notFound("project");
        const { limits, rotation_enforce, ...plain } = patch;
        const after: ProjectsTable = {
          ...before,
          ...definedOnly(plain),
          ...(limits !== undefined ? { limits: limits === null ? null : canonicalJson(limits) } : {}),
          ...(rotation_enforce !== undefined ? { rotation_enforce: rotation_enforce ? 1 : 0 } : {}),
          updated_at: now,
        };
        await tx
          .updateTable("projects")
          .set({
            name: after.name,
            description: after.description,
            limits: after.limits,
            rotation_max_age_days: after.rotation_max_age_days,
            rotation_enforce: after.rotation_enforce,
            stale_after_days: after.stale_after_days,
            leak_action: after.leak_action,
            ephemeral_max_ttl_seconds: after.ephemeral_max_ttl_seconds,
            updated_at: now,
          })
          .where("id", "=", id)
          .execute();
        await appendAudit(
          tx,
          this.store.dialect,
          actor,
          {
            action: "project.updated",
            targetType: "project",
            targetId: id,
            projectId: id,
            changes: { before: auditedFields(before), after: auditedFields(after) },
          },
          now,
        );
        return toProjectView(after);
      });
      await this.onChanged(id);
      return view;
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`a project named "${patch.name ?? ""}" already exists`);
      throw err;
    }
  }

  /** The project row, or a 404. */
  async require(id: string): Promise<ProjectsTable> {
    const row = await this.store.db
      .selectFrom("projects")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    if (!row) throw notFound("project");
    return row;
  }
}

/** The project fields the audit log records. */
function auditedFields(p: ProjectsTable): Record<string, unknown> {
  return {
    name: p.name,
    description: p.description,
    limits: p.limits === null ? null : (JSON.parse(p.limits) as unknown),
    rotation_max_age_days: p.rotation_max_age_days,
    rotation_enforce: p.rotation_enforce === 1,
    stale_after_days: p.stale_after_days,
    leak_action: p.leak_action,
    ephemeral_max_ttl_seconds: p.ephemeral_max_ttl_seconds,
  };
}
