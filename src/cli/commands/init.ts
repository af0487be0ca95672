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
      .option("--owner-email <email>", "the first owner's email, put on the setup link (KEYWARD_OWNER_EMAIL)")
      .option("--json", "print JSON: {admin_key, id, role, store, setup_url, setup_expires_at}"),
  ).action(async (flags: StoreFlags & { json?: boolean; ownerEmail?: string }) => {
    // Loaded here, not at the top: client commands should not pay for the store's modules.
    const [{ createContext }, { createLogger }] = await Promise.all([
      import("../../app/context.js"),
      import("../../log/logger.js"),
    ]);
    const config = loadConfig(process.env, {
      ...storeOverrides(flags),
      ...(flags.ownerEmail ? { ownerEmail: flags.ownerEmail } : {}),
    });
    const ctx = await createContext(config, createLogger("silent"));
    try {
      const boot = await ctx.admins.bootstrap();
      if (!boot)
        throw new CliError(
          "already initialised: admin keys exist (create more with `keyward admin-keys create`)",
        );
      // The first person's way in: a one-time link to choose a password (kind setup, role owner).
      const setup = await ctx.invitations.setupLink(config.ownerEmail ?? null);
      emit(
        stdoutOutput(Boolean(flags.json)),
        {
          admin_key: boot.key,
          id: boot.admin.id,
          role: boot.admin.role,
          store: ctx.store.location,
          setup_url: setup?.invite_url ?? null,
          setup_expires_at: setup ? new Date(setup.invitation.expires_at).toISOString() : null,
        },
        (v) =>
          `keyward initialised (${v.store}).\nOwner admin key (shown once, store it now):\n\n  ${v.admin_key}\n\n` +
          `export KEYWARD_ADMIN_KEY=${v.admin_key}` +
          (v.setup_url
            ? `\n\nSet up the first owner's account in a browser (one-time link, expires ${v.setup_expires_at}):\n\n  ${v.setup_url}`
            : ""),
      );
    } finally {
      await ctx.close();
    }
  });
}
