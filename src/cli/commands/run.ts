import { spawn } from "node:child_process";
import { constants } from "node:os";
import type { Readable, Writable } from "node:stream";
import type { Command } from "commander";
import { collect, parseList, parseMetadata, parsePermissions, usage } from "../parse.js";
import { remoteClient, remoteUrl, type RemoteFlags } from "../remote.js";
import { KeywardClient } from "../../client/client.js";
import { ciToken } from "../run/oidc.js";
import { runContext, runKeyName } from "../run/ci-context.js";
import { readEnvFile, type EnvFile } from "../run/env-file.js";
import {
  createBody,
  DEFAULT_RUN_TTL_SECONDS,
  parseRpm,
  parseTtl,
  parseUsd,
  type RunKeySpec,
} from "../run/key-spec.js";
import { SecretMask } from "../run/mask.js";

interface RunFlags extends Omit<RemoteFlags, "json"> {
  project?: string;
  ttl?: string;
  models?: string;
  permissions?: string;
  resource: string[];
  budgetUsd?: string;
  rpm?: string;
  ip?: string;
  name?: string;
  metadata?: string;
  envName: string;
  baseUrlEnv: string;
  envFile?: string;
  oidc?: boolean;
  oidcAudience: string;
  oidcTokenEnv: string;
}

/** Mints the run's keys and ends them: with an admin key, or by OIDC exchange. */
interface Minter {
  baseUrl: string;
  mint(
    spec: RunKeySpec,
    name: string,
    metadata: Record<string, unknown>,
  ): Promise<{ id: string; key: string }>;
  revoke(minted: { id: string; key: string }): Promise<void>;
}

function adminMinter(flags: RunFlags): Minter {
  const client = remoteClient(flags);
  return {
    baseUrl: client.baseUrl,
    mint: (spec, name, metadata) => client.createKey(spec.project, createBody(spec, name, metadata)),
    revoke: async ({ id }) => void (await client.revokeKey(id, "keyward run ended")),
  };
}

/** No admin key: the CI's OIDC token is exchanged; the key revokes itself at the end. */
function oidcMinter(flags: RunFlags): Minter {
  const client = new KeywardClient(remoteUrl(flags), null);
  return {
    baseUrl: client.baseUrl,
    async mint(spec) {
      const token = await ciToken(
        { audience: flags.oidcAudience, tokenEnv: flags.oidcTokenEnv },
        process.env,
      );
      return client.exchangeOidcToken({
        token,
        ...(spec.project ? { project_id: spec.project } : {}),
        ttl_seconds: spec.ttlSeconds,
      });
    },
    revoke: async ({ key }) => void (await client.revokeSelf(key)),
  };
}

/** What the command's output shows instead of a minted key. */
const MASK = "kw_live_****";
/** Signals passed on to the command; its own exit then ends the run. */
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** `keyward run -- <command>`: the command gets a key of its own for as long as it runs. */
export function registerRun(program: Command): void {
  program
    .command("run")
    .description("run a command with an ephemeral key in OPENAI_API_KEY, revoked when it ends")
    .usage("[options] -- <command> [args...]")
    .argument("<command...>", "the command and its arguments (after --)")
    .option("--project <id>", "the project the key belongs to (required unless --env-file names them)")
    .option("--ttl <duration>", "the key's longest life, e.g. 30m, 2h (default 1h; capped by the project)")
    .option("--models <list>", "model allowlist, comma-separated")
    .option("--permissions <mode>", "all, read_only, or restricted (with --resource)")
    .option("--resource <name=level>", "restricted grant, repeatable", collect, [])
    .option("--budget-usd <usd>", "spend cap over the key's life, in USD")
    .option("--rpm <n>", "requests per minute")
    .option("--ip <list>", "IP/CIDR allowlist, comma-separated (default: any)")
    .option("--name <name>", "the key's name (default: where the run comes from and what it runs)")
    .option("--metadata <json>", "extra metadata, merged over what keyward records of the run")
    .option("--env-name <name>", "variable for the key", "OPENAI_API_KEY")
    .option("--base-url-env <name>", "variable for keyward's /v1 URL", "OPENAI_BASE_URL")
    .option("--env-file <path>", "a dotenv file; keyward://<project>?ttl=…&models=… values become fresh keys")
    .option("--oidc", "no admin key: exchange the CI's OIDC token for the key (see docs/ci.md)")
    .option("--oidc-audience <aud>", "audience of the token asked from GitHub Actions", "keyward")
    .option(
      "--oidc-token-env <name>",
      "variable holding a ready OIDC token (GitLab id_tokens)",
      "KEYWARD_OIDC_TOKEN",
    )
    .option("--url <url>", "server URL (KEYWARD_URL, default http://127.0.0.1:8080)")
    .option("--admin-key <key>", "admin key (KEYWARD_ADMIN_KEY)")
    .action(async (command: string[], flags: RunFlags) => {
      process.exitCode = await run(command, flags);
    });
}

