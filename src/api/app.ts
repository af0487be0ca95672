import { CONSOLE_DIR, loadConsoleAssets } from "../console/assets.js";
import { consoleRoutes } from "../console/routes.js";
import { randomUUID } from "node:crypto";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { sql } from "kysely";
import type { AppContext } from "../app/context.js";
import { clientIp } from "../core/client-ip.js";
import { KeywardError } from "../core/errors.js";
import { clientRequestIdReader } from "../log/client-request-id.js";
import { csrfGuard, requireAdmin } from "./auth.js";
import { authRoutes } from "./routes/auth.js";
import { userRoutes } from "./routes/users.js";
import { refuseBodiesOver } from "./body-limit.js";
import { oidcRoutes, trustPolicyRoutes } from "./routes/oidc.js";
import type { ApiEnv } from "./env.js";
import { errorBody, makeErrorHandler, validationError } from "./errors.js";
import { adminRoutes } from "./routes/admins.js";
import { auditRoutes } from "./routes/audit.js";
import { destinationRoutes } from "./routes/destinations.js";
import { keyRoutes } from "./routes/keys.js";
import { leakRoutes } from "./routes/leaks.js";
import { projectRoutes } from "./routes/projects.js";
import { upstreamRoutes } from "./routes/upstreams.js";
import { usageRoutes } from "./routes/usage.js";
import { verifyRoutes } from "./routes/verify.js";
import { webhookRoutes } from "./routes/webhooks.js";
import { keyInsightRoutes } from "./routes/key-insights.js";

const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/i;

/** One-time link tokens travel in the path (`/auth/invitations/<token>`): never into the log. */
function loggablePath(path: string): string {
  return path.replace(/(\/auth\/invitations\/)[^/]+/, "$1<token>");
}

/** A body in any other format is refused outright rather than read as "no body". */
const jsonBodiesOnly: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const type = c.req.header("content-type");
  const hasBody = c.req.header("content-length") !== undefined && c.req.header("content-length") !== "0";
  if (
    (hasBody || c.req.header("transfer-encoding")) &&
    type &&
    !JSON_MEDIA.test(type.split(";")[0]!.trim())
  ) {
    throw new KeywardError("unsupported_media_type", "request bodies must be application/json");
  }
  if (hasBody && !type && c.req.method !== "GET") {
    throw new KeywardError(
      "unsupported_media_type",
      "request bodies must be sent with Content-Type: application/json",
    );
  }
  await next();
};

/**
 * The management HTTP API (`/api/v1`), health endpoints and the OpenAPI 3.1 document.
 * Every option is resolved here once; handlers only do their own work.
 */
/** What /healthz and /readyz say about hearing the other replicas. */
function clusterHealth(invalidation: AppContext["invalidation"]) {
  const channel = invalidation.channelName;
  if (channel === null) return { channel: "none (one process)", listening: true };
  return invalidation.healthy
    ? { channel, listening: true }
    : {
        channel,
        listening: false,
        reason: `cannot hear other replicas over ${channel}: verify cache off until reconnected`,
      };
}

