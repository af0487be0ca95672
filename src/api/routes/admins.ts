import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AdminService } from "../../admins/service.js";
import type { ApiEnv } from "../env.js";
import { ERROR_RESPONSES, jsonBody, jsonResponse, SECURITY } from "../openapi.js";
import { AdminKeyIdParam, AdminKeySchema, CreateAdminKeyBody } from "../schemas.js";
import { ROLES } from "../../core/roles.js";

const tags = ["admin keys"];

const create = createRoute({
  method: "post",
  path: "/admin-keys",
  tags,
  security: SECURITY,
  summary: "Create an admin key with a role (the secret is in this response only)",
  request: { body: jsonBody(CreateAdminKeyBody) },
  responses: {
    201: jsonResponse(AdminKeySchema.extend({ key: z.string() }), "The admin key and its secret"),
    ...ERROR_RESPONSES,
  },
});

const list = createRoute({
  method: "get",
  path: "/admin-keys",
  tags,
  security: SECURITY,
  summary: "List admin keys (masked)",
  responses: {
    200: jsonResponse(z.object({ object: z.literal("list"), data: z.array(AdminKeySchema) }), "Admin keys"),
    ...ERROR_RESPONSES,
  },
});

const revoke = createRoute({
  method: "post",
  path: "/admin-keys/{admin_key_id}/revoke",
  tags,
  security: SECURITY,
  summary: "Revoke an admin key",
  request: { params: AdminKeyIdParam },
  responses: { 200: jsonResponse(AdminKeySchema, "The revoked admin key"), ...ERROR_RESPONSES },
});

const me = createRoute({
  method: "get",
  path: "/me",
  tags,
  security: SECURITY,
  summary: "Who am I: the calling admin key's id, name and role",
  responses: {
    200: jsonResponse(z.object({ id: z.string(), name: z.string(), role: z.enum(ROLES) }), "The principal"),
    ...ERROR_RESPONSES,
  },
});

/** What these routes use, and nothing more. */
export interface AdminRouteDeps {
  admins: AdminService;
}

export function adminRoutes(deps: AdminRouteDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  app.openapi(create, async (c) => {
    const r = await deps.admins.create(c.get("principal"), c.req.valid("json"));
    return c.json({ ...r.admin, key: r.key }, 201);
  });
  app.openapi(list, async (c) =>
    c.json({ object: "list" as const, data: await deps.admins.list(c.get("principal")) }, 200),
  );
  app.openapi(revoke, async (c) =>
    c.json(await deps.admins.revoke(c.get("principal"), c.req.valid("param").admin_key_id), 200),
  );
  app.openapi(me, (c) => {
    const p = c.get("principal");
    return c.json({ id: p.id, name: p.name, role: p.role }, 200);
  });
  return app;
}