async function run(command: string[], flags: RunFlags): Promise<number> {
  const envFile = flags.envFile ? readEnvFile(flags.envFile) : null;
  const specs = keySpecs(flags, envFile?.refs ?? []);
  if (flags.oidc && specs.length !== 1)
    throw usage("--oidc mints one key: give --project, not keyward:// references");
  const minter = flags.oidc ? oidcMinter(flags) : adminMinter(flags);
  const context = runContext(process.env);
  const metadata = { keyward_run: context, ...(flags.metadata ? parseMetadata(flags.metadata) : {}) };
  const minted: Array<{ id: string; key: string }> = [];
  const revokeAll = () => revoke(minter, minted);
  try {
    for (const { spec } of specs)
      minted.push(await minter.mint(spec, spec.name ?? runKeyName(context, command.join(" ")), metadata));
  } catch (err) {
    await revokeAll();
    throw err;
  }
  const env: NodeJS.ProcessEnv = { ...process.env, ...envFile?.plain };
  specs.forEach(({ variable }, i) => (env[variable] = minted[i]!.key));
  env[flags.baseUrlEnv] = new URL("/v1", minter.baseUrl).href;
  return supervise(
    command,
    env,
    minted.map((m) => m.key),
    revokeAll,
  );
}

/** The keys to mint: one per `keyward://` line of --env-file, or one from the flags. */
function keySpecs(flags: RunFlags, refs: EnvFile["refs"]): Array<{ variable: string; spec: RunKeySpec }> {
  const fromFlags = (project: string): RunKeySpec => ({
    project,
    ttlSeconds: flags.ttl ? parseTtl(flags.ttl, "--ttl") : DEFAULT_RUN_TTL_SECONDS,
    name: flags.name,
    models: flags.models ? parseList(flags.models, "--models") : undefined,
    ips: flags.ip ? parseList(flags.ip, "--ip") : undefined,
    permissions: parsePermissions(flags.permissions, flags.resource),
    budgetUsd: flags.budgetUsd ? parseUsd(flags.budgetUsd, "--budget-usd") : undefined,
    rpm: flags.rpm ? parseRpm(flags.rpm, "--rpm") : undefined,
  });
  const specs = refs.map((r) => ({ variable: r.name, spec: r.spec }));
  // With --oidc the trust policy names the project; --project only narrows the choice.
  if (flags.project || (flags.oidc && refs.length === 0))
    specs.push({ variable: flags.envName, spec: fromFlags(flags.project ?? "") });
  if (specs.length === 0) throw usage("give --project, or an --env-file with keyward:// references");
  return specs;
}

/**
 * Runs the command with the keys in its environment and its output masked, forwards signals,
 * and revokes the keys however it ends. Resolves to the command's exit code (128 + the signal
 * number when a signal ended it, as shells report it).
 */
async function supervise(
  command: string[],
  env: NodeJS.ProcessEnv,
  secrets: string[],
  revokeAll: () => Promise<void>,
): Promise<number> {
  const child = spawn(command[0]!, command.slice(1), { env, stdio: ["inherit", "pipe", "pipe"] });
  const forward = (sig: NodeJS.Signals) => () => {
    if (child.exitCode === null) child.kill(sig);
  };
  const handlers = FORWARDED.map((sig) => [sig, forward(sig)] as const);
  for (const [sig, h] of handlers) process.on(sig, h);
  const piped = [
    masked(child.stdout, secrets, process.stdout),
    masked(child.stderr, secrets, process.stderr),
  ];
  const code = await new Promise<number>((resolve) => {
    child.once("error", (err: NodeJS.ErrnoException) => {
      process.stderr.write(`keyward: cannot run ${command[0]}: ${err.code ?? err.message}\n`);
      resolve(err.code === "ENOENT" ? 127 : 126);
    });
    child.once("exit", (status, signal) =>
      resolve(status ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
    );
  });
  await Promise.all(piped);
  for (const [sig, h] of handlers) process.off(sig, h);
  await revokeAll();
  return code;
}

/** Pipes `from` through one mask per secret into `to` (which stays open); resolves at the end. */
function masked(from: Readable, secrets: string[], to: Writable): Promise<void> {
  let stream: Readable = from;
  for (const s of secrets) stream = stream.pipe(new SecretMask(s, MASK));
  stream.pipe(to, { end: false });
  return new Promise((resolve) => {
    stream.once("end", resolve);
    stream.once("error", () => resolve());
  });
}

/** Revokes every minted key; one that cannot be revoked is named, with when it expires anyway. */
async function revoke(minter: Minter, minted: Array<{ id: string; key: string }>): Promise<void> {
  for (const m of minted) {
    const { id } = m;
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await minter.revoke(m);
        lastError = undefined;
        break;
      } catch (err) {
        lastError = err;
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
    if (lastError) {
      const why = lastError instanceof Error ? lastError.message : String(lastError);
      process.stderr.write(`keyward: could not revoke ${id} (${why}); it ends at its TTL\n`);
    }
  }
}
