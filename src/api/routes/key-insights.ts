import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Clock } from "../../core/clock.js";
import type { KeyService } from "../../keys/service.js";
import type { AdmissionControl } from "../../limits/admission.js";
import type { ProjectService } from "../../projects/service.js";
import type { Database } from "../../store/database.js";
import { listKeyIps } from "../../usage/key-ip-query.js";
import type { ApiEnv } from "../env.js";
import { ERROR_RESPONSES, jsonResponse, SECURITY } from "../openapi.js";
import { KeyIdParam } from "../schemas.js";

const tags = ["keys"];

const BudgetStatusSchema = z
  .object({
    limit_usd: z.number(),
    spent_usd: z.number().openapi({ description: "Settled spend in the current period" }),
    reserved_usd: z
      .number()
      .openapi({ description: "Held for requests in flight on this replica (released or settled)" }),
    period: z.enum(["day", "week", "month", "lifetime"]),
    timezone: z.string(),
    period_start: z.string(),
    resets_at: z.string().nullable().openapi({ description: "End of the period (null: lifetime)" }),
  })
  .openapi("BudgetStatus");

const KeyBudgetSchema = z
  .object({
    object: z.literal("key_budget"),
    key_id: z.string(),
    key: BudgetStatusSchema.nullable(),
    project: BudgetStatusSchema.nullable(),
  })
  .openapi("KeyBudget", {
    description: "`key`: the key's own budget; `project`: its project's, shared by all its keys (null: none)",
  });

const KeyIpSchema = z
  .object({
    ip: z.string(),
    first_seen_at: z.string().openapi({ description: "First request from this IP with this key" }),
  })
  .openapi("KeyIp");

const IPS_MAX = 100;

const budget = createRoute({
  method: "get",
  path: "/keys/{key_id}/budget",
  tags,
  security: SECURITY,
  summary: "A key's budget status: spent / limit / reset, for the key and for its project",
  request: { params: KeyIdParam },
  responses: { 200: jsonResponse(KeyBudgetSchema, "Budget status"), ...ERROR_RESPONSES },
});

const ips = createRoute({
  method: "get",
  path: "/keys/{key_id}/ips",
  tags,
  security: SECURITY,
  summary: `The client IPs a key was used from (newest first, at most ${IPS_MAX})`,
  request: { params: KeyIdParam },
  responses: {
    200: jsonResponse(
      z.object({ object: z.literal("list"), data: z.array(KeyIpSchema), has_more: z.boolean() }),
      "IPs",
    ),
    ...ERROR_RESPONSES,
  },
});

/** What these routes use, and nothing more. */
export interface KeyInsightDeps {
  clock: Clock;
  keys: Pick<KeyService, "get">;
  projects: Pick<ProjectService, "get">;
  limiter: Pick<AdmissionControl, "budgetStatus">;
  store: Pick<Database, "db">;
}

/**
 * What the console's key detail page shows beside the key itself. Each route first reads the key
 * through KeyService.get, so the role and project-membership checks are those of GET /keys/{id}.
 */
export function keyInsightRoutes(deps: KeyInsightDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();

  app.openapi(budget, async (c) => {
    const principal = c.get("principal");
    const key = await deps.keys.get(principal, c.req.valid("param").key_id);
    const project = await deps.projects.get(principal, key.project_id);
    const now = deps.clock.now();
    return c.json(
      {
        object: "key_budget" as const,
        key_id: key.id,
        key: await deps.limiter.budgetStatus("key", key.id, key.limits, now),
        project: await deps.limiter.budgetStatus("project", project.id, project.limits, now),
      },
      200,
    );
  });

  app.openapi(ips, async (c) => {
    const key = await deps.keys.get(c.get("principal"), c.req.valid("param").key_id);
    const rows = await listKeyIps(deps.store.db, key.id, IPS_MAX + 1);
    return c.json(
      {
        object: "list" as const,
        data: rows
          .slice(0, IPS_MAX)
          .map((r) => ({ ip: r.ip, first_seen_at: new Date(r.first_seen_at).toISOString() })),
        has_more: rows.length > IPS_MAX,
      },
      200,
    );
  });

  return app;
}
