import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Alerting } from "../../alerts/alerting.js";
import { LIFECYCLE_EVENT_TYPES, RULE_EVENT_TYPES } from "../../alerts/catalogue.js";
import { BUDGET_THRESHOLDS } from "../../limits/limit-alerts.js";
import type { ApiEnv } from "../env.js";
import { ERROR_RESPONSES, jsonBody, jsonResponse, SECURITY } from "../openapi.js";
import {
  CreateWebhookBody,
  DeliveryListSchema,
  EventTypeListSchema,
  ListDeliveriesQuery,
  ListWebhooksQuery,
  UpdateWebhookBody,
  WebhookIdParam,
  WebhookListSchema,
  WebhookSchema,
  WebhookTestSchema,
  WebhookWithSecretSchema,
} from "../schemas/webhooks.js";

const tags = ["webhooks"];

const create = createRoute({
  method: "post",
  path: "/webhooks",
  tags,
  security: SECURITY,
  summary: "Add a webhook (its signing secret is in this response only)",
  request: { body: jsonBody(CreateWebhookBody) },
  responses: { 201: jsonResponse(WebhookWithSecretSchema, "The webhook and its secret"), ...ERROR_RESPONSES },
});

const list = createRoute({
  method: "get",
  path: "/webhooks",
  tags,
  security: SECURITY,
  summary: "List webhooks (URLs and secrets masked)",
  request: { query: ListWebhooksQuery },
  responses: { 200: jsonResponse(WebhookListSchema, "Webhooks, oldest first"), ...ERROR_RESPONSES },
});

const get = createRoute({
  method: "get",
  path: "/webhooks/{webhook_id}",
  tags,
  security: SECURITY,
  summary: "Get a webhook",
  request: { params: WebhookIdParam },
  responses: { 200: jsonResponse(WebhookSchema, "The webhook"), ...ERROR_RESPONSES },
});

const update = createRoute({
  method: "patch",
  path: "/webhooks/{webhook_id}",
  tags,
  security: SECURITY,
  summary: "Change a webhook's URL, project filter, event types, description or enabled flag",
  request: { params: WebhookIdParam, body: jsonBody(UpdateWebhookBody) },
  responses: { 200: jsonResponse(WebhookSchema, "The webhook"), ...ERROR_RESPONSES },
});

const del = createRoute({
  method: "delete",
  path: "/webhooks/{webhook_id}",
  tags,
  security: SECURITY,
  summary: "Delete a webhook with its undelivered messages and delivery log",
  request: { params: WebhookIdParam },
  responses: { 204: { description: "Deleted" }, ...ERROR_RESPONSES },
});

const deliveries = createRoute({
  method: "get",
  path: "/webhooks/{webhook_id}/deliveries",
  tags,
  security: SECURITY,
  summary: "The webhook's delivery log: each attempt, its status, duration, error and next retry",
  request: { params: WebhookIdParam, query: ListDeliveriesQuery },
  responses: { 200: jsonResponse(DeliveryListSchema, "Attempts, newest first"), ...ERROR_RESPONSES },
});

const test = createRoute({
  method: "post",
  path: "/webhooks/{webhook_id}/test",
  tags,
  security: SECURITY,
  summary: "Send a signed webhook.test event now and report the attempt",
  request: { params: WebhookIdParam },
  responses: { 200: jsonResponse(WebhookTestSchema, "The attempt (delivered or not)"), ...ERROR_RESPONSES },
});

const eventTypes = createRoute({
  method: "get",
  path: "/webhooks/event-types",
  tags,
  security: SECURITY,
  summary: "The event catalogue a webhook can subscribe to, and the fixed budget thresholds",
  responses: { 200: jsonResponse(EventTypeListSchema, "Event types"), ...ERROR_RESPONSES },
});

/** `/webhooks`: where alerts go, and their delivery log. */
/** What these routes use, and nothing more. */
export interface WebhookRouteDeps {
  alerting: Alerting;
}

export function webhookRoutes(deps: WebhookRouteDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  const webhooks = deps.alerting.webhooks;
  // Static, so any signed-in principal may read it; before /webhooks/{webhook_id} so it is not
  // taken for an id.
  app.openapi(eventTypes, (c) =>
    c.json(
      {
        object: "list" as const,
        data: [
          ...RULE_EVENT_TYPES.map((type) => ({ type, kind: "rule" as const })),
          ...LIFECYCLE_EVENT_TYPES.map((type) => ({ type, kind: "lifecycle" as const })),
        ],
        budget_thresholds_percent: [...BUDGET_THRESHOLDS],
      },
      200,
    ),
  );
  app.openapi(create, async (c) =>
    c.json(await webhooks.create(c.get("principal"), c.req.valid("json")), 201),
  );
  app.openapi(list, async (c) => {
    const data = await webhooks.list(c.get("principal"), c.req.valid("query").project_id);
    return c.json({ object: "list" as const, data }, 200);
  });
  app.openapi(get, async (c) =>
    c.json(await webhooks.get(c.get("principal"), c.req.valid("param").webhook_id), 200),
  );
  app.openapi(update, async (c) =>
    c.json(
      await webhooks.update(c.get("principal"), c.req.valid("param").webhook_id, c.req.valid("json")),
      200,
    ),
  );
  app.openapi(del, async (c) => {
    await webhooks.delete(c.get("principal"), c.req.valid("param").webhook_id);
    return c.body(null, 204);
  });
  app.openapi(deliveries, async (c) => {
    const q = c.req.valid("query");
    const r = await webhooks.deliveries(c.get("principal"), c.req.valid("param").webhook_id, {
      limit: q.limit,
      ...(q.after ? { after: q.after } : {}),
    });
    return c.json({ object: "list" as const, ...r, next_cursor: r.has_more ? r.data.at(-1)!.id : null }, 200);
  });
  app.openapi(test, async (c) =>
    c.json(await webhooks.test(c.get("principal"), c.req.valid("param").webhook_id), 200),
  );
  return app;
}
