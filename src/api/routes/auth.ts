import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Actor } from "../../audit/types.js";
import { KeywardError } from "../../core/errors.js";
import type { InvitationService } from "../../people/invitations.js";
import type { SessionService } from "../../people/sessions.js";
import type { UserService } from "../../people/users.js";
import type { ApiEnv } from "../env.js";
import { errorBody } from "../errors.js";
import { ERROR_RESPONSES, jsonBody, jsonResponse } from "../openapi.js";
import {
  AcceptBody,
  InvitationLookupSchema,
  LoginBody,
  SessionIdParam,
  SessionList,
  TokenParam,
  UserEnvelope,
} from "../schemas/people.js";
import { ErrorSchema } from "../schemas.js";
import { clearSessionCookie, requestIsHttps, sessionToken, setSessionCookie } from "../session-cookie.js";

const tags = ["auth"];
const SESSION: Array<Record<string, string[]>> = [{ SessionCookie: [] }];
const error = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorSchema } },
});

const login = createRoute({
  method: "post",
  path: "/auth/login",
  tags,
  summary: "Sign in with email and password (sets the session cookie)",
  request: { body: jsonBody(LoginBody) },
  responses: {
    200: jsonResponse(UserEnvelope, "Signed in; Set-Cookie: keyward_session"),
    ...ERROR_RESPONSES,
    401: error("invalid_credentials: unknown email, wrong password or disabled user, alike"),
    429: error("too_many_attempts: throttled per account and per IP; see Retry-After"),
  },
});

const logout = createRoute({
  method: "post",
  path: "/auth/logout",
  tags,
  security: SESSION,
  summary: "Sign out: ends the session on the server and clears the cookie",
  responses: { 204: { description: "Signed out" }, ...ERROR_RESPONSES },
});

const me = createRoute({
  method: "get",
  path: "/auth/me",
  tags,
  security: SESSION,
  summary: "The signed-in person",
  responses: { 200: jsonResponse(UserEnvelope, "The user"), ...ERROR_RESPONSES },
});

const lookup = createRoute({
  method: "get",
  path: "/auth/invitations/{token}",
  tags,
  summary: "What a one-time link (setup, invite, reset) is for",
  request: { params: TokenParam },
  responses: {
    200: jsonResponse(InvitationLookupSchema, "The link"),
    ...ERROR_RESPONSES,
    404: error("invitation_not_found"),
    410: error("invitation_used or invitation_expired"),
  },
});

const accept = createRoute({
  method: "post",
  path: "/auth/invitations/{token}/accept",
  tags,
  summary: "Use a one-time link: choose a display name and a password, and be signed in",
  request: { params: TokenParam, body: jsonBody(AcceptBody) },
  responses: {
    200: jsonResponse(UserEnvelope, "Signed in; Set-Cookie: keyward_session"),
    ...ERROR_RESPONSES,
    400: error("weak_password (with the reason) or invalid_request"),
    404: error("invitation_not_found"),
    410: error("invitation_used or invitation_expired"),
  },
});

const sessions = createRoute({
  method: "get",
  path: "/auth/sessions",
  tags,
  security: SESSION,
  summary: "The signed-in person's sessions",
  responses: { 200: jsonResponse(SessionList, "Sessions, newest first"), ...ERROR_RESPONSES },
});

const endSession = createRoute({
  method: "delete",
  path: "/auth/sessions/{id}",
  tags,
  security: SESSION,
  summary: "End one of your own sessions",
  request: { params: SessionIdParam },
  responses: { 204: { description: "Ended" }, ...ERROR_RESPONSES },
});

/** What these routes use, and nothing more. */
export interface AuthRouteDeps {
  users: UserService;
  sessions: SessionService;
  invitations: InvitationService;
  trustProxy: boolean;
}

/**
 * Signing in and out, and one-time links. These routes authenticate by session cookie only
 * (an admin key is not a person); the CSRF guard runs before them (see app.ts).
 */
export function authRoutes(deps: AuthRouteDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  const actorOf = (c: Context<ApiEnv>): Actor => ({
    id: "anonymous",
    role: null,
    ip: c.get("clientIp"),
    userAgent: c.req.header("user-agent") ?? null,
  });
  const signedIn = async (c: Context<ApiEnv>) => {
    const token = sessionToken(c);
    const s = token === undefined ? null : await deps.sessions.authenticate(token, actorOf(c));
    if (!s) throw new KeywardError("unauthorized", "not signed in");
    return s;
  };
  const secure = (c: Context<ApiEnv>) => requestIsHttps(c, deps.trustProxy);

  app.openapi(login, async (c) => {
    const { email, password } = c.req.valid("json");
    const r = await deps.users.login(email, password, actorOf(c), sessionToken(c) ?? null);
    if (!r.ok) {
      const requestId = c.get("requestId");
      if (r.code === "too_many_attempts")
        return c.json(
          errorBody(
            "too_many_attempts",
            `too many failed sign-ins; try again in ${r.retryAfterSeconds} s`,
            requestId,
          ),
          429,
          { "retry-after": String(r.retryAfterSeconds) },
        );
      return c.json(errorBody("invalid_credentials", "wrong email or password", requestId), 401);
    }
    setSessionCookie(c, r.token, deps.sessions.maxAgeMs, secure(c));
    return c.json({ user: r.user }, 200);
  });

  app.openapi(logout, async (c) => {
    const token = sessionToken(c);
    const s = token === undefined ? null : await deps.sessions.authenticate(token, actorOf(c));
    if (s) await deps.sessions.end(s.principal, s.sessionId);
    clearSessionCookie(c, secure(c));
    return c.body(null, 204);
  });

  app.openapi(me, async (c) => {
    const s = await signedIn(c);
    return c.json({ user: await deps.users.self(s.userId) }, 200);
  });

  app.openapi(lookup, async (c) => c.json(await deps.invitations.lookup(c.req.valid("param").token), 200));

  app.openapi(accept, async (c) => {
    const r = await deps.invitations.accept(c.req.valid("param").token, c.req.valid("json"), actorOf(c));
    // A session the browser held before is replaced, never upgraded (new token, old one ended).
    const before = sessionToken(c);
    const replaced = before === undefined ? null : await deps.sessions.idOfToken(before);
    if (replaced && replaced !== r.sessionId) await deps.sessions.end(actorOf(c), replaced);
    setSessionCookie(c, r.token, deps.sessions.maxAgeMs, secure(c));
    return c.json({ user: r.user }, 200);
  });

  app.openapi(sessions, async (c) => {
    const s = await signedIn(c);
    return c.json({ data: await deps.sessions.list(s.userId, s.sessionId) }, 200);
  });

  app.openapi(endSession, async (c) => {
    const s = await signedIn(c);
    await deps.sessions.revoke(s.principal, s.userId, c.req.valid("param").id);
    return c.body(null, 204);
  });

  return app;
}
