import { Option, type Command } from "commander";
import { USAGE_GROUPS } from "../../usage/query.js";
import { emit, stdoutOutput, table } from "../output.js";
import { parsePositiveInt, parseSince, parseTimestamp } from "../parse.js";
import { remoteClient, remoteFlags, type RemoteFlags } from "../remote.js";

interface UsageFlags extends RemoteFlags {
  by: string;
  since?: string;
  until?: string;
  key?: string;
  project?: string;
  model?: string;
  limit?: string;
}

/** `keyward usage`: requests, errors, tokens and cost, grouped, as a table or JSON. */
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
      .option("--limit <n>", "at most this many rows (default 1000)"),
  ).action(async (flags: UsageFlags) => {
    const r = await remoteClient(flags).usage({
      group_by: flags.by,
      since: flags.since !== undefined ? parseSince(flags.since, "--since") : undefined,
      until: flags.until !== undefined ? parseTimestamp(flags.until, "--until") : undefined,
      key_id: flags.key,
      project_id: flags.project,
      model: flags.model,
      limit: flags.limit !== undefined ? parsePositiveInt(flags.limit, "--limit") : undefined,
    });
    emit(stdoutOutput(Boolean(flags.json)), r, (v) =>
      v.data.length === 0
        ? "no usage in this range"
        : table(
            [flags.by, "requests", "errors", "prompt", "completion", "cached", "cost (USD)"],
            v.data.map((row) => [
              row.group,
              row.requests,
              row.errors,
              row.prompt_tokens,
              row.completion_tokens,
              row.cached_tokens,
              row.cost_usd.toFixed(6),
            ]),
          ),
    );
  });
}
