import { Option, type Command } from "commander";
import type { AdminKeyView } from "../../admins/service.js";
import { ROLES } from "../../core/roles.js";
import { emit, fields, secretBlock, stdoutOutput, table } from "../output.js";
import { remoteClient, remoteFlags, type RemoteFlags } from "../remote.js";

/** An admin key (masked) as `key: value` lines. */
function showAdminKey(a: AdminKeyView): string {
  return fields({
    id: a.id,
    name: a.name,
    role: a.role,
    status: a.status,
    key: a.masked_key,
    created_at: a.created_at,
    created_by: a.created_by,
    last_used_at: a.last_used_at ?? "never",
    ...(a.revoked_at ? { revoked_at: a.revoked_at } : {}),
  });
}

/** `keyward admin-keys create|list|revoke` and the top-level `keyward whoami`. */
export function registerAdminKeys(program: Command): void {
  const admins = program
    .command("admin-keys")
    .description("manage admin keys (kw_admin_…), the principals of the management API");

  remoteFlags(
    admins
      .command("create")
      .description("create an admin key with a role; its secret is printed once")
      .requiredOption("--name <name>", "who or what uses it")
      .addOption(new Option("--role <role>", "what it may do").choices(ROLES).makeOptionMandatory()),
  ).action(async (flags: RemoteFlags & { name: string; role: string }) => {
    const a = await remoteClient(flags).createAdminKey({ name: flags.name, role: flags.role });
    emit(
      stdoutOutput(Boolean(flags.json)),
      a,
      (v) => `created admin key ${v.id} (${v.name}, ${v.role})\n\n${secretBlock(v.key)}\n${showAdminKey(v)}`,
    );
  });

  remoteFlags(admins.command("list").description("list admin keys (masked)")).action(
    async (flags: RemoteFlags) => {
      const list = await remoteClient(flags).listAdminKeys();
      emit(stdoutOutput(Boolean(flags.json)), list, (v) =>
        table(
          ["ID", "NAME", "ROLE", "STATUS", "KEY", "CREATED", "LAST USED"],
          v.data.map((a) => [
            a.id,
            a.name,
            a.role,
            a.status,
            a.masked_key,
            a.created_at,
            a.last_used_at ?? "never",
          ]),
        ),
      );
    },
  );

  remoteFlags(admins.command("revoke <id>").description("revoke an admin key at once")).action(
    async (id: string, flags: RemoteFlags) => {
      const a = await remoteClient(flags).revokeAdminKey(id);
      emit(stdoutOutput(Boolean(flags.json)), a, (v) => `revoked admin key ${v.id} (${v.name})`);
    },
  );

  remoteFlags(program.command("whoami").description("show the admin key in use: id, name and role")).action(
    async (flags: RemoteFlags) => {
      const client = remoteClient(flags);
      const me = await client.me();
      emit(stdoutOutput(Boolean(flags.json)), me, (v) => fields({ ...v, server: client.baseUrl }));
    },
  );
}
