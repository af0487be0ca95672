import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { forbidden } from "../../core/errors.js";
import { mayGrantRole, roleAllows } from "../../core/roles.js";
import type { InvitationService } from "../../people/invitations.js";
import type { SessionService } from "../../people/sessions.js";
import type { UserService } from "../../people/users.js";
import type { ApiEnv } from "../env.js";
import { ERROR_RESPONSES, jsonBody, jsonResponse, SECURITY } from "../openapi.js";
import {
  CreatedInvitationSchema,
  CreateInvitationBody,
  InvitationIdParam,
  InvitationSchema,
  ResetLinkSchema,
  SessionList,
  UpdateUserBody,
  UserEnvelope,
  UserIdParam,
  UserSchema,
  UserSessionParams,
} from "../schemas/people.js";

const tags = ["people"];

const list = createRoute({
  method: "get",
  path: "/users",
  tags,
  security: SECURITY,
  summary: "List people (admins.read)",
  responses: { 200: jsonResponse(z.object({ data: z.array(UserSchema) }), "People"), ...ERROR_RESPONSES },
});

const invite = createRoute({
  method: "post",
  path: "/users/invitations",
  tags,
  security: SECURITY,
  summary: "Invite a person with a role (the link is in this response only)",
  request: { body: jsonBody(CreateInvitationBody) },
  responses: {
    201: jsonResponse(CreatedInvitationSchema, "The invitation and its link"),
    ...ERROR_RESPONSES,
  },
});

const pending = createRoute({
  method: "get",
  path: "/users/invitations",
  tags,
  security: SECURITY,
  summary: "Pending invitations",
  responses: {
    200: jsonResponse(z.object({ data: z.array(InvitationSchema) }), "Invitations"),
    ...ERROR_RESPONSES,
  },
});

const withdraw = createRoute({
  method: "delete",
  path: "/users/invitations/{id}",
  tags,
  security: SECURITY,
  summary: "Withdraw a pending invitation",
  request: { params: InvitationIdParam },
  responses: { 204: { description: "Withdrawn" }, ...ERROR_RESPONSES },
});

const update = createRoute({
  method: "patch",
  path: "/users/{id}",
  tags,
  security: SECURITY,
  summary: "Change a person's role or project access, or disable them (ends their sessions at once)",
  request: { params: UserIdParam, body: jsonBody(UpdateUserBody) },
  responses: { 200: jsonResponse(UserEnvelope, "The user"), ...ERROR_RESPONSES },
});

const resetLink = createRoute({
  method: "post",
  path: "/users/{id}/reset-link",
  tags,
  security: SECURITY,
  summary: "A one-time link for a person to choose a new password",
  request: { params: UserIdParam },
  responses: { 201: jsonResponse(ResetLinkSchema, "The link (shown once)"), ...ERROR_RESPONSES },
});

const sessions = createRoute({
  method: "get",
  path: "/users/{id}/sessions",
  tags,
  security: SECURITY,
  summary: "A person's sessions",
  request: { params: UserIdParam },
  responses: { 200: jsonResponse(SessionList, "Sessions, newest first"), ...ERROR_RESPONSES },
});

const endSession = createRoute({
  method: "delete",
  path: "/users/{id}/sessions/{sid}",
  tags,
  security: SECURITY,
  summary: "End one of a person's sessions",
  request: { params: UserSessionParams },
  responses: { 204: { description: "Ended" }, ...ERROR_RESPONSES },
});

/** What these routes use, and nothing more. */
export interface UserRouteDeps {
  users: UserService;
  sessions: SessionService;
  invitations: InvitationService;
}

/** People management: the same role checks as admin keys (admins.read / admins.write). */
export function userRoutes(deps: UserRouteDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  app.openapi(list, async (c) => c.json({ data: await deps.users.list(c.get("principal")) }, 200));
  app.openapi(invite, async (c) => {
    const body = c.req.valid("json");
    return c.json(await deps.invitations.invite(c.get("principal"), body), 201);
  });
  app.openapi(pending, async (c) =>
    c.json({ data: await deps.invitations.pending(c.get("principal")) }, 200),
  );
  app.openapi(withdraw, async (c) => {
    await deps.invitations.revoke(c.get("principal"), c.req.valid("param").id);
    return c.body(null, 204);
  });
  app.openapi(update, async (c) =>
    c.json(
      { user: await deps.users.update(c.get("principal"), c.req.valid("param").id, c.req.valid("json")) },
      200,
    ),
  );
  app.openapi(resetLink, async (c) =>
    c.json(await deps.invitations.resetLink(c.get("principal"), c.req.valid("param").id), 201),
  );
  app.openapi(sessions, async (c) => {
    const p = c.get("principal");
    const { id } = c.req.valid("param");
    if (!roleAllows(p.role, "admins.read") && p.id !== id)
      throw forbidden("your role may not read other people");
    await deps.users.get(p, id); // 404 for an unknown user, not an empty list
    return c.json({ data: await deps.sessions.list(id, c.get("sessionId")) }, 200);
  });
  app.openapi(endSession, async (c) => {
    const p = c.get("principal");
    const { id, sid } = c.req.valid("param");
    if (p.id !== id) {
      if (!roleAllows(p.role, "admins.write"))
        throw forbidden("your role may not end other people's sessions");
      const target = await deps.users.get(p, id);
      if (!mayGrantRole(p.role, target.role))
        throw forbidden(`a ${p.role} may not end a ${target.role}'s sessions`);
    }
    await deps.sessions.revoke(p, id, sid);
    return c.body(null, 204);
  });
  return app;
}
