import process from "node:process";
import type { Command } from "commander";
import type { DestinationInput, DestinationView, PushView } from "../../destinations/model.js";
import { emit, stdoutOutput, table } from "../output.js";
import { usage } from "../parse.js";
import { remoteClient, remoteFlags, type RemoteFlags } from "../remote.js";

interface AddFlags extends RemoteFlags {
  address?: string;
  mount?: string;
  path?: string;
  field?: string;
  namespace?: string;
  tokenEnv: string;
  region?: string;
  secretId?: string;
  jsonKey?: string;
  endpoint?: string;
  awsStaticCredentials?: boolean;
  webhookUrl?: string;
}

const KINDS: Record<string, DestinationInput["kind"]> = {
  vault: "vault_kv2",
  aws: "aws_secrets_manager",
  webhook: "webhook",
};

function need(value: string | undefined, flag: string, kind: string): string {
  if (!value) throw usage(`${kind} destinations need ${flag}`);
  return value;
}

function fromEnv(name: string, why: string): string {
  const v = process.env[name];
  if (!v) throw usage(`set ${name} (${why}); credentials are read from the environment, never from flags`);
  return v;
}

/** Builds the API input from flags. Credentials come from environment variables (flags show in `ps`). */
function destinationInput(kindName: string, f: AddFlags): DestinationInput {
  const kind = KINDS[kindName];
  if (!kind) throw usage(`unknown destination "${kindName}": use vault, aws or webhook`);
  switch (kind) {
    case "vault_kv2":
      return {
        kind,
        address: need(f.address, "--address", kindName),
        path: need(f.path, "--path", kindName),
        token: fromEnv(f.tokenEnv, "the Vault token keyward writes with"),
        ...(f.mount ? { mount: f.mount } : {}),
        ...(f.field ? { field: f.field } : {}),
        ...(f.namespace ? { namespace: f.namespace } : {}),
      };
    case "aws_secrets_manager":
      return {
        kind,
        region: need(f.region, "--region", kindName),
        secret_id: need(f.secretId, "--secret-id", kindName),
        ...(f.jsonKey ? { json_key: f.jsonKey } : {}),
        ...(f.endpoint ? { endpoint: f.endpoint } : {}),
        ...(f.awsStaticCredentials
          ? {
              access_key_id: fromEnv("AWS_ACCESS_KEY_ID", "--aws-static-credentials"),
              secret_access_key: fromEnv("AWS_SECRET_ACCESS_KEY", "--aws-static-credentials"),
              ...(process.env.AWS_SESSION_TOKEN ? { session_token: process.env.AWS_SESSION_TOKEN } : {}),
            }
          : {}),
      };
    case "webhook":
      return { kind, url: need(f.webhookUrl, "--webhook-url", kindName) };
  }
}

/** "vault https://vault:8200 secret/apps/billing#OPENAI_API_KEY", "aws eu-west-1 prod/app", … */
export function describeDestination(d: DestinationView): string {
  const c = d.config;
  switch (c.kind) {
    case "vault_kv2":
      return `vault ${c.address} ${c.mount}/${c.path}#${c.field}`;
    case "aws_secrets_manager":
      return `aws ${c.region} ${c.secret_id}${c.json_key ? `#${c.json_key}` : ""}`;
    case "webhook":
      return `webhook ${c.masked_url}`;
  }
}

/** "delivered", "pending (attempt 2: HTTP 503; next 2026-…)", … */
export function describePush(p: PushView | null): string {
  if (!p) return "not pushed yet (next rotation)";
  if (p.status === "pending")
    return `pending (attempt ${p.attempts}: ${p.last_error ?? "not tried"}; next ${p.next_attempt_at})`;
  return p.last_error && p.status !== "delivered" ? `${p.status} (${p.last_error})` : p.status;
}

/** `keyward destinations add|list|remove`: the secret managers a key's new secrets are written to. */
export function registerDestinations(program: Command): void {
  const cmd = program
    .command("destinations")
    .description("write a key's secret to secret managers on create and at every rotation");

  remoteFlags(
    cmd
      .command("add <key-id> <vault|aws|webhook>")
      .description("add a destination; it receives the secret from the key's next rotation on")
      .option("--address <url>", "vault: the server, e.g. https://vault.example.com:8200")
      .option("--mount <name>", "vault: the KV v2 mount (default secret)")
      .option("--path <path>", "vault: the secret's path, e.g. apps/billing")
      .option("--field <name>", "vault: the field (default OPENAI_API_KEY); other fields are kept")
      .option("--namespace <ns>", "vault: Enterprise namespace")
      .option("--token-env <name>", "vault: the variable holding the token", "VAULT_TOKEN")
      .option("--region <region>", "aws: e.g. eu-west-1")
      .option("--secret-id <name|arn>", "aws: the secret (created on the first push if missing)")
      .option("--json-key <name>", "aws: store as this field of a JSON secret")
      .option("--endpoint <url>", "aws: a VPC endpoint")
      .option(
        "--aws-static-credentials",
        "aws: send AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN] from this environment (default: the server's own AWS credentials)",
      )
      .option("--webhook-url <url>", "webhook: where the signed POST goes (--url is the keyward server)"),
  ).action(async (keyId: string, kind: string, flags: AddFlags) => {
    const d = await remoteClient(flags).addDestination(keyId, destinationInput(kind, flags));
    emit(stdoutOutput(Boolean(flags.json)), d, (v) =>
      [
        `added ${v.id}: ${describeDestination(v)}`,
        ...(v.signing_secret ? [`Signing secret (shown once): ${v.signing_secret}`] : []),
        "It receives the secret from the key's next rotation on: keyward keys rotate " +
          keyId +
          " --grace 1h",
      ].join("\n"),
    );
  });

  remoteFlags(cmd.command("list <key-id>").description("a key's destinations and their latest push")).action(
    async (keyId: string, flags: RemoteFlags) => {
      const r = await remoteClient(flags).listDestinations(keyId);
      emit(stdoutOutput(Boolean(flags.json)), r, (v) =>
        v.data.length === 0
          ? "no destinations"
          : table(
              ["id", "destination", "latest push"],
              v.data.map((d) => [d.id, describeDestination(d), describePush(d.last_push)]),
            ),
      );
    },
  );

  remoteFlags(
    cmd.command("remove <key-id> <destination-id>").description("stop writing the key's secret there"),
  ).action(async (keyId: string, id: string, flags: RemoteFlags) => {
    await remoteClient(flags).removeDestination(keyId, id);
    emit(stdoutOutput(Boolean(flags.json)), { id, removed: true }, () => `removed ${id}`);
  });
}
