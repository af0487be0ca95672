import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { loadConfig } from "../../config/config.js";
import type { UpdateUpstreamInput, UpstreamView } from "../../upstreams/model.js";
import { emit, fields, stdoutOutput, table } from "../output.js";
import { usage } from "../parse.js";
import { remoteClient, remoteFlags, type RemoteFlags } from "../remote.js";
import { storeFlags, storeOverrides, type StoreFlags } from "./store-flags.js";

/** Flags shared by `upstreams add` and `upstreams update`. */
interface SettingsFlags extends RemoteFlags {
  name?: string;
  baseUrl?: string;
  apiKey?: string;
  apiKeyStdin?: boolean;
  organization?: string;
  openaiProject?: string;
  priority?: string;
}

/** An upstream (key masked) as `key: value` lines. */
function showUpstream(u: UpstreamView): string {
  return fields({
    id: u.id,
    name: u.name,
    project: u.project_id,
    base_url: u.base_url,
    api_key: u.masked_api_key,
    organization: u.organization,
    openai_project: u.project,
    priority: u.priority,
    created_at: u.created_at,
    created_by: u.created_by,
    updated_at: u.updated_at,
  });
}

const settingsOptions = (cmd: Command, clearable: boolean): Command =>
  cmd
    .option(
      "--api-key-stdin",
      "read the provider API key from stdin (preferred: keeps it out of shell history)",
    )
    .option(
      "--api-key <key>",
      "the provider API key (visible in shell history and `ps`; prefer --api-key-stdin)",
    )
    .option(
      "--organization <org>",
      `OpenAI-Organization header value${clearable ? ", or `none` to stop sending it" : ""}`,
    )
    .option(
      "--openai-project <id>",
      `OpenAI-Project header value${clearable ? ", or `none` to stop sending it" : ""}`,
    )
    .option("--priority <n>", "lower wins: the project uses its upstream with the lowest value (default 0)");

/** The provider key from `--api-key-stdin` or `--api-key`, or undefined when neither was given. */
function apiKeyFrom(flags: SettingsFlags): string | undefined {
  if (flags.apiKeyStdin && flags.apiKey !== undefined)
    throw usage("give --api-key-stdin or --api-key, not both");
  if (flags.apiKeyStdin) {
    const key = readFileSync(0, "utf8").trim();
    if (!key) throw usage("--api-key-stdin: stdin was empty");
    return key;
  }
  if (flags.apiKey !== undefined) {
    process.stderr.write("keyward: note: --api-key stays in shell history; --api-key-stdin does not\n");
  }
  return flags.apiKey;
}

function parsePriority(value: string): number {
  if (!/^\d{1,7}$/.test(value.trim())) throw usage(`--priority: "${value}" is not a whole number from 0`);
  return Number(value);
}

/** The body add and update send, from flags. `clearable`: `none` clears organization/project. */
function settingsBody(flags: SettingsFlags, clearable: boolean): UpdateUpstreamInput {
  const clear = (v: string) => (clearable && v.trim().toLowerCase() === "none" ? null : v);
  const body: UpdateUpstreamInput = {};
  if (flags.name !== undefined) body.name = flags.name;
  if (flags.baseUrl !== undefined) body.base_url = flags.baseUrl;
  if (flags.organization !== undefined) body.organization = clear(flags.organization);
  if (flags.openaiProject !== undefined) body.project = clear(flags.openaiProject);
  if (flags.priority !== undefined) body.priority = parsePriority(flags.priority);
  const apiKey = apiKeyFrom(flags);
  if (apiKey !== undefined) body.api_key = apiKey;
  return body;
}

