import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Principal } from "../../audit/types.js";
import { projectScope, requireProjectAccess } from "../../core/project-access.js";
import type { Database } from "../../store/database.js";
import { forbidden, KeywardError } from "../../core/errors.js";
import { roleAllows } from "../../core/roles.js";
import { usageCsvChunks } from "../../usage/csv.js";
import { queryUsage, queryUsageCsv, USAGE_GROUPS, type UsageFilter } from "../../usage/query.js";
import type { ApiEnv } from "../env.js";
import { ERROR_RESPONSES, jsonResponse, SECURITY } from "../openapi.js";
import { KeyId, ProjectId } from "../schemas.js";

const UsageQuery = z.object({
  group_by: z.enum(USAGE_GROUPS).default("day"),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  key_id: KeyId.optional(),
  project_id: ProjectId.optional(),
  model: z.string().min(1).max(256).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

const UsageRowSchema = z
  .object({
    group: z.string(),
    name: z
      .string()
      .nullable()
      .openapi({ description: "The key's or project's name (group_by key/project)" }),
    requests: z.number(),
    errors: z.number(),
    prompt_tokens: z.number(),
    completion_tokens: z.number(),
    cached_tokens: z.number(),
    cost_micros: z.number().openapi({ description: "Cost in USD × 10⁻⁶" }),
    cost_usd: z.number(),
  })
  .openapi("UsageRow");

const usage = createRoute({
  method: "get",
  path: "/usage",
  tags: ["usage"],
  security: SECURITY,
  summary: "Requests, errors, tokens and cost grouped by key, project, model, day or hour (UTC)",
  request: { query: UsageQuery },
  responses: {
    200: jsonResponse(
      z.object({ object: z.literal("list"), group_by: z.enum(USAGE_GROUPS), data: z.array(UsageRowSchema) }),
      "Usage",
    ),
    ...ERROR_RESPONSES,
  },
});

const UsageExportQuery = UsageQuery.extend({
  format: z.enum(["csv", "json"]).default("csv"),
  limit: z.coerce.number().int().min(1).max(100_000).default(100_000),
});

const exportRoute = createRoute({
  method: "get",
  path: "/usage/export",
  tags: ["usage"],
  security: SECURITY,
  summary: "The same usage rows as a CSV file (or a JSON array), up to 100,000 groups",
  request: { query: UsageExportQuery },
  responses: {
    200: {
      description: "Usage rows as CSV (first column named after group_by) or a JSON array",
      content: {
        "text/csv": { schema: z.string() },
        "application/json": { schema: z.array(UsageRowSchema) },
      },
    },
    ...ERROR_RESPONSES,
  },
});

/**
 * The query's filter. A principal limited to some projects reads one of them at a time: the
 * project_id asked for (if theirs), or their only project; with several, project_id is required.
 */
function toFilter(q: z.infer<typeof UsageQuery>, p: Principal): UsageFilter {
  const scope = projectScope(p);
  let projectId = q.project_id;
  if (projectId) requireProjectAccess(p, projectId, "project");
  else if (scope !== null) {
    if (scope.length !== 1)
      throw new KeywardError(
        "invalid_request",
        "your access is limited to some projects: pass project_id to read one of them",
        [{ path: "project_id", message: "required for your access" }],
      );
    projectId = scope[0]!;
  }
  return {
    ...(projectId ? { projectId } : {}),
    groupBy: q.group_by,
    limit: q.limit,
    ...(q.since ? { since: Date.parse(q.since) } : {}),
    ...(q.until ? { until: Date.parse(q.until) } : {}),
    ...(q.key_id ? { keyId: q.key_id } : {}),
    ...(q.model ? { model: q.model } : {}),
  };
}

/** What these routes use, and nothing more. */
export interface UsageRouteDeps {
  store: Database;
}

export function usageRoutes(deps: UsageRouteDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  app.openapi(usage, async (c) => {
    if (!roleAllows(c.get("principal").role, "keys.read")) throw forbidden("your role may not read usage");
    const q = c.req.valid("query");
    const data = await queryUsage(deps.store.db, toFilter(q, c.get("principal")));
    return c.json({ object: "list" as const, group_by: q.group_by, data }, 200);
  });
  app.openapi(exportRoute, async (c) => {
    if (!roleAllows(c.get("principal").role, "keys.read")) throw forbidden("your role may not read usage");
    const q = c.req.valid("query");
    // Queried in full before the first byte, so a store failure is still a clean error response;
    // the rows are aggregates (≤ limit), the body is then streamed in chunks.
    const filter = toFilter(q, c.get("principal"));
    if (q.format === "json") return c.json(await queryUsage(deps.store.db, filter), 200);
    const chunks = usageCsvChunks(q.group_by, await queryUsageCsv(deps.store.db, filter));
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      },
    });
    return c.body(body, 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="keyward-usage-by-${q.group_by}.csv"`,
    });
  });
  return app;
}
