import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createApiApp } from "../api/app.js";
import type { AppContext } from "../app/context.js";
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
  });
  // The gateway is plain node:http (its hot path skips the framework); everything else is Hono.
  const server = createServer((req, res) => {
    const url = req.url ?? "";
    if (url.startsWith("/v1/") || url === "/v1" || url.startsWith("/v1?")) gateway(req, res);
    else void listener(req, res);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(ctx.config.port, ctx.config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
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
        await ctx.close();
      })();
      return closing;
    },
  };
}
