import { writeFileSync } from "node:fs";
import { Option, type Command } from "commander";
import type { ChainReport } from "../../audit/verify.js";
import { CliError } from "../errors.js";
import { emit, stdoutOutput, table } from "../output.js";
import { parsePositiveInt, parseSince, parseTimestamp } from "../parse.js";
import { remoteClient, remoteFlags, type RemoteFlags } from "../remote.js";

interface FilterFlags extends RemoteFlags {
  action?: string;
  target?: string;
  actor?: string;
  project?: string;
  since?: string;
  until?: string;
}

/** Adds the filters `audit list` and `audit export` share. */
function filterOptions(cmd: Command): Command {
  return cmd
    .option("--action <action>", "only this action, e.g. key.revoked")
    .option("--target <id>", "only entries about this key, project or admin key id")
    .option("--actor <id>", "only entries by this admin key id (or `system`)")
    .option("--project <id>", "only entries in this project")
    .option("--since <time>", "from this ISO time, or this long ago (e.g. 7d, 12h)")
    .option("--until <time>", "up to this ISO time");
}

/** The API query for the shared filters. */
function filterQuery(flags: FilterFlags): Record<string, string | undefined> {
  return {
    action: flags.action,
    target_id: flags.target,
    actor_id: flags.actor,
    project_id: flags.project,
    since: flags.since !== undefined ? parseSince(flags.since, "--since") : undefined,
    until: flags.until !== undefined ? parseTimestamp(flags.until, "--until") : undefined,
  };
}

/** The chain report for people: a summary line, then one line per issue. */
function describeReport(r: ChainReport): string {
  if (r.ok) return `audit log OK: ${r.entries} entries, chain intact up to seq ${r.head_seq}`;
  const lines = [`audit log TAMPERED: ${r.issues.length} issue(s) in ${r.entries} entries`];
  for (const i of r.issues) lines.push(`  seq ${i.seq}${i.id ? ` (${i.id})` : ""}: ${i.problem}`);
  if (r.truncated) lines.push("  … more issues not listed");
  return lines.join("\n");
}

/** `keyward audit list|verify|export`. */
export function registerAudit(program: Command): void {
  const audit = program.command("audit").description("read, verify and export the tamper-evident audit log");

  remoteFlags(
    filterOptions(audit.command("list").description("list audit entries, newest first"))
      .option("--limit <n>", "how many entries (1-1000, default 100)")
      .option("--before <seq>", "only entries before this seq (the previous page's next_before_seq)"),
  ).action(async (flags: FilterFlags & { limit?: string; before?: string }) => {
    const page = await remoteClient(flags).listAudit({
      ...filterQuery(flags),
      limit: flags.limit !== undefined ? parsePositiveInt(flags.limit, "--limit") : undefined,
      before_seq: flags.before !== undefined ? parsePositiveInt(flags.before, "--before") : undefined,
    });
    emit(stdoutOutput(Boolean(flags.json)), page, (v) => {
      if (v.data.length === 0) return "no audit entries";
      const rows = v.data.map((e) => [e.seq, e.ts, e.actor_id, e.action, e.target_id, e.project_id, e.ip]);
      const more = v.has_more ? `\n(more: add --before ${v.next_before_seq})` : "";
      return table(["SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "PROJECT", "IP"], rows) + more;
    });
  });

  remoteFlags(
    audit
      .command("verify")
      .description("check the hash chain; exit 0 when intact, 1 when tampering is found"),
  ).action(async (flags: RemoteFlags) => {
    const report = await remoteClient(flags).verifyAudit();
    emit(stdoutOutput(Boolean(flags.json)), report, describeReport);
    if (!report.ok) process.exitCode = 1;
  });

  filterOptions(
    audit
      .command("export")
      .description("export matching entries, oldest first, as JSON or CSV")
      .addOption(new Option("--format <format>", "json or csv").choices(["json", "csv"]).default("json"))
      .option("--output <file>", "write to this file instead of stdout")
      .option("--url <url>", "server URL (KEYWARD_URL, default http://127.0.0.1:8080)")
      .option("--admin-key <key>", "admin key (KEYWARD_ADMIN_KEY)"),
  ).action(async (flags: FilterFlags & { format: "json" | "csv"; output?: string }) => {
    const text = await remoteClient(flags).exportAudit(flags.format, filterQuery(flags));
    if (flags.output === undefined) {
      process.stdout.write(text.endsWith("\n") ? text : text + "\n");
      return;
    }
    try {
      writeFileSync(flags.output, text);
    } catch (err) {
      throw new CliError(`cannot write ${flags.output}: ${err instanceof Error ? err.message : String(err)}`);
    }
    process.stdout.write(`wrote ${flags.format.toUpperCase()} audit export to ${flags.output}\n`);
  });
}
