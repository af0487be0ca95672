import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { KeyVerifier } from "../../keys/verify.js";
import { forbidden } from "../../core/errors.js";
import { isoOrNull } from "../../core/objects.js";
import { mayAccessProject, roleAllows } from "../../core/roles.js";
import type { VerifyOutcome } from "../../keys/verify.js";
import type { ApiEnv } from "../env.js";
import { ERROR_RESPONSES, jsonBody, jsonResponse, SECURITY } from "../openapi.js";
import { VerifyBody, VerifyResultSchema } from "../schemas.js";

const verify = createRoute({
  method: "post",
  path: "/keys/verify",
  tags: ["keys"],
  security: SECURITY,
  summary: "Verify a key (for services not behind the gateway)",
  description:
    "Always 200 for a well-formed request: the outcome is in `code`. Only the presented key is described; NOT_FOUND and MALFORMED carry no key fields.",
  request: { body: jsonBody(VerifyBody) },
  responses: { 200: jsonResponse(VerifyResultSchema, "The verification result"), ...ERROR_RESPONSES },
});

/** Renders an outcome; key fields only when the presented key exists. */
export function verifyResultBody(o: VerifyOutcome) {
  const k = o.key;
  return {
    valid: o.code === "VALID",
    code: o.code,
    key_id: k?.keyId ?? null,
    project_id: k?.projectId ?? null,
    name: k?.name ?? null,
    environment: k?.environment ?? null,
    permissions: k?.permissions ?? null,
    allowed_models: k?.allowedModels ?? null,
    expires_at: k ? isoOrNull(k.expiresAt) : null,
    message: o.message ?? null,
  };
}

/** What these routes use, and nothing more. */
export interface VerifyRouteDeps {
  verifier: KeyVerifier;
}

export function verifyRoutes(deps: VerifyRouteDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  app.openapi(verify, async (c) => {
    if (!roleAllows(c.get("principal").role, "keys.verify")) throw forbidden("your role may not verify keys");
    const b = c.req.valid("json");
    const outcome = await deps.verifier.verify({
      key: b.key,
      ...(b.resource ? { resource: b.resource } : {}),
      ...(b.access ? { access: b.access } : {}),
      ...(b.model ? { models: [b.model] } : {}),
      ...(b.ip ? { ip: b.ip } : {}),
    });
    // A principal limited to some projects learns nothing about keys of the others.
    if (outcome.key && !mayAccessProject(c.get("principal"), outcome.key.projectId))
      return c.json(verifyResultBody({ code: "NOT_FOUND", message: "no such key" }), 200);
    return c.json(verifyResultBody(outcome), 200);
  });
  return app;
}
