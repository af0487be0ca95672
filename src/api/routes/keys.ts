import type { z } from "@hono/zod-openapi";
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Clock } from "../../core/clock.js";
import type { DestinationService } from "../../destinations/service.js";
import type { SecretPusher } from "../../destinations/pusher.js";
import type { KeyService, MintResult } from "../../keys/service.js";
import type { ProjectService } from "../../projects/service.js";
import type { ApiEnv } from "../env.js";
import { idempotentRequest } from "../idempotency.js";
import { ERROR_RESPONSES, jsonBody, jsonResponse, SECURITY } from "../openapi.js";
import {
  CreateKeyBody,
  CreatedKeySchema,
  IdempotencyHeader,
  KeyIdParam,
  KeyListSchema,
  KeySchema,
  ListKeysQuery,
  ProjectId,
  ProjectIdParam,
  RevokeKeyBody,
  RotatedKeySchema,
  RotateKeyBody,
  UpdateKeyBody,
} from "../schemas.js";

const tags = ["keys"];
const IDEMPOTENT_RESPONSE_HEADER = "Idempotent-Replayed";

const create = createRoute({
  method: "post",
  path: "/projects/{project_id}/keys",
  tags,
  security: SECURITY,
  summary: "Create a key (the secret is in this response only)",
  request: { params: ProjectIdParam, headers: IdempotencyHeader, body: jsonBody(CreateKeyBody) },
  responses: { 201: jsonResponse(CreatedKeySchema, "The key and its secret"), ...ERROR_RESPONSES },
});

const listInProject = createRoute({
  method: "get",
  path: "/projects/{project_id}/keys",
  tags,
  security: SECURITY,
  summary: "List a project's keys (masked)",
  request: { params: ProjectIdParam, query: ListKeysQuery },
  responses: {
    200: jsonResponse(KeyListSchema, "Keys, oldest first unless sorted otherwise"),
    ...ERROR_RESPONSES,
  },
});

const listAll = createRoute({
  method: "get",
  path: "/keys",
  tags,
  security: SECURITY,
  summary: "List keys across projects (masked)",
  request: { query: ListKeysQuery.extend({ project_id: ProjectId.optional() }) },
  responses: {
    200: jsonResponse(KeyListSchema, "Keys, oldest first unless sorted otherwise"),
    ...ERROR_RESPONSES,
  },
});

const get = createRoute({
  method: "get",
  path: "/keys/{key_id}",
  tags,
  security: SECURITY,
  summary: "Get a key (masked)",
  request: { params: KeyIdParam },
  responses: { 200: jsonResponse(KeySchema, "The key"), ...ERROR_RESPONSES },
});

const update = createRoute({
  method: "patch",
  path: "/keys/{key_id}",
  tags,
  security: SECURITY,
  summary: "Update name, permissions, allowlists, metadata or expiry",
  request: { params: KeyIdParam, body: jsonBody(UpdateKeyBody) },
  responses: { 200: jsonResponse(KeySchema, "The key"), ...ERROR_RESPONSES },
});

const statusRoute = (action: "disable" | "enable") =>
  createRoute({
    method: "post",
    path: `/keys/{key_id}/${action}`,
    tags,
    security: SECURITY,
    summary: action === "disable" ? "Disable a key (reversible)" : "Re-enable a disabled key",
    request: { params: KeyIdParam },
    responses: { 200: jsonResponse(KeySchema, "The key"), ...ERROR_RESPONSES },
  });

const revoke = createRoute({
  method: "post",
  path: "/keys/{key_id}/revoke",
  tags,
  security: SECURITY,
  summary: "Revoke a key: immediate and irreversible",
  request: { params: KeyIdParam, body: jsonBody(RevokeKeyBody, false) },
  responses: { 200: jsonResponse(KeySchema, "The revoked key"), ...ERROR_RESPONSES },
});

const rotate = createRoute({
  method: "post",
  path: "/keys/{key_id}/rotate",
  tags,
  security: SECURITY,
  summary: "Rotate (regenerate) a key's secret, optionally with a grace period",
  description:
    "Send an Idempotency-Key to make retries safe: a retry with the same key and body replays the first response (same new secret) and rotates nothing.",
  request: { params: KeyIdParam, headers: IdempotencyHeader, body: jsonBody(RotateKeyBody, false) },
  responses: {
    200: jsonResponse(RotatedKeySchema, "The new secret and until when the old one works"),
    ...ERROR_RESPONSES,
  },
});

const del = createRoute({
  method: "delete",
  path: "/keys/{key_id}",
  tags,
  security: SECURITY,
  summary: "Delete a revoked or expired key's record (if policy allows; the audit trail stays)",
  request: { params: KeyIdParam },
  responses: { 204: { description: "Deleted" }, ...ERROR_RESPONSES },
});

