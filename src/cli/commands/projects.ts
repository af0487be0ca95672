import type { Command } from "commander";
import type { ProjectView } from "../../projects/service.js";
import { emit, fields, stdoutOutput, table } from "../output.js";
import { fetchPages, moreHint } from "../paging.js";
import { parsePositiveInt, usage } from "../parse.js";
import { remoteClient, remoteFlags, type RemoteFlags } from "../remote.js";

interface ProjectFlags extends RemoteFlags {
  name?: string;
  description?: string;
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
      .description("rename a project or change its description")
      .option("--name <name>", "new name")
      .option("--description <text>", 'new description ("" clears it)'),
  ).action(async (id: string, flags: ProjectFlags) => {
    if (flags.name === undefined && flags.description === undefined)
      throw usage("nothing to update: give --name and/or --description");
    const p = await remoteClient(flags).updateProject(id, {
      ...(flags.name !== undefined ? { name: flags.name } : {}),
      ...(flags.description !== undefined ? { description: flags.description || null } : {}),
    });
    emit(stdoutOutput(Boolean(flags.json)), p, (v) => `updated project ${v.id}\n\n${showProject(v)}`);
  });
}
