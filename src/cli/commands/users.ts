import { Option, type Command } from "commander";
import type { Principal } from "../../audit/types.js";
import { loadConfig } from "../../config/config.js";
import { ROLES, type Role } from "../../core/roles.js";
import type { CreatedInvitation } from "../../people/invitations.js";
import type { UserPatch } from "../../people/users.js";
import type { UserView } from "../../people/views.js";
import { CliError } from "../errors.js";
import { emit, fields, stdoutOutput, table } from "../output.js";
import { collect } from "../parse.js";
import { remoteClient, remoteFlags, type RemoteFlags } from "../remote.js";
import { storeFlags, storeOverrides, type StoreFlags } from "./store-flags.js";

/** What the users commands need, whether from a running server or the store itself. */
interface PeopleApi {
  list(): Promise<UserView[]>;
  invite(input: { email: string; role: Role; projects?: string[] }): Promise<CreatedInvitation>;
  update(id: string, patch: UserPatch): Promise<UserView>;
  resetLink(id: string): Promise<{ reset_url: string; expires_at: number }>;
  close(): Promise<void>;
}

interface UsersFlags extends RemoteFlags, StoreFlags {
  local?: boolean;
}

/**
 * Local when asked (`--local`, `--data-dir`, `--database-url`), or when no server is
 * configured (no --url / KEYWARD_URL and no admin key); else against the running server.
 */
function wantsLocal(flags: UsersFlags, env: NodeJS.ProcessEnv): boolean {
  if (flags.local || flags.dataDir || flags.databaseUrl) return true;
  return !flags.url && !env.KEYWARD_URL && !flags.adminKey && !env.KEYWARD_ADMIN_KEY;
}

/** Whoever opens the store directly holds every secret anyway: they act as an owner, audited as the CLI. */
const LOCAL_ACTOR: Principal = {
  id: "cli:local",
  name: "keyward CLI (direct store access)",
  role: "owner",
  ip: null,
  userAgent: "keyward-cli",
};

async function peopleApi(flags: UsersFlags): Promise<PeopleApi> {
  if (!wantsLocal(flags, process.env)) {
    const client = remoteClient(flags);
    return {
      list: async () => (await client.listUsers()).data,
      invite: (input) => client.inviteUser(input),
      update: async (id, patch) => (await client.updateUser(id, patch)).user,
      resetLink: (id) => client.userResetLink(id),
      close: async () => undefined,
    };
  }
  // Loaded here, not at the top: remote commands should not pay for the store's modules.
  const [{ createContext }, { createLogger }] = await Promise.all([
    import("../../app/context.js"),
    import("../../log/logger.js"),
  ]);
  const ctx = await createContext(loadConfig(process.env, storeOverrides(flags)), createLogger("silent"));
  return {
    list: () => ctx.users.list(LOCAL_ACTOR),
    invite: (input) => ctx.invitations.invite(LOCAL_ACTOR, input),
    update: (id, patch) => ctx.users.update(LOCAL_ACTOR, id, patch),
    resetLink: (id) => ctx.invitations.resetLink(LOCAL_ACTOR, id),
    close: () => ctx.close(),
  };
}

/** Runs `fn` with the API, closing a local store however it ends. */
async function withPeople<T>(flags: UsersFlags, fn: (api: PeopleApi) => Promise<T>): Promise<T> {
  const api = await peopleApi(flags);
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}

