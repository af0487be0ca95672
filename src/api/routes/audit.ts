import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { projectScope, requireProjectAccess } from "../../core/project-access.js";
import type { Database } from "../../store/database.js";
import { actorNames } from "../../audit/actor-names.js";
import { exportAudit, listAudit, type AuditFilter } from "../../audit/query.js";
import { verifyAuditChain } from "../../audit/verify.js";
import { forbidden } from "../../core/errors.js";
import { roleAllows } from "../../core/roles.js";
import type { Principal } from "../../audit/types.js";
import type { ApiEnv } from "../env.js";
import { ERROR_RESPONSES, jsonResponse, SECURITY } from "../openapi.js";
import { AuditEntrySchema, AuditExportQuery, AuditQuery, AuditReportSchema } from "../schemas.js";

const tags = ["audit"];

const list = createRoute({
  method: "get",
  path: "/audit",
  tags,
  security: SECURITY,
  summary: "List audit entries, newest first",
  request: { query: AuditQuery },
  responses: {
    200: jsonResponse(
      z.object({
        object: z.literal("list"),
        data: z.array(AuditEntrySchema),
        has_more: z.boolean(),
        next_before_seq: z.number().nullable(),
      }),
      "Audit entries",
    ),
    ...ERROR_RESPONSES,
  },
});

const verify = createRoute({
  method: "get",
  path: "/audit/verify",
  tags,
  security: SECURITY,
  summary: "Verify the audit hash chain; reports every modified, deleted, inserted or reordered entry",
  responses: { 200: jsonResponse(AuditReportSchema, "The chain report"), ...ERROR_RESPONSES },
});

const exportRoute = createRoute({
  method: "get",
  path: "/audit/export",
  tags,
  security: SECURITY,
  summary: "Export audit entries (all matching, oldest first) as JSON or CSV",
  request: { query: AuditExportQuery },
  responses: {
    200: {
      description: "Entries as JSON array or CSV",
      content: {
        "application/json": { schema: z.array(AuditEntrySchema) },
        "text/csv": { schema: z.string() },
      },
    },
    ...ERROR_RESPONSES,
  },
});

function requireAuditRead(p: Principal): void {
  if (!roleAllows(p.role, "audit.read")) throw forbidden("your role may not read the audit log");
}

type AuditQueryInput = Omit<z.infer<typeof AuditQuery>, "limit" | "before_seq">;

/** The query's filter, kept within the projects a limited principal may see. */
function toFilter(q: AuditQueryInput, p: Principal): Omit<AuditFilter, "limit"> {
  if (q.project_id) requireProjectAccess(p, q.project_id, "project");
  const scope = projectScope(p);
  return {
    ...(scope !== null ? { projectIds: scope } : {}),
    ...(q.action ? { action: q.action } : {}),
    ...(q.actor_id ? { actorId: q.actor_id } : {}),
    ...(q.target_id ? { targetId: q.target_id } : {}),
    ...(q.project_id ? { projectId: q.project_id } : {}),
    ...(q.since ? { since: Date.parse(q.since) } : {}),
    ...(q.until ? { until: Date.parse(q.until) } : {}),
  };
}

/** What these routes use, and nothing more. */
export interface AuditRouteDeps {
  store: Database;
}

export function auditRoutes(deps: AuditRouteDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  app.openapi(list, async (c) => {
    requireAuditRead(c.get("principal"));
    const q = c.req.valid("query");
    const rows = await listAudit(deps.store.db, {
      ...toFilter(q, c.get("principal")),
      ...(q.before_seq ? { beforeSeq: q.before_seq } : {}),
      limit: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    const hasMore = rows.length > q.limit;
    // Names are looked up as the page is read, not stored: the chain covers what happened,
    // and a person renamed later reads under their current name.
    const names = await actorNames(
      deps.store.db,
      page.map((e) => e.actor_id),
    );
    const data = page.map((e) => ({ ...e, actor_name: names.get(e.actor_id) ?? null }));
    return c.json(
      {
        object: "list" as const,
        data,
        has_more: hasMore,
        next_before_seq: hasMore ? data.at(-1)!.seq : null,
      },
      200,
    );
  });
  app.openapi(verify, async (c) => {
    requireAuditRead(c.get("principal"));
    return c.json(await verifyAuditChain(deps.store.db), 200);
  });
  app.openapi(exportRoute, async (c) => {
    requireAuditRead(c.get("principal"));
    const q = c.req.valid("query");
    const chunks = exportAudit(deps.store.db, toFilter(q, c.get("principal")), q.format);
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(new TextEncoder().encode(next.value));
      },
      async cancel() {
        await chunks.return(undefined);
      },
    });
    const csv = q.format === "csv";
    return c.body(body, 200, {
      "content-type": csv ? "text/csv; charset=utf-8" : "application/json",
      ...(csv ? { "content-disposition": 'attachment; filename="keyward-audit.csv"' } : {}),
    });
  });
  return app;
}
