import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createApiApp } from "../api/app.js";
import type { AppContext } from "../app/context.js";

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish, then flushes and closes the store. */
  close(): Promise<void>;
}

/** Starts the HTTP server on the configured host and port (port 0 = any free port). */
export async function startServer(ctx: AppContext): Promise<RunningServer> {
  const app = createApiApp(ctx);
  const listener = getRequestListener(app.fetch);
  const server = createServer((req, res) => void listener(req, res));
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
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await ctx.close();
      })();
      return closing;
    },
  };
}
