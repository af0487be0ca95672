import { Command, CommanderError } from "commander";
import { ApiError } from "../client/client.js";
import { ConfigError } from "../config/config.js";
import { registerAdminKeys } from "./commands/admin-keys.js";
import { registerAudit } from "./commands/audit.js";
import { registerInit } from "./commands/init.js";
import { registerKeys } from "./commands/keys.js";
import { registerProjects } from "./commands/projects.js";
import { registerServe } from "./commands/serve.js";
import { registerUsage } from "./commands/usage.js";
import { registerUpstreams } from "./commands/upstreams.js";
import { registerWebhooks } from "./commands/webhooks.js";
import { registerScan } from "./commands/scan.js";
import { registerHook } from "./commands/hook.js";
import { registerRun } from "./commands/run.js";
import { registerTrust } from "./commands/trust.js";
import { registerDestinations } from "./commands/destinations.js";
import { registerUsers } from "./commands/users.js";
import { CliError } from "./errors.js";

/** Builds the `keyward` command tree; one file per command group under commands/. */
export function buildProgram(): Command {
  const program = new Command("keyward")
    .description("self-hosted API keys: scoped, rotated, audited")
    .version("0.1.0")
    .exitOverride()
    .showHelpAfterError(false)
    // Usage errors read like every other failure: `keyward: <one line>`.
    .configureOutput({ outputError: (str, write) => write(`keyward: ${str.replace(/^error: /, "")}`) });
  registerServe(program);
  registerInit(program);
  registerProjects(program);
  registerKeys(program);
  registerAudit(program);
  registerAdminKeys(program);
  registerUsage(program);
  registerUpstreams(program);
  registerWebhooks(program);
  registerScan(program);
  registerHook(program);
  registerRun(program);
  registerTrust(program);
  registerDestinations(program);
  registerUsers(program);
  return program;
}

/** Runs the CLI; every failure is one line on stderr and a non-zero exit code. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version are "errors" to commander; they already printed.
    return err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version"
      ? 0
      : 2;
  }
  if (err instanceof CliError) {
    process.stderr.write(`keyward: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof ApiError) {
    process.stderr.write(
      `keyward: ${err.message} (${err.code}${err.requestId ? `, request ${err.requestId}` : ""})\n`,
    );
    return 1;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`keyward: ${err.message}\n`);
    return 2;
  }
  process.stderr.write(`keyward: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

await main(process.argv);
