import { Option, type Command } from "commander";
import { USAGE_GROUPS, type UsageGroup } from "../../usage/query.js";
import { emit, stdoutOutput } from "../output.js";
import { parsePositiveInt, parseSince, parseTimestamp, usage } from "../parse.js";
import { remoteClient, remoteFlags, type RemoteFlags } from "../remote.js";
import { renderUsageTable } from "../usage-table.js";

interface UsageFlags extends RemoteFlags {
  by: UsageGroup;
  since?: string;
  until?: string;
  key?: string;
  project?: string;
  model?: string;
  limit?: string;
  csv?: boolean;
}

/** The server's default row limit for `GET /usage` (the table says when it was reached). */
const DEFAULT_LIMIT = 1000;

/** `keyward usage`: requests, errors, tokens and cost, grouped, as a table, JSON or CSV. */
export function registerUsage(program: Command): void {
  remoteFlags(
    program
      .command("usage")
      .description("show usage: requests, errors, tokens and cost (USD)")
      .addOption(new Option("--by <group>", "group by").choices([...USAGE_GROUPS]).default("day"))
      .option("--since <time>", "from this ISO time, or this long ago (e.g. 7d, 12h)")
      .option("--until <time>", "up to this ISO time")
      .option("--key <id>", "only this key")
      .option("--project <id>", "only this project")
      .option("--model <model>", "only this model")
      .option("--limit <n>", `at most this many rows (default ${DEFAULT_LIMIT}; with --csv 100000)`)
      .option("--csv", "print CSV (the API's /usage/export) instead of a table"),
  ).action(async (flags: UsageFlags) => {
    if (flags.csv && flags.json) throw usage("--csv and --json cannot be combined");
    const limit = flags.limit !== undefined ? parsePositiveInt(flags.limit, "--limit") : undefined;
    const query = {
      group_by: flags.by,
      since: flags.since !== undefined ? parseSince(flags.since, "--since") : undefined,
      until: flags.until !== undefined ? parseTimestamp(flags.until, "--until") : undefined,
      key_id: flags.key,
      project_id: flags.project,
      model: flags.model,
      limit,
    };
    const client = remoteClient(flags);
    if (flags.csv) {
      process.stdout.write(await client.exportUsage(query));
      return;
    }
    const r = await client.usage(query);
    emit(stdoutOutput(Boolean(flags.json)), r, (v) =>
      renderUsageTable(flags.by, v.data, v.data.length >= (limit ?? DEFAULT_LIMIT)),
    );
  });
}
