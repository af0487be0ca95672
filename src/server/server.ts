import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createApiApp } from "../api/app.js";
import type { AppContext } from "../app/context.js";
import { ReplicaHeartbeat } from "../cluster/heartbeat.js";
import { usageIsDurable } from "../config/config.js";
import { nodeRequest } from "../gateway/exchange.js";
import { createGatewayHandler } from "../gateway/handler.js";

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish, then flushes and closes the store. */
  close(): Promise<void>;
}

/** How long a graceful shutdown waits for in-flight requests before cutting them off. */
const SHUTDOWN_GRACE_MS = 30_000;
/** Idle keep-alive connections are kept this long: above the 60 s idle timeout of common load balancers. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

function isGatewayTarget(url: string): boolean {
  return url.startsWith("/v1/") || url === "/v1" || url.startsWith("/v1?");
}

/** Starts the HTTP server on the configured host and port (port 0 = any free port). */
export async function startServer(ctx: AppContext): Promise<RunningServer> {
  const app = createApiApp(ctx);
  const listener = getRequestListener(app.fetch);
  const gateway = createGatewayHandler({
    verifier: ctx.verifier,
    directory: ctx.upstreamDirectory,
    upstreams: ctx.upstreamClient,
    recorder: ctx.usage,
    limiter: ctx.limiter,
    prices: ctx.prices,
    metrics: ctx.metrics,
    logger: ctx.logger,
    clock: ctx.clock,
    brand: ctx.config.brand,
    maxBodyBytes: ctx.config.gatewayMaxBodyBytes,
    trustProxy: ctx.config.trustProxy,
    defaultMaxOutputTokens: ctx.config.defaultMaxOutputTokens,
    durableUsage: usageIsDurable(ctx.config),
    tracing: ctx.tracing,
  });
  const { headersTimeoutMs, requestTimeoutMs } = ctx.config;
  // One path for every request: node:http reads it (and answers malformed input with 400 or a
  // close), the gateway serves /v1, Hono everything else.
  const server = createServer(
    {
      // Slow-loris: a head must be complete within headersTimeout, a whole request (body
      // included) within requestTimeout. Node checks both every connectionsCheckingInterval,
      // 30 s by default, which would let a slow client hold a connection that much longer.
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(headersTimeoutMs / 4)),
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    },
    (req, res) => {
      if (isGatewayTarget(req.url ?? "")) gateway(nodeRequest(req), res);
      else void listener(req, res);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(ctx.config.port, ctx.config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const heartbeat = new ReplicaHeartbeat(ctx.store, ctx.clock, ctx.logger, Boolean(ctx.config.redisUrl));
  await heartbeat.start();
  const { port } = server.address() as AddressInfo;
  ctx.publicUrl.bound(port);
  const host = ctx.config.host.includes(":") ? `[${ctx.config.host}]` : ctx.config.host;
  let closing: Promise<void> | undefined;
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    close() {
      closing ??= (async () => {
        // Stop accepting, let in-flight requests (streams too) finish, but not forever.
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        });
        await heartbeat.stop();
        await ctx.close();
      })();
      return closing;
    },
  };
}
