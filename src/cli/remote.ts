import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { KeywardClient } from "../client/client.js";
import { CliError } from "./errors.js";

export interface RemoteOptions {
  url?: string;
  adminKey?: string;
}

/** The flags every command that talks to a server accepts: where, as whom, and `--json`. */
export interface RemoteFlags extends RemoteOptions {
  json?: boolean;
}

/** Adds `--url`, `--admin-key` and `--json` to a command that talks to a running server. */
export function remoteFlags(cmd: Command): Command {
  return cmd
    .option("--url <url>", "server URL (KEYWARD_URL, default http://127.0.0.1:8080)")
    .option("--admin-key <key>", "admin key (KEYWARD_ADMIN_KEY)")
    .option("--json", "print the API's JSON object");
}

/**
 * The client for commands that talk to a running server. URL and admin key come from flags,
 * then KEYWARD_URL / KEYWARD_ADMIN_KEY, then the CLI config file
 * (KEYWARD_CLI_CONFIG or ~/.config/keyward/cli.json: {"url": …, "admin_key": …}).
 */
export function remoteClient(opts: RemoteOptions, env: NodeJS.ProcessEnv = process.env): KeywardClient {
  const file = readCliConfig(env);
  const url = remoteUrl(opts, env);
  const adminKey = opts.adminKey ?? env.KEYWARD_ADMIN_KEY ?? file.admin_key;
  if (!adminKey) {
    throw new CliError("no admin key: pass --admin-key, set KEYWARD_ADMIN_KEY, or run `keyward init` first");
  }
  return new KeywardClient(url, adminKey);
}

/** The server URL alone (for calls that need no admin key): flag, KEYWARD_URL, the CLI config. */
export function remoteUrl(opts: RemoteOptions, env: NodeJS.ProcessEnv = process.env): string {
  return opts.url ?? env.KEYWARD_URL ?? readCliConfig(env).url ?? "http://127.0.0.1:8080";
}

function readCliConfig(env: NodeJS.ProcessEnv): { url?: string; admin_key?: string } {
  const file = env.KEYWARD_CLI_CONFIG ?? path.join(homedir(), ".config", "keyward", "cli.json");
  try {
    return JSON.parse(readFileSync(file, "utf8")) as { url?: string; admin_key?: string };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new CliError(`cannot read CLI config ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
