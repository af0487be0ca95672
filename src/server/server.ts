import { createServer, maxHeaderSize, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createApiApp } from "../api/app.js";
import type { AppContext } from "../app/context.js";
import { nodeRequest } from "../gateway/exchange.js";
import { createGatewayHandler } from "../gateway/handler.js";
import { attachFront } from "./front/front.js";

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish, then flushes and closes the store. */
  close(): Promise<void>;
}

/** How long a graceful shutdown waits for in-flight requests before cutting them off. */
const SHUTDOWN_GRACE_MS = 30_000;
/**
 * Largest request body the front buffers; larger ones (uploads) go through node:http, which
 * streams them to the upstream.
 */
const FRONT_MAX_BODY = 1024 * 1024;

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
  });
  // Ordinary gateway requests are read and answered by the front (src/server/front); the rest
  // of /v1 (chunked or large bodies, unusual heads) by plain node:http; everything else by Hono.
  const server = createServer((req, res) => {
    if (isGatewayTarget(req.url ?? "")) gateway(nodeRequest(req), res);
    else void listener(req, res);
  });
  server.keepAliveTimeout = 65_000;
  const front = attachFront(server, {
    claims: isGatewayTarget,
    serve: gateway,
    maxHeadBytes: maxHeaderSize,
    maxBodyBytes: Math.min(FRONT_MAX_BODY, ctx.config.gatewayMaxBodyBytes),
    headersTimeoutMs: server.headersTimeout,
    requestTimeoutMs: server.requestTimeout,
    keepAliveTimeoutMs: server.keepAliveTimeout,
  });
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
          const force = setTimeout(() => {
            front.closeAll();
            server.closeAllConnections();
          }, SHUTDOWN_GRACE_MS);
          force.unref();
          // close() waits for every connection, the front's included (the server counts them all).
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          front.closeIdle();
          server.closeIdleConnections();
        });
        await ctx.close();
      })();
      return closing;
    },
  };
}
