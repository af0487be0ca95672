import { appendAudit } from "../audit/append.js";
import type { Clock } from "../core/clock.js";
import { conflict, forbidden, notFound } from "../core/errors.js";
import { ID_PREFIX, newId } from "../core/ids.js";
import { definedOnly } from "../core/objects.js";
import { roleAllows } from "../core/roles.js";
import type { Principal } from "../admins/principal.js";
import { isUniqueViolation, type Database } from "../store/database.js";
import type { ProjectsTable } from "../store/schema.js";

export interface ProjectView {
  id: string;
  object: "project";
  name: string;
  description: string | null;
  created_at: string;
  created_by: string;
  updated_at: string;
}

export function toProjectView(p: ProjectsTable): ProjectView {
  return {
    id: p.id,
    object: "project",
    name: p.name,
    description: p.description,
    created_at: new Date(p.created_at).toISOString(),
    created_by: p.created_by,
    updated_at: new Date(p.updated_at).toISOString(),
  };
}

/** Projects group keys (organisation → projects → keys). */
export class ProjectService {
  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
  ) {}

  async create(actor: Principal, input: { name: string; description?: string | null }): Promise<ProjectView> {
    if (!roleAllows(actor.role, "projects.write")) throw forbidden("your role may not create projects");
    const now = this.clock.now();
    const row: ProjectsTable = {
      id: newId(ID_PREFIX.project, now),
      name: input.name,
      description: input.description ?? null,
      created_at: now,
      created_by: actor.id,
      updated_at: now,
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
            changes: { after: { name: row.name, description: row.description } },
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
    if (opts.after) q = q.where("id", ">", opts.after);
    const rows = await q.orderBy("id").limit(opts.limit).execute();
    return rows.map(toProjectView);
  }

  async get(actor: Principal, id: string): Promise<ProjectView> {
    if (!roleAllows(actor.role, "projects.read")) throw forbidden("your role may not read projects");
    return toProjectView(await this.require(id));
  }

  async update(
    actor: Principal,
    id: string,
    patch: { name?: string; description?: string | null },
  ): Promise<ProjectView> {
    if (!roleAllows(actor.role, "projects.write")) throw forbidden("your role may not change projects");
    const now = this.clock.now();
    try {
      return await this.store.db.transaction().execute(async (tx) => {
        const before = await tx.selectFrom("projects").selectAll().where("id", "=", id).executeTakeFirst();
        if (!before) throw notFound("project");
        const after = { ...before, ...definedOnly(patch), updated_at: now };
        await tx
          .updateTable("projects")
          .set({ name: after.name, description: after.description, updated_at: now })
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
            changes: {
              before: { name: before.name, description: before.description },
              after: { name: after.name, description: after.description },
            },
          },
          now,
        );
        return toProjectView(after);
      });
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
