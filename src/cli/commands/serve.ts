import type { Command } from "commander";
import { loadConfig } from "../../config/config.js";
import { storeFlags, storeOverrides, type StoreFlags } from "./store-flags.js";

interface ServeFlags extends StoreFlags {
  host?: string;
  port?: string;
  init?: boolean;
}

export function registerServe(program: Command): void {
  storeFlags(
    program
      .command("serve")
      .description("run the keyward server: the management API and the OpenAI-compatible gateway at /v1")
      .option("--host <host>", "listen address (KEYWARD_HOST, default 127.0.0.1)")
      .option("--port <port>", "listen port (KEYWARD_PORT, default 8080)")
      .option("--init", "on an empty store, create the first owner admin key and print it once"),
  ).action(async (flags: ServeFlags) => {
    // Loaded here, not at the top: client commands should not pay for the server's modules.
    const [{ createContext }, { createLogger }, { startServer }, { tuneHeap }] = await Promise.all([
      import("../../app/context.js"),
      import("../../log/logger.js"),
      import("../../server/server.js"),
      import("../../server/heap-tuning.js"),
    ]);
    const config = loadConfig(process.env, {
      ...storeOverrides(flags),
      ...(flags.host ? { host: flags.host } : {}),
      ...(flags.port ? { port: flags.port } : {}),
    });
    // Before the context is built, so the collector's first limits are set with the tuning.
    const heapFlags = config.heapTuning ? tuneHeap() : [];
    const logger = createLogger(config.logLevel);
    const ctx = await createContext(config, logger);
    const boot = flags.init ? await ctx.admins.bootstrap() : null;
    const server = await startServer(ctx);
    if (boot) {
      // After listening, so the link names the port the server is really on. Shown once, on
      // the terminal only, never through the logger.
      const setup = await ctx.invitations.setupLink(config.ownerEmail ?? null);
      process.stdout.write(
        `\nkeyward initialised. Your owner admin key (shown once, store it now):\n\n  ${boot.key}\n\n` +
          `Use it with: export KEYWARD_ADMIN_KEY=<that key>\n\n` +
          (setup
            ? `Set up the first owner's account in a browser (one-time link, expires ${new Date(setup.invitation.expires_at).toISOString()}):\n\n  ${setup.invite_url}\n\n`
            : ""),
      );
    }
    logger.info(
      { url: server.url, store: ctx.store.dialect, location: ctx.store.location, heap_flags: heapFlags },
      "keyward listening",
    );
    const shutdown = (signal: string) => {
      logger.info({ signal }, "shutting down: draining requests and flushing");
      server.close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err: err instanceof Error ? err.message : String(err) }, "shutdown failed");
          process.exit(1);
        },
      );
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
  });
}