/** `keyward upstreams …`: the provider credentials the gateway forwards with. */
export function registerUpstreams(program: Command): void {
  const upstreams = program
    .command("upstreams")
    .description("provider credentials per project (encrypted at rest, shown masked)");

  remoteFlags(
    settingsOptions(
      upstreams
        .command("add")
        .description("add an upstream provider credential to a project")
        .requiredOption("--project <id>", "the project it serves")
        .requiredOption("--name <name>", "a name people recognise, e.g. openai-prod")
        .requiredOption(
          "--base-url <url>",
          "the provider's base URL including /v1, e.g. https://api.openai.com/v1",
        ),
      false,
    ),
  ).action(async (flags: SettingsFlags & { project: string; name: string; baseUrl: string }) => {
    if (!flags.apiKeyStdin && flags.apiKey === undefined) throw usage("give --api-key-stdin or --api-key");
    const body = settingsBody(flags, false);
    const u = await remoteClient(flags).createUpstream(flags.project, {
      ...body,
      name: flags.name,
      base_url: flags.baseUrl,
      api_key: body.api_key!,
    });
    emit(
      stdoutOutput(Boolean(flags.json)),
      u,
      (v) => `added upstream ${v.id} (${v.name})\n\n${showUpstream(v)}`,
    );
  });

  remoteFlags(
    upstreams
      .command("list")
      .description("list a project's upstreams (keys masked), preferred first")
      .requiredOption("--project <id>", "the project"),
  ).action(async (flags: RemoteFlags & { project: string }) => {
    const r = await remoteClient(flags).listUpstreams(flags.project);
    emit(stdoutOutput(Boolean(flags.json)), r, (v) =>
      v.data.length === 0
        ? "no upstreams (the project uses the default upstream, if one is configured)"
        : table(
            ["ID", "NAME", "BASE URL", "API KEY", "PRIORITY", "UPDATED"],
            v.data.map((u) => [u.id, u.name, u.base_url, u.masked_api_key, u.priority, u.updated_at]),
          ),
    );
  });

  remoteFlags(upstreams.command("show <id>").description("show one upstream (key masked)")).action(
    async (id: string, flags: RemoteFlags) => {
      emit(stdoutOutput(Boolean(flags.json)), await remoteClient(flags).getUpstream(id), showUpstream);
    },
  );

  remoteFlags(
    settingsOptions(
      upstreams
        .command("update <id>")
        .description("change an upstream's name, base URL, API key, headers or priority")
        .option("--name <name>", "new name")
        .option("--base-url <url>", "new base URL (including /v1)"),
      true,
    ),
  ).action(async (id: string, flags: SettingsFlags) => {
    const body = settingsBody(flags, true);
    if (Object.keys(body).length === 0)
      throw usage(
        "nothing to update: give --name, --base-url, --api-key-stdin/--api-key, --organization, --openai-project or --priority",
      );
    const u = await remoteClient(flags).updateUpstream(id, body);
    emit(stdoutOutput(Boolean(flags.json)), u, (v) => `updated upstream ${v.id}\n\n${showUpstream(v)}`);
  });

  remoteFlags(upstreams.command("remove <id>").description("delete an upstream")).action(
    async (id: string, flags: RemoteFlags) => {
      await remoteClient(flags).deleteUpstream(id);
      emit(
        stdoutOutput(Boolean(flags.json)),
        { id, object: "upstream", deleted: true },
        (v) => `removed upstream ${v.id}`,
      );
    },
  );

  storeFlags(
    upstreams
      .command("rotate-master")
      .description(
        "re-encrypt every upstream credential under KEYWARD_MASTER_KEY; set the old key as " +
          "KEYWARD_MASTER_KEY_PREVIOUS (opens the store directly)",
      )
      .option("--json", "print JSON: {key_id, total, rotated, from_key_ids}"),
  ).action(async (flags: StoreFlags & { json?: boolean }) => {
    // Loaded here, not at the top: client commands should not pay for the store's modules.
    const [{ createContext }, { createLogger }] = await Promise.all([
      import("../../app/context.js"),
      import("../../log/logger.js"),
    ]);
    const config = loadConfig(process.env, storeOverrides(flags));
    const ctx = await createContext(config, createLogger("silent"));
    try {
      const r = await ctx.upstreams.rotateMasterKey();
      emit(stdoutOutput(Boolean(flags.json)), r, (v) =>
        v.rotated === 0
          ? `nothing to do: all ${v.total} upstream credential(s) already use master key ${v.key_id}`
          : `re-encrypted ${v.rotated} of ${v.total} upstream credential(s) under master key ${v.key_id} ` +
            `(from ${v.from_key_ids.join(", ")}).\nRestart or wait for every server to reload, then remove ` +
            "KEYWARD_MASTER_KEY_PREVIOUS and retire the old key.",
      );
    } finally {
      await ctx.close();
    }
  });
}
