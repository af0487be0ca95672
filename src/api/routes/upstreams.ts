import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { UpstreamService } from "../../upstreams/service.js";
import type { ApiEnv } from "../env.js";
import { ERROR_RESPONSES, jsonBody, jsonResponse, SECURITY } from "../openapi.js";
import { ProjectIdParam } from "../schemas.js";
import {
  CreateUpstreamBody,
  UpdateUpstreamBody,
  UpstreamIdParam,
  UpstreamListSchema,
  UpstreamSchema,
} from "../schemas/upstreams.js";

const tags = ["upstreams"];

const create = createRoute({
  method: "post",
  path: "/projects/{project_id}/upstreams",
  tags,
  security: SECURITY,
  summary: "Add an upstream provider credential to a project (the key is encrypted; shown masked)",
  request: { params: ProjectIdParam, body: jsonBody(CreateUpstreamBody) },
  responses: { 201: jsonResponse(UpstreamSchema, "The upstream (key masked)"), ...ERROR_RESPONSES },
});

const list = createRoute({
  method: "get",
  path: "/projects/{project_id}/upstreams",
  tags,
  security: SECURITY,
  summary: "List a project's upstreams (keys masked), preferred first",
  request: { params: ProjectIdParam },
  responses: {
    200: jsonResponse(UpstreamListSchema, "Upstreams, lowest priority value first"),
    ...ERROR_RESPONSES,
  },
});

const get = createRoute({
  method: "get",
  path: "/upstreams/{upstream_id}",
  tags,
  security: SECURITY,
  summary: "Get an upstream (key masked)",
  request: { params: UpstreamIdParam },
  responses: { 200: jsonResponse(UpstreamSchema, "The upstream"), ...ERROR_RESPONSES },
});

const update = createRoute({
  method: "patch",
  path: "/upstreams/{upstream_id}",
  tags,
  security: SECURITY,
  summary: "Change an upstream's name, base URL, API key, organization, project or priority",
  request: { params: UpstreamIdParam, body: jsonBody(UpdateUpstreamBody) },
  responses: { 200: jsonResponse(UpstreamSchema, "The upstream"), ...ERROR_RESPONSES },
});

const del = createRoute({
  method: "delete",
  path: "/upstreams/{upstream_id}",
  tags,
  security: SECURITY,
  summary: "Delete an upstream (its project falls back to the next one, or the default)",
  request: { params: UpstreamIdParam },
  responses: { 204: { description: "Deleted" }, ...ERROR_RESPONSES },
});

/** `/projects/{id}/upstreams` and `/upstreams/{id}`: upstream provider credentials. */
/** What these routes use, and nothing more. */
export interface UpstreamRouteDeps {
  upstreams: UpstreamService;
}

export function upstreamRoutes(deps: UpstreamRouteDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  app.openapi(create, async (c) =>
    c.json(
      await deps.upstreams.create(c.get("principal"), c.req.valid("param").project_id, c.req.valid("json")),
      201,
    ),
  );
  app.openapi(list, async (c) => {
    const data = await deps.upstreams.list(c.get("principal"), c.req.valid("param").project_id);
    return c.json({ object: "list" as const, data }, 200);
  });
  app.openapi(get, async (c) =>
    c.json(await deps.upstreams.get(c.get("principal"), c.req.valid("param").upstream_id), 200),
  );
  app.openapi(update, async (c) =>
    c.json(
      await deps.upstreams.update(c.get("principal"), c.req.valid("param").upstream_id, c.req.valid("json")),
      200,
    ),
  );
  app.openapi(del, async (c) => {
    await deps.upstreams.delete(c.get("principal"), c.req.valid("param").upstream_id);
    return c.body(null, 204);
  });
  return app;
}
