import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { ProjectService } from "../../projects/service.js";
import type { ApiEnv } from "../env.js";
import { ERROR_RESPONSES, jsonBody, jsonResponse, SECURITY } from "../openapi.js";
import {
  CreateProjectBody,
  Paging,
  ProjectId,
  ProjectIdParam,
  ProjectListSchema,
  ProjectSchema,
  UpdateProjectBody,
} from "../schemas.js";

const tags = ["projects"];

const create = createRoute({
  method: "post",
  path: "/projects",
  tags,
  security: SECURITY,
  summary: "Create a project",
  request: { body: jsonBody(CreateProjectBody) },
  responses: { 201: jsonResponse(ProjectSchema, "The project"), ...ERROR_RESPONSES },
});

const list = createRoute({
  method: "get",
  path: "/projects",
  tags,
  security: SECURITY,
  summary: "List projects",
  request: { query: z.object({ after: ProjectId.optional(), ...Paging }) },
  responses: { 200: jsonResponse(ProjectListSchema, "Projects, oldest first"), ...ERROR_RESPONSES },
});

const get = createRoute({
  method: "get",
  path: "/projects/{project_id}",
  tags,
  security: SECURITY,
  summary: "Get a project",
  request: { params: ProjectIdParam },
  responses: { 200: jsonResponse(ProjectSchema, "The project"), ...ERROR_RESPONSES },
});

const update = createRoute({
  method: "patch",
  path: "/projects/{project_id}",
  tags,
  security: SECURITY,
  summary: "Rename or describe a project",
  request: { params: ProjectIdParam, body: jsonBody(UpdateProjectBody) },
  responses: { 200: jsonResponse(ProjectSchema, "The project"), ...ERROR_RESPONSES },
});

/** What these routes use, and nothing more. */
export interface ProjectRouteDeps {
  projects: ProjectService;
}

export function projectRoutes(deps: ProjectRouteDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  app.openapi(create, async (c) =>
    c.json(await deps.projects.create(c.get("principal"), c.req.valid("json")), 201),
  );
  app.openapi(list, async (c) => {
    const q = c.req.valid("query");
    const rows = await deps.projects.list(c.get("principal"), {
      limit: q.limit + 1,
      ...(q.after ? { after: q.after } : {}),
    });
    const data = rows.slice(0, q.limit);
    const hasMore = rows.length > q.limit;
    return c.json(
      { object: "list" as const, data, has_more: hasMore, next_cursor: hasMore ? data.at(-1)!.id : null },
      200,
    );
  });
  app.openapi(get, async (c) =>
    c.json(await deps.projects.get(c.get("principal"), c.req.valid("param").project_id), 200),
  );
  app.openapi(update, async (c) =>
    c.json(
      await deps.projects.update(c.get("principal"), c.req.valid("param").project_id, c.req.valid("json")),
      200,
    ),
  );
  return app;
}
