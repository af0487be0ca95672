import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppContext } from "../../app/context.js";
import { forbidden } from "../../core/errors.js";
import { roleAllows } from "../../core/roles.js";
import { queryUsage, USAGE_GROUPS } from "../../usage/query.js";
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

export function usageRoutes(ctx: AppContext): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  app.openapi(usage, async (c) => {
    if (!roleAllows(c.get("principal").role, "keys.read")) throw forbidden("your role may not read usage");
    const q = c.req.valid("query");
    const data = await queryUsage(ctx.store.db, {
      groupBy: q.group_by,
      limit: q.limit,
      ...(q.since ? { since: Date.parse(q.since) } : {}),
      ...(q.until ? { until: Date.parse(q.until) } : {}),
      ...(q.key_id ? { keyId: q.key_id } : {}),
      ...(q.project_id ? { projectId: q.project_id } : {}),
      ...(q.model ? { model: q.model } : {}),
    });
    return c.json({ object: "list" as const, group_by: q.group_by, data }, 200);
  });
  return app;
}