export function createApiApp(ctx: AppContext): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>({
    // Validation failures become the documented error envelope, with field paths.
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.target, result.error);
    },
  });
  const { trustProxy, maxBodyBytes } = ctx.config;
  const clientRequestIdOf = clientRequestIdReader(ctx.config.brand);

  app.use("*", async (c, next) => {
    const requestId = clientRequestIdOf(c.req.header("x-request-id")) ?? randomUUID();
    c.set("requestId", requestId);
    c.set(
      "clientIp",
      clientIp(c.env?.incoming?.socket?.remoteAddress, c.req.header("x-forwarded-for"), trustProxy),
    );
    const started = performance.now();
    await next();
    c.header("x-request-id", requestId);
    ctx.logger.info(
      {
        request_id: requestId,
        method: c.req.method,
        path: loggablePath(c.req.path),
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 100) / 100,
      },
      "request",
    );
  });

  // Liveness stays 200 when degraded: a replica that cannot hear the others is still correct
  // (its verify cache is off), only slower; restarting it would not help.
  // Likewise for limits: with Redis unreachable every replica is in the same state, so taking
  // one out of rotation would not help; the reason is reported instead.
  app.get("/healthz", (c) => {
    const cluster = clusterHealth(ctx.invalidation);
    const limits = ctx.limitsHealth();
    return c.json({ status: cluster.listening && !limits.degraded ? "ok" : "degraded", cluster, limits });
  });
  app.get("/metrics", (c) =>
    c.body(ctx.metrics.registry.render(), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    }),
  );
  app.get("/readyz", async (c) => {
    try {
      await sql`select 1`.execute(ctx.store.db);
      return c.json({
        status: "ready",
        store: ctx.store.dialect,
        cluster: clusterHealth(ctx.invalidation),
        limits: ctx.limitsHealth(),
      });
    } catch {
      return c.json(
        {
          status: "unavailable",
          store: ctx.store.dialect,
          cluster: clusterHealth(ctx.invalidation),
          limits: ctx.limitsHealth(),
        },
        503,
      );
    }
  });

  const api = new OpenAPIHono<ApiEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.target, result.error);
    },
  });
  // CSRF first: a forged form is refused as such (403) before its media type is judged.
  const csrf = csrfGuard({ trustProxy, publicOrigin: () => ctx.publicUrl.origin });
  api.use("*", csrf);
  api.use("*", refuseBodiesOver(maxBodyBytes));
  api.use("*", jsonBodiesOnly);
  api.use("*", requireAdmin({ admins: ctx.admins, sessions: ctx.sessions }));
  api.route("/", projectRoutes({ projects: ctx.projects }));
  api.route("/", verifyRoutes({ verifier: ctx.verifier }));
  api.route(
    "/",
    keyRoutes({
      clock: ctx.clock,
      keys: ctx.keys,
      projects: ctx.projects,
      destinations: ctx.destinations,
      pusher: ctx.secretPusher,
    }),
  );
  api.route(
    "/",
    keyInsightRoutes({
      clock: ctx.clock,
      keys: ctx.keys,
      projects: ctx.projects,
      limiter: ctx.limiter,
      store: ctx.store,
    }),
  );
  api.route("/", destinationRoutes({ destinations: ctx.destinations }));
  api.route("/", adminRoutes({ admins: ctx.admins }));
  api.route("/", userRoutes({ users: ctx.users, sessions: ctx.sessions, invitations: ctx.invitations }));
  api.route("/", auditRoutes({ store: ctx.store }));
  api.route("/", usageRoutes({ store: ctx.store }));
  api.route("/", upstreamRoutes({ upstreams: ctx.upstreams }));
  api.route("/", webhookRoutes({ alerting: ctx.alerting }));
  api.route("/", trustPolicyRoutes({ trust: ctx.trust }));
  // Registered before the authenticated sub-app so the document is public; filled in below.
  let openapi = "";
  app.get("/api/v1/openapi.json", (c) => c.body(openapi, 200, { "content-type": "application/json" }));
  // Leak reports: GitHub's are signed, not admin-authenticated, and reports are larger than the
  // API's body limit; the routes check their own auth (src/api/routes/leaks.ts).
  // The OIDC exchange and a key revoking itself: the token or the key is the credential.
  app.route(
    "/api/v1",
    oidcRoutes({
      trust: ctx.trust,
      keys: ctx.keys,
      verifier: ctx.verifier,
      brand: ctx.config.brand,
      maxBodyBytes,
    }),
  );
  app.route(
    "/api/v1",
    leakRoutes(
      {
        auth: { admins: ctx.admins, sessions: ctx.sessions },
        csrf,
        leaks: ctx.leaks,
        leakReportMaxBytes: ctx.config.leakReportMaxBytes,
      },
      ctx.githubLeakKeys,
    ),
  );
  // Signing in and one-time links: before the authenticated sub-app, which would refuse a
  // request without credentials; they check the session themselves.
  // Middleware first: Hono runs handlers in the order they are registered.
  const auth = new OpenAPIHono<ApiEnv>();
  auth.use("/auth/*", csrf);
  auth.use("/auth/*", refuseBodiesOver(maxBodyBytes));
  auth.use("/auth/*", jsonBodiesOnly);
  auth.route(
    "/",
    authRoutes({ users: ctx.users, sessions: ctx.sessions, invitations: ctx.invitations, trustProxy }),
  );
  app.route("/api/v1", auth);
  app.route("/api/v1", api);

  // Built once at start-up from the same schemas that validate requests: a schema the
  // generator cannot express fails the boot, not a client's request.
  app.openAPIRegistry.registerComponent("securitySchemes", "AdminKey", {
    type: "http",
    scheme: "bearer",
    description: "An admin key (kw_admin_…)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "SessionCookie", {
    type: "apiKey",
    in: "cookie",
    name: "keyward_session",
    description:
      "A person's session (POST /api/v1/auth/login). Writes need a same-origin Origin (or Sec-Fetch-Site: same-origin) and a JSON body, else 403 csrf_rejected.",
  });
  openapi = JSON.stringify(
    app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "keyward management API",
        version: "1",
        description: "Projects, API keys, admin keys, verification and the audit log.",
      },
    }),
  );

  // The web console answers every other GET: after the API, so it never shadows a route.
  app.route("/", consoleRoutes(loadConsoleAssets(CONSOLE_DIR)));

  app.notFound((c) =>
    c.json(
      errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`, c.get("requestId") ?? "unknown"),
      404,
    ),
  );
  app.onError(makeErrorHandler(ctx.logger));
  return app;
}
