import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { DestinationService } from "../../destinations/service.js";
import type { ApiEnv } from "../env.js";
import { ERROR_RESPONSES, jsonBody, jsonResponse, SECURITY } from "../openapi.js";
import { KeyIdParam } from "../schemas.js";
import {
  AddedDestinationSchema,
  DestinationIdParam,
  DestinationInputSchema,
  DestinationListSchema,
} from "../schemas/destinations.js";

const tags = ["keys"];

const add = createRoute({
  method: "post",
  path: "/keys/{key_id}/destinations",
  tags,
  security: SECURITY,
  summary: "Add a secret destination (AWS Secrets Manager, Vault KV v2, signed webhook)",
  description:
    "The destination receives the key's secret from its next rotation on (keyward keeps only a hash of the current one). A webhook destination's signing secret is in this response only.",
  request: { params: KeyIdParam, body: jsonBody(DestinationInputSchema) },
  responses: { 201: jsonResponse(AddedDestinationSchema, "The destination"), ...ERROR_RESPONSES },
});

const list = createRoute({
  method: "get",
  path: "/keys/{key_id}/destinations",
  tags,
  security: SECURITY,
  summary: "List a key's secret destinations, each with its latest push",
  request: { params: KeyIdParam },
  responses: { 200: jsonResponse(DestinationListSchema, "Destinations, oldest first"), ...ERROR_RESPONSES },
});

const remove = createRoute({
  method: "delete",
  path: "/keys/{key_id}/destinations/{destination_id}",
  tags,
  security: SECURITY,
  summary: "Remove a secret destination (a pending push to it is dropped; the secret manager is not touched)",
  request: { params: KeyIdParam.merge(DestinationIdParam) },
  responses: { 204: { description: "Removed" }, ...ERROR_RESPONSES },
});

/** What these routes use. */
export interface DestinationRouteDeps {
  destinations: Pick<DestinationService, "add" | "list" | "remove">;
}

export function destinationRoutes(deps: DestinationRouteDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  app.openapi(add, async (c) =>
    c.json(
      await deps.destinations.add(c.get("principal"), c.req.valid("param").key_id, c.req.valid("json")),
      201,
    ),
  );
  app.openapi(list, async (c) => {
    const data = await deps.destinations.list(c.get("principal"), c.req.valid("param").key_id);
    return c.json({ object: "list" as const, data }, 200);
  });
  app.openapi(remove, async (c) => {
    const { key_id, destination_id } = c.req.valid("param");
    await deps.destinations.remove(c.get("principal"), key_id, destination_id);
    return c.body(null, 204);
  });
  return app;
}
