import type { Command } from "commander";
import type { ProjectPolicyPatch, ProjectView } from "../../projects/service.js";
import { emit, fields, stdoutOutput, table } from "../output.js";
import { fetchPages, moreHint } from "../paging.js";
import { parseDuration, parsePositiveInt, usage } from "../parse.js";
import { remoteClient, remoteFlags, type RemoteFlags } from "../remote.js";

interface ProjectFlags extends RemoteFlags {
  name?: string;
  description?: string;
  rotationMaxAge?: string;
  rotationEnforce?: string;
  staleAfter?: string;
  ephemeralMaxTtl?: string;
}

/** `--rotation-max-age 90` / `--stale-after 30`: whole days, or `none` to switch the rule off. */
function policyDays(value: string, flag: string): number | null {
  if (value.trim().toLowerCase() === "none") return null;
  const days = parsePositiveInt(value.replace(/d$/i, ""), flag);
  if (days > 3650) throw usage(`${flag}: at most 3650 days`);
  return days;
}

/** The rotation policy part of an update body, from flags. */
function policyBody(flags: ProjectFlags): ProjectPolicyPatch {
  const body: ProjectPolicyPatch = {};
  if (flags.rotationMaxAge !== undefined)
    body.rotation_max_age_days = policyDays(flags.rotationMaxAge, "--rotation-max-age");
  if (flags.staleAfter !== undefined) body.stale_after_days = policyDays(flags.staleAfter, "--stale-after");
  if (flags.ephemeralMaxTtl !== undefined) {
    const seconds = parseDuration(flags.ephemeralMaxTtl, "--ephemeral-max-ttl");
    if (seconds < 60 || seconds > 30 * 86400) throw usage("--ephemeral-max-ttl: 60s to 30d");
    body.ephemeral_max_ttl_seconds = seconds;
  }
  if (flags.rotationEnforce !== undefined) {
    const v = flags.rotationEnforce.trim().toLowerCase();
    if (v !== "on" && v !== "off")
      throw usage(`--rotation-enforce: "${flags.rotationEnforce}" must be on or off`);
    body.rotation_enforce = v === "on";
  }
  return body;
}

interface ListFlags extends RemoteFlags {
  limit?: string;
  after?: string;
  all?: boolean;
}

/** A project as `key: value` lines. */
function showProject(p: ProjectView): string {
  return fields({
    id: p.id,
    name: p.name,
    description: p.description,
    rotation_max_age: p.rotation_max_age_days === null ? "none" : `${p.rotation_max_age_days} days`,
    rotation_enforce: p.rotation_enforce ? "on (keys expire at the deadline)" : "off (warn only)",
    stale_after: p.stale_after_days === null ? "never" : `${p.stale_after_days} days unused`,
    ephemeral_max_ttl: `${p.ephemeral_max_ttl_seconds} s (keys minted by keyward run)`,
    created_at: p.created_at,
    created_by: p.created_by,
    updated_at: p.updated_at,
  });
}

/** `keyward projects create|list|show|update`. */
export function registerProjects(program: Command): void {
  const projects = program.command("projects").description("manage projects (groups of keys)");

  remoteFlags(
    projects
      .command("create <name>")
      .description("create a project")
      .option("--description <text>", "what the project is for"),
  ).action(async (name: string, flags: ProjectFlags) => {
    const p = await remoteClient(flags).createProject({
      name,
      ...(flags.description !== undefined ? { description: flags.description || null } : {}),
    });
    emit(stdoutOutput(Boolean(flags.json)), p, (v) => `created project ${v.id}\n\n${showProject(v)}`);
  });

  remoteFlags(
    projects
      .command("list")
      .description("list projects, oldest first")
      .option("--limit <n>", "projects per page (1-100, default 20)")
      .option("--after <cursor>", "start after this project id (the previous page's next_cursor)")
      .option("--all", "follow the cursor and list every project"),
  ).action(async (flags: ListFlags) => {
    const client = remoteClient(flags);
    const limit =
      flags.limit !== undefined ? parsePositiveInt(flags.limit, "--limit") : flags.all ? 100 : undefined;
    const page = await fetchPages((after) => client.listProjects({ limit, after }), {
      all: Boolean(flags.all),
      after: flags.after,
    });
    emit(
      stdoutOutput(Boolean(flags.json)),
      page,
      (v) =>
        (v.data.length === 0
          ? "no projects"
          : table(
              ["ID", "NAME", "DESCRIPTION", "CREATED"],
              v.data.map((p) => [p.id, p.name, p.description, p.created_at]),
            )) + moreHint(v),
    );
  });

  remoteFlags(projects.command("show <id>").description("show one project")).action(
    async (id: string, flags: RemoteFlags) => {
      const p = await remoteClient(flags).getProject(id);
      emit(stdoutOutput(Boolean(flags.json)), p, showProject);
    },
  );

  remoteFlags(
    projects
      .command("update <id>")
      .description("rename a project, change its description or its key rotation policy")
      .option("--name <name>", "new name")
      .option("--description <text>", 'new description ("" clears it)')
      .option("--rotation-max-age <days>", "keys must be rotated within this many days, or `none`")
      .option("--rotation-enforce <on|off>", "on: expire keys at their rotation deadline; off: only warn")
      .option("--stale-after <days>", "flag active keys unused this many days as stale, or `none`")
      .option("--ephemeral-max-ttl <duration>", "longest life of a `keyward run` key, e.g. 2h (default 24h)"),
  ).action(async (id: string, flags: ProjectFlags) => {
    const policy = policyBody(flags);
    if (flags.name === undefined && flags.description === undefined && Object.keys(policy).length === 0)
      throw usage(
        "nothing to update: give --name, --description, --rotation-max-age, --rotation-enforce, --stale-after or --ephemeral-max-ttl",
      );
    const p = await remoteClient(flags).updateProject(id, {
      ...(flags.name !== undefined ? { name: flags.name } : {}),
      ...(flags.description !== undefined ? { description: flags.description || null } : {}),
      ...policy,
    });
    emit(stdoutOutput(Boolean(flags.json)), p, (v) => `updated project ${v.id}\n\n${showProject(v)}`);
  });
}
