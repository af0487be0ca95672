import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { MiddlewareHandler } from "hono";
import type { LeakService } from "../../leaks/service.js";
import { forbidden, KeywardError } from "../../core/errors.js";
import { verifyGithubSignature, type GithubPublicKeys } from "../../leaks/github.js";
import type { LeakedToken } from "../../leaks/service.js";
import { requireAdmin, type Authenticators } from "../auth.js";
import { refuseBodiesOver } from "../body-limit.js";
import type { ApiEnv } from "../env.js";
import { ERROR_RESPONSES, jsonResponse, SECURITY } from "../openapi.js";
import { LeakReportQuery, LeakReportSchema } from "../schemas.js";

/** Most tokens in one report. */
const MAX_TOKENS = 10_000;

const GithubReport = z
  .array(
    z.object({
      token: z.string().max(1000),
      type: z.string().max(200).optional(),
      url: z.string().max(2000).optional(),
      source: z.string().max(200).optional(),
    }),
  )
  .max(MAX_TOKENS);

const GitlabReport = z
  .array(
    z.object({
      token: z.string().max(1000),
      type: z.string().max(200).optional(),
      location: z.string().max(2000).optional(),
    }),
  )
  .max(MAX_TOKENS);

/**
 * The one response to every accepted report, whatever it contained: known, unknown, malformed
 * and already-revoked tokens are indistinguishable to the reporter (no oracle).
 */
export const LEAK_REPORT_RESPONSE = { status: "accepted" } as const;

/**
 * Leak reports: `POST /api/v1/leaks/github` (GitHub secret-scanning partner format, signed
 * with ECDSA P-256 over the raw body; no admin key) and `POST /api/v1/leaks` (admin key, owner or
 * admin role; GitLab-style `[{type, token, location}]`). Mounted before the admin-key API so
 * the GitHub endpoint is reachable without one; each route has its own body limit.
 */
/** What these routes use, and nothing more. */
export interface LeakRouteDeps {
  /** Admin keys and sessions, as on every management route. */
  auth: Authenticators;
  /** The CSRF guard for session-authenticated reports. */
  csrf: MiddlewareHandler<ApiEnv>;
  leaks: LeakService;
  leakReportMaxBytes: number;
}

export function leakRoutes(deps: LeakRouteDeps, githubKeys: GithubPublicKeys): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  app.use("*", refuseBodiesOver(deps.leakReportMaxBytes));

  const accepted202 = {
    202: {
      description: "Accepted. The same body for every report: known and unknown tokens look alike.",
      content: { "application/json": { schema: z.object({ status: z.literal("accepted") }) } },
    },
  };
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/leaks/github",
    tags: ["leaks"],
    summary: "GitHub secret-scanning partner report (signed; no admin key)",
    description:
      "Body: `[{token, type, url, source}]`, signed with ECDSA P-256/SHA-256 over the raw body (headers Github-Public-Key-Identifier and Github-Public-Key-Signature). Reported active keys are revoked or disabled per project policy. Bad or missing signature: 401.",
    request: { body: { content: { "application/json": { schema: GithubReport } }, required: true } },
    responses: { ...accepted202, 401: { description: "Missing or invalid signature" } },
  });
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/leaks",
    tags: ["leaks"],
    security: [{ AdminKey: [] }],
    summary: "Report leaked tokens (GitLab-style; owner or admin key)",
    request: { body: { content: { "application/json": { schema: GitlabReport } }, required: true } },
    responses: { ...accepted202, 401: { description: "Missing or invalid admin key" } },
  });

  app.post("/leaks/github", async (c) => {
    // The signature covers the exact bytes sent: read them before any parsing.
    const raw = Buffer.from(await c.req.arrayBuffer());
    const ok = verifyGithubSignature(
      githubKeys,
      c.req.header("github-public-key-identifier"),
      c.req.header("github-public-key-signature"),
      raw,
    );
    if (!ok) throw new KeywardError("unauthorized", "missing or invalid GitHub signature");
    const items = parseReport(GithubReport, raw);
    await deps.leaks.report(
      {
        actor: { id: "leak-report:github", role: null, ip: c.get("clientIp") ?? null, userAgent: null },
        label: "github",
        fingerprint: raw.toString("base64"),
      },
      items.map((i): LeakedToken => ({
        token: i.token,
        type: i.type ?? null,
        location: [i.source, i.url].filter(Boolean).join(" ") || null,
      })),
    );
    return accepted(c);
  });

  app.post("/leaks", deps.csrf, requireAdmin(deps.auth), async (c) => {
    const principal = c.get("principal");
    if (principal.role !== "owner" && principal.role !== "admin")
      throw forbidden("only owners and admins may report leaks");
    const raw = Buffer.from(await c.req.arrayBuffer());
    const items = parseReport(GitlabReport, raw);
    await deps.leaks.report(
      { actor: principal, label: `admin ${principal.id}`, fingerprint: raw.toString("base64") },
      items.map((i): LeakedToken => ({ token: i.token, type: i.type ?? null, location: i.location ?? null })),
    );
    return accepted(c);
  });

  app.route("/", reportListRoutes(deps));
  return app;
}

const listReports = createRoute({
  method: "get",
  path: "/leaks/reports",
  tags: ["leaks"],
  security: SECURITY,
  summary: "List processed leak reports, newest first (roles that read the audit log, every project)",
  request: { query: LeakReportQuery },
  responses: {
    200: jsonResponse(
      z.object({
        object: z.literal("list"),
        data: z.array(LeakReportSchema),
        has_more: z.boolean(),
        next_before: z.string().nullable(),
      }),
      "Leak reports",
    ),
    ...ERROR_RESPONSES,
  },
});

/** The reports already processed: what each listed and how many keys it contained. */
function reportListRoutes(deps: LeakRouteDeps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  app.use("/leaks/reports", requireAdmin(deps.auth));
  app.openapi(listReports, async (c) => {
    const q = c.req.valid("query");
    const page = await deps.leaks.listReports(c.get("principal"), {
      limit: q.limit,
      ...(q.before ? { before: Date.parse(q.before) } : {}),
    });
    return c.json(
      {
        object: "list" as const,
        ...page,
        next_before: page.has_more ? page.data.at(-1)!.received_at : null,
      },
      200,
    );
  });
  return app;
}

function accepted(c: Context<ApiEnv>) {
  return c.json(LEAK_REPORT_RESPONSE, 202);
}

function parseReport<T extends z.ZodType>(schema: T, raw: Buffer): z.output<T> {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new KeywardError("invalid_request", "the body is not valid JSON");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new KeywardError(
      "invalid_request",
      `expected a JSON array of at most ${MAX_TOKENS} reported tokens`,
    );
  return parsed.data;
}
