import cluster from "node:cluster";
import type { Command } from "commander";
import type { AppContext } from "../../app/context.js";
import { loadConfig, type Config } from "../../config/config.js";
import { PrimaryUsageWriter, sendToPrimary, usageHandoff } from "../../server/usage-handoff.js";
import { parseWorkers, workersRefusal } from "../../server/workers.js";
import { CliError } from "../errors.js";
import { storeFlags, storeOverrides, type StoreFlags } from "./store-flags.js";

interface ServeFlags extends StoreFlags {
  host?: string;
  port?: string;
  init?: boolean;
  workers?: string;
}

export function registerServe(program: Command): void {
  storeFlags(
    program
      .command("serve")
      .description("run the keyward server: the management API and the OpenAI-compatible gateway at /v1")
      .option("--host <host>", "listen address (KEYWARD_HOST, default 127.0.0.1)")
      .option("--port <port>", "listen port (KEYWARD_PORT, default 8080)")
      .option("--init", "on an empty store, create the first owner admin key and print it once")
      .option(
        "--workers <n>",
        "processes sharing the port: a number, or auto (one per core); >1 needs KEYWARD_REDIS_URL",
      ),
  ).action(async (flags: ServeFlags) => {
    const config = loadConfig(process.env, {
      ...storeOverrides(flags),
      ...(flags.host ? { host: flags.host } : {}),
      ...(flags.port ? { port: flags.port } : {}),
    });
    // A forked worker re-runs this same command line; it serves, and leaves --init to the primary.
    if (cluster.isWorker) return serveOne(config, false);
    const workers = workerCount(flags.workers);
    const refusal = workersRefusal(workers, config.redisUrl);
    if (refusal) throw new CliError(refusal, 2);
    if (workers > 1) return supervise(config, workers, Boolean(flags.init));
    return serveOne(config, Boolean(flags.init));
  });
}

function workerCount(value: string | undefined): number {
  try {
    return parseWorkers(value);
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err), 2);
  }
}

/**
 * On an empty store: creates the first owner admin key and a one-time setup link for the
 * first owner's account, and prints both once, on the terminal only, never through the logger.
 * Call it once the port is known, so the link names the port the server is really on.
 */
async function printBootstrap(ctx: AppContext, ownerEmail: string | null): Promise<void> {
  const boot = await ctx.admins.bootstrap();
  if (!boot) return;
  const setup = await ctx.invitations.setupLink(ownerEmail);
  process.stdout.write(
    `\nkeyward initialised. Your owner admin key (shown once, store it now):\n\n  ${boot.key}\n\n` +
      `Use it with: export KEYWARD_ADMIN_KEY=<that key>\n\n` +
      (setup
        ? `Set up the first owner's account in a browser (one-time link, expires ${new Date(setup.invitation.expires_at).toISOString()}):\n\n  ${setup.invite_url}\n\n`
        : ""),
  );
}

/**
 * The primary of `--workers N`: runs migrations and `--init` alone, before any worker exists
 * (workers racing to bootstrap could mint two owners), then forks the workers, keeps them
 * running, and on SIGTERM/SIGINT lets each drain and flush.
 */
async function supervise(config: Config, workers: number, init: boolean): Promise<void> {
  const [{ createContext }, { createLogger }, { superviseWorkers }] = await Promise.all([
    import("../../app/context.js"),
    import("../../log/logger.js"),
    import("../../server/workers.js"),
  ]);
  const logger = createLogger(config.logLevel);
  const ctx = await createContext(config, logger);
  try {
    if (init) await printBootstrap(ctx, config.ownerEmail ?? null);
  } finally {
    await ctx.close();
  }
  // On SQLite the primary writes every worker's usage (src/server/usage-handoff.ts).
  const sink = usageHandoff(config)
    ? (await import("../../app/usage-sink.js")).startUsageSink(
        ctx.store.location,
        config.usageFlushMs,
        logger,
      )
    : null;
  if (sink) cluster.on("message", (_worker, message: unknown) => sink.receive(message));
  const supervisor = superviseWorkers(workers, logger);
  void supervisor.ready.then((url) => logger.info({ url, workers }, "keyward listening"));
  const shutdown = (signal: string) => {
    logger.info({ signal, workers }, "shutting down: every worker drains and flushes");
    // The workers have handed over their last events once they have all disconnected.
    void supervisor
      .stop()
      .then(() => sink?.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err: err instanceof Error ? err.message : String(err) }, "shutdown failed");
          process.exit(1);
        },
      );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

/** One serving process: the whole server, or one worker of `--workers N`. */
async function serveOne(config: Config, init: boolean): Promise<void> {
  // Loaded here, not at the top: client commands should not pay for the server's modules.
  const [{ createContext }, { createLogger }, { startServer }, { tuneHeap }, { announceListening }] =
    await Promise.all([
      import("../../app/context.js"),
      import("../../log/logger.js"),
      import("../../server/server.js"),
      import("../../server/heap-tuning.js"),
      import("../../server/workers.js"),
    ]);
  // Before the context is built, so the collector's first limits are set with the tuning.
  const heapFlags = config.heapTuning ? tuneHeap() : [];
  const logger = createLogger(config.logLevel);
  const ctx = await createContext(
    config,
    logger,
    cluster.isWorker && usageHandoff(config) ? { usageWriter: new PrimaryUsageWriter(sendToPrimary()) } : {},
  );
  const server = await startServer(ctx);
  if (init) await printBootstrap(ctx, config.ownerEmail ?? null);
  logger.info(
    { url: server.url, store: ctx.store.dialect, location: ctx.store.location, heap_flags: heapFlags },
    "keyward listening",
  );
  announceListening(server.url);
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
}