/** What these routes use, and nothing more. */
export interface KeyRouteDeps {
  clock: Clock;
  keys: KeyService;
  projects: ProjectService;
  destinations: Pick<DestinationService, "latestPushes">;
  pusher: Pick<SecretPusher, "pushNow">;
}

export function keyRoutes(deps: KeyRouteDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();

  /**
   * A new secret's pushes are attempted before answering, so the caller learns at once whether
   * its secret managers have it; failures are retried in the background (and alerted).
   */
  const withPushes = async <T extends { id: string }>(r: MintResult<T>): Promise<T> => {
    if (r.pushIds.length === 0 && !r.replayed) return r.body;
    await deps.pusher.pushNow(r.pushIds);
    const pushes = await deps.destinations.latestPushes(r.body.id);
    return pushes.length ? { ...r.body, pushes } : r.body;
  };

  app.openapi(create, async (c) => {
    const { project_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const { ttl_seconds, expires_at, ephemeral, ...rest } = body;
    const expiresAt =
      ttl_seconds !== undefined
        ? deps.clock.now() + ttl_seconds * 1000
        : expires_at
          ? Date.parse(expires_at)
          : null;
    const r = await deps.keys.create(
      c.get("principal"),
      project_id,
      { ...rest, expires_at: expiresAt, ...(ephemeral ? { ephemeral_ttl_seconds: ttl_seconds } : {}) },
      idempotentRequest(c, c.req.valid("header")["idempotency-key"], body),
    );
    if (r.replayed) c.header(IDEMPOTENT_RESPONSE_HEADER, "true");
    return c.json(await withPushes(r), 201);
  });

  const list = async (
    principal: Parameters<typeof deps.keys.list>[0],
    q: z.infer<typeof ListKeysQuery>,
    projectId?: string,
  ) => {
    const r = await deps.keys.list(principal, {
      limit: q.limit,
      ...(q.status ? { status: q.status } : {}),
      ...(q.stale ? { stale: q.stale === "true" } : {}),
      ...(q.rotate_due_before ? { rotateDueBefore: Date.parse(q.rotate_due_before) } : {}),
      ...(q.budgeted ? { budgeted: q.budgeted === "true" } : {}),
      ...(q.after ? { after: q.after } : {}),
      ...(q.q ? { search: q.q } : {}),
      ...(q.sort ? { sort: q.sort } : {}),
      ...(projectId ? { projectId } : {}),
    });
    return { object: "list" as const, ...r, next_cursor: r.has_more ? r.data.at(-1)!.id : null };
  };

  app.openapi(listInProject, async (c) => {
    const { project_id } = c.req.valid("param");
    await deps.projects.get(c.get("principal"), project_id); // 404 for an unknown project, not an empty list
    return c.json(await list(c.get("principal"), c.req.valid("query"), project_id), 200);
  });
  app.openapi(listAll, async (c) => {
    const q = c.req.valid("query");
    return c.json(await list(c.get("principal"), q, q.project_id), 200);
  });

  app.openapi(get, async (c) =>
    c.json(await deps.keys.get(c.get("principal"), c.req.valid("param").key_id), 200),
  );

  app.openapi(update, async (c) => {
    const { expires_at, ...rest } = c.req.valid("json");
    const patch = {
      ...rest,
      ...(expires_at !== undefined
        ? { expires_at: expires_at === null ? null : Date.parse(expires_at) }
        : {}),
    };
    return c.json(await deps.keys.update(c.get("principal"), c.req.valid("param").key_id, patch), 200);
  });

  app.openapi(statusRoute("disable"), async (c) =>
    c.json(await deps.keys.setEnabled(c.get("principal"), c.req.valid("param").key_id, false), 200),
  );
  app.openapi(statusRoute("enable"), async (c) =>
    c.json(await deps.keys.setEnabled(c.get("principal"), c.req.valid("param").key_id, true), 200),
  );

  app.openapi(revoke, async (c) => {
    const body = (c.req.valid("json") ?? {}) as z.infer<typeof RevokeKeyBody>;
    return c.json(
      await deps.keys.revoke(c.get("principal"), c.req.valid("param").key_id, body.reason ?? null),
      200,
    );
  });

  app.openapi(rotate, async (c) => {
    const body = (c.req.valid("json") ?? {}) as Partial<z.infer<typeof RotateKeyBody>>;
    const grace = body.grace_seconds ?? 0;
    const r = await deps.keys.rotate(
      c.get("principal"),
      c.req.valid("param").key_id,
      grace,
      idempotentRequest(c, c.req.valid("header")["idempotency-key"], { grace_seconds: grace }),
    );
    if (r.replayed) c.header(IDEMPOTENT_RESPONSE_HEADER, "true");
    return c.json(await withPushes(r), 200);
  });

  app.openapi(del, async (c) => {
    await deps.keys.delete(c.get("principal"), c.req.valid("param").key_id);
    return c.body(null, 204);
  });

  return app;
}
