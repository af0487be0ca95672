import type { Command } from "commander";
import { loadConfig } from "../../config/config.js";
import { CliError } from "../errors.js";
import { emit, stdoutOutput } from "../output.js";
import { storeFlags, storeOverrides, type StoreFlags } from "./store-flags.js";

export function registerInit(program: Command): void {
  storeFlags(
    program
      .command("init")
      .description("create the store (running migrations) and print the first owner admin key, once")
      .option("--json", "print JSON: {admin_key, id, role, store}"),
  ).action(async (flags: StoreFlags & { json?: boolean }) => {
    // Loaded here, not at the top: client commands should not pay for the store's modules.
    const [{ createContext }, { createLogger }] = await Promise.all([
      import("../../app/context.js"),
      import("../../log/logger.js"),
    ]);
    const config = loadConfig(process.env, storeOverrides(flags));
    const ctx = await createContext(config, createLogger("silent"));
    try {
      const boot = await ctx.admins.bootstrap();
      if (!boot)
        throw new CliError(
          "already initialised: admin keys exist (create more with `keyward admin-keys create`)",
        );
      emit(
        stdoutOutput(Boolean(flags.json)),
        { admin_key: boot.key, id: boot.admin.id, role: boot.admin.role, store: ctx.store.location },
        (v) =>
          `keyward initialised (${v.store}).\nOwner admin key (shown once, store it now):\n\n  ${v.admin_key}\n\n` +
          `export KEYWARD_ADMIN_KEY=${v.admin_key}`,
      );
    } finally {
      await ctx.close();
    }
  });
}
