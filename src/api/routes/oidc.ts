import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { KeywardError } from "../../core/errors.js";
import { ModelPatternSchema, PermissionsSchema } from "../../core/permissions.js";
import { CheckedKey, type KeyVerifier } from "../../keys/verify.js";
import type { KeyService } from "../../keys/service.js";
import type { TrustService } from "../../oidc/service.js";
import { refuseBodiesOver } from "../body-limit.js";
import type { ApiEnv } from "../env.js";
import { validationError } from "../errors.js";
import { ERROR_RESPONSES, jsonBody, jsonResponse, SECURITY } from "../openapi.js";
import { KeySchema, KeyWithSecretSchema, Name, ProjectIdParam } from "../schemas.js";

const tags = ["oidc"];

const Grant = z
  .object({
    permissions: PermissionsSchema.optional(),
    allowed_models: z.array(ModelPatternSchema).min(1).max(100).optional(),
    max_ttl_seconds: z
      .number()
      .int()
      .min(60)
      .max(30 * 86400),
    budget_usd: z.number().gt(0).max(1_000_000).optional(),
    rpm: z.number().int().min(1).max(10_000_000).optional(),
  })
  .strict();

const CreateTrustPolicyBody = z
  .object({
    name: Name,
    issuer: z
      .url({ protocol: /^https?$/ })
      .openapi({ example: "https://token.actions.githubusercontent.com" }),
    audience: z.string().min(1).max(256).openapi({ example: "keyward" }),
    conditions: z
      .record(z.string().min(1).max(64), z.string().min(1).max(256))
      .refine((c) => Object.keys(c).length >= 1 && Object.keys(c).length <= 16, "1 to 16 conditions")
      .openapi({
        description: "Claim → pattern (`*` matches any run of characters); all must match",
        example: { repository: "acme/app", ref: "refs/heads/main" },
      }),
    grant: Grant,
  })
  .strict()
  .openapi("CreateTrustPolicy");

const TrustPolicySchema = CreateTrustPolicyBody.extend({
  id: z.string(),
  project_id: z.string(),
  created_at: z.string(),
  created_by: z.string(),
}).openapi("TrustPolicy");

const ExchangeBody = z
  .object({
    token: z.string().min(1).max(16_384).openapi({ description: "The CI's OIDC token (a JWT)" }),
    project_id: z.string().optional(),
    ttl_seconds: z.number().int().min(60).optional(),
  })
  .strict()
  .openapi("OidcExchange");

const exchange = createRoute({
  method: "post",
  path: "/oidc/exchange",
  tags,
  summary: "Exchange a CI's OIDC token for an ephemeral key",
  description:
    "No admin key: the token is the credential. It must be signed (RS/PS/ES/EdDSA) by the issuer's published keys, unexpired, never exchanged before (jti), and match a project's trust policy; the key carries that policy's grant.",
  request: { body: jsonBody(ExchangeBody) },
  responses: { 201: jsonResponse(KeyWithSecretSchema, "The ephemeral key, shown once"), ...ERROR_RESPONSES },
});

const revokeSelf = createRoute({
  method: "post",
  path: "/keys/self/revoke",
  tags,
  summary: "Revoke the gateway key presented in Authorization (a run ending)",
  responses: { 200: jsonResponse(KeySchema, "The revoked key"), ...ERROR_RESPONSES },
});

const createPolicy = createRoute({
  method: "post",
  path: "/projects/{project_id}/trust-policies",
  tags,
  security: SECURITY,
  summary: "Trust a CI identity (OIDC) to mint ephemeral keys",
  request: { params: ProjectIdParam, body: jsonBody(CreateTrustPolicyBody) },
  responses: { 201: jsonResponse(TrustPolicySchema, "The policy"), ...ERROR_RESPONSES },
});

const listPolicies = createRoute({
  method: "get",
  path: "/projects/{project_id}/trust-policies",
  tags,
  security: SECURITY,
  summary: "List a project's trust policies",
  request: { params: ProjectIdParam },
  responses: {
    200: jsonResponse(z.object({ object: z.literal("list"), data: z.array(TrustPolicySchema) }), "Policies"),
    ...ERROR_RESPONSES,
  },
});

const deletePolicy = createRoute({
  method: "delete",
  path: "/trust-policies/{policy_id}",
  tags,
  security: SECURITY,
  summary: "Stop trusting a CI identity",
  request: {
    params: z.object({ policy_id: z.string().openapi({ param: { name: "policy_id", in: "path" } }) }),
  },
  responses: { 204: { description: "Deleted" }, ...ERROR_RESPONSES },
});

/** What the public routes use, and nothing more. */
export interface OidcRouteDeps {
  trust: TrustService;
  keys: KeyService;
  verifier: KeyVerifier;
  brand: string;
  maxBodyBytes: number;
}

function origin(c: Context<ApiEnv>): { ip: string | null; userAgent: string | null } {
  return { ip: c.get("clientIp"), userAgent: c.req.header("user-agent") ?? null };
}

/**
 * The exchange and self-revocation: no admin key (the OIDC token, or the key itself, is the
 * credential), so they are mounted before the admin-authenticated API.
 */
export function oidcRoutes(deps: OidcRouteDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.target, result.error);
    },
  });
  app.use("/oidc/*", refuseBodiesOver(deps.maxBodyBytes));

  app.openapi(exchange, async (c) => {
    const b = c.req.valid("json");
    const key = await deps.trust.exchange({
      token: b.token,
      projectId: b.project_id,
      ttlSeconds: b.ttl_seconds,
      ...origin(c),
    });
    return c.json(key, 201);
  });

  app.openapi(revokeSelf, async (c) => {
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    const checked = m ? CheckedKey.check(m[1]!, deps.brand) : null;
    if (!checked) throw new KeywardError("unauthorized", "present the key to revoke as a Bearer token");
    const outcome = await deps.verifier.verify({ key: checked });
    if (!outcome.key) throw new KeywardError("unauthorized", "unknown key");
    const { ip, userAgent } = origin(c);
    return c.json(await deps.keys.revokeSelf(outcome.key.keyId, ip, userAgent), 200);
  });
  return app;
}

/** Trust policy management, inside the admin-authenticated API. */
export function trustPolicyRoutes(deps: { trust: TrustService }): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  app.openapi(createPolicy, async (c) => {
    const policy = await deps.trust.create(
      c.get("principal"),
      c.req.valid("param").project_id,
      c.req.valid("json"),
    );
    return c.json(policy, 201);
  });
  app.openapi(listPolicies, async (c) => {
    const data = await deps.trust.list(c.get("principal"), c.req.valid("param").project_id);
    return c.json({ object: "list" as const, data }, 200);
  });
  app.openapi(deletePolicy, async (c) => {
    await deps.trust.delete(c.get("principal"), c.req.valid("param").policy_id);
    return c.body(null, 204);
  });
  return app;
}