/** A user id, or an email resolved to one (emails are what people remember). */
async function resolveUser(api: PeopleApi, who: string): Promise<UserView> {
  const users = await api.list();
  const wanted = who.trim().toLowerCase();
  const user = users.find((u) => u.id === who || u.email === wanted);
  if (!user) throw new CliError(`no user ${who}`);
  return user;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function showUser(u: UserView): string {
  return fields({
    id: u.id,
    email: u.email,
    display_name: u.display_name,
    role: u.role,
    projects: u.projects === null ? "all" : u.projects.join(",") || "none",
    created_at: iso(u.created_at),
    disabled_at: iso(u.disabled_at),
  });
}

const peopleFlags = (cmd: Command): Command =>
  storeFlags(remoteFlags(cmd)).option("--local", "open the store directly instead of calling a server");

/** `keyward users invite|list|disable|enable|set-role|reset-link`. */
export function registerUsers(program: Command): void {
  const users = program
    .command("users")
    .description(
      "people who sign in to the console: invite, list, disable, change roles, reset passwords " +
        "(against KEYWARD_URL with an admin key, or the store directly with --local)",
    );

  peopleFlags(
    users
      .command("invite")
      .description("invite a person: prints a one-time link to choose a password (expires in 72 h)")
      .requiredOption("--email <email>", "their email; they sign in with it")
      .addOption(new Option("--role <role>", "what they may do").choices(ROLES).makeOptionMandatory())
      .option("--project <id>", "limit a member or reader to this project (repeatable)", collect),
  ).action(async (flags: UsersFlags & { email: string; role: Role; project?: string[] }) => {
    const r = await withPeople(flags, (api) =>
      api.invite({
        email: flags.email,
        role: flags.role,
        ...(flags.project ? { projects: flags.project } : {}),
      }),
    );
    emit(
      stdoutOutput(Boolean(flags.json)),
      r,
      (v) =>
        `invited ${v.invitation.email} as ${v.invitation.role}; send them this one-time link ` +
        `(expires ${iso(v.invitation.expires_at)}):\n\n  ${v.invite_url}\n`,
    );
  });

  peopleFlags(users.command("list").description("list people")).action(async (flags: UsersFlags) => {
    const data = await withPeople(flags, (api) => api.list());
    emit(stdoutOutput(Boolean(flags.json)), { data }, (v) =>
      table(
        ["ID", "EMAIL", "NAME", "ROLE", "PROJECTS", "STATUS", "CREATED"],
        v.data.map((u) => [
          u.id,
          u.email,
          u.display_name,
          u.role,
          u.projects === null ? "all" : u.projects.join(",") || "none",
          u.disabled_at === null ? "active" : "disabled",
          iso(u.created_at),
        ]),
      ),
    );
  });

  const change = (
    name: string,
    description: string,
    patch: (arg?: string) => UserPatch,
    withArg?: string,
  ) => {
    const cmd = users
      .command(withArg ? `${name} <user> <${withArg}>` : `${name} <user>`)
      .description(description);
    if (name === "set-role")
      cmd.option("--project <id>", "limit a member or reader to this project (repeatable)", collect);
    peopleFlags(cmd).action(async (who: string, ...rest: unknown[]) => {
      const arg = withArg ? (rest[0] as string) : undefined;
      const flags = rest[withArg ? 1 : 0] as UsersFlags & { project?: string[] };
      const user = await withPeople(flags, async (api) => {
        const target = await resolveUser(api, who);
        const p = patch(arg);
        return api.update(
          target.id,
          name === "set-role" && flags.project ? { ...p, projects: flags.project } : p,
        );
      });
      emit(stdoutOutput(Boolean(flags.json)), { user }, (v) => showUser(v.user));
    });
  };
  change("disable", "disable a person (by id or email): their sessions end at once", () => ({
    disabled: true,
  }));
  change("enable", "enable a disabled person again", () => ({ disabled: false }));
  change(
    "set-role",
    "change a person's role (owner, admin, member, reader)",
    (role) => {
      if (!(ROLES as readonly string[]).includes(role ?? ""))
        throw new CliError(`role must be one of ${ROLES.join(", ")}`);
      return { role: role as Role };
    },
    "role",
  );

  peopleFlags(
    users
      .command("reset-link <user>")
      .description("a one-time link for a person (by id or email) to choose a new password"),
  ).action(async (who: string, flags: UsersFlags) => {
    const r = await withPeople(flags, async (api) => api.resetLink((await resolveUser(api, who)).id));
    emit(
      stdoutOutput(Boolean(flags.json)),
      r,
      (v) => `password reset link (one-time, expires ${iso(v.expires_at)}):\n\n  ${v.reset_url}\n`,
    );
  });
}
