import { readFileSync } from "node:fs";
import { Option, type Command } from "commander";
import type { VerifyResult } from "../../client/client.js";
import type { Permissions } from "../../core/permissions.js";
import type { PushView } from "../../destinations/model.js";
import type { KeyView } from "../../keys/model.js";
import { emit, fields, secretBlock, stdoutOutput, table } from "../output.js";
import { fetchPages, moreHint } from "../paging.js";
import {
  collect,
  isResource,
  parseClearableList,
  parseDuration,
  parseList,
  parseMetadata,
  parsePermissions,
  parsePositiveInt,
  parseTimestamp,
  usage,
} from "../parse.js";
import { remoteClient, remoteFlags, type RemoteFlags } from "../remote.js";
import { describePush } from "./destinations.js";

/** Flags shared by `keys create` and `keys update`. */
interface SettingsFlags extends RemoteFlags {
  name?: string;
  permissions?: string;
  resource: string[];
  models?: string;
  ips?: string;
  metadata?: string;
  expiresAt?: string;
}

interface CreateFlags extends SettingsFlags {
  project: string;
  name: string;
  env?: "live" | "test";
  ttl?: string;
  idempotencyKey?: string;
  canary?: boolean;
}

interface ListFlags extends RemoteFlags {
  project?: string;
  status?: string;
  stale?: boolean;
  limit?: string;
  after?: string;
  all?: boolean;
}

interface VerifyFlags extends RemoteFlags {
  resource?: string;
  access?: "read" | "write";
  model?: string;
  ip?: string;
}

/** Permissions in one line: `all`, `read_only`, or `restricted: models=read, …`. */
export function describePermissions(p: Permissions): string {
  if (p.mode !== "restricted") return p.mode;
  const grants = Object.entries(p.resources).map(([r, level]) => `${r}=${level}`);
  return `restricted: ${grants.length ? grants.join(", ") : "(nothing)"}`;
}

/** A key (masked) as `key: value` lines. */
function showKey(k: KeyView): string {
  return fields({
    id: k.id,
    name: k.name,
    project: k.project_id,
    environment: k.environment,
    status: k.status,
    ...(k.canary ? { canary: "yes (never valid; any use raises key.canary_used)" } : {}),
    key: k.masked_key,
    permissions: describePermissions(k.permissions),
    models: k.allowed_models?.join(", ") ?? "any",
    ips: k.allowed_ips?.join(", ") ?? "any",
    metadata: Object.keys(k.metadata).length ? k.metadata : null,
    created_at: k.created_at,
    created_by: k.created_by,
    last_used_at: k.last_used_at ?? "never",
    expires_at: k.expires_at ?? "never",
    rotated_at: k.rotated_at ?? "never",
    rotate_by: k.rotate_by ?? "no rotation policy",
    stale: k.stale,
    ...(k.revoked_at ? { revoked_at: k.revoked_at, revoked_reason: k.revoked_reason } : {}),
  });
}

const permissionOptions = (cmd: Command): Command =>
  cmd
    .addOption(
      new Option("--permissions <mode>", "all, read_only, or restricted (with --resource)").choices([
        "all",
        "read_only",
        "restricted",
      ]),
    )
    .option(
      "--resource <name=level>",
      "restricted grant, repeatable: e.g. --resource chat_completions=write --resource models=read",
      collect,
      [],
    )
    .option("--metadata <json>", 'a JSON object, e.g. \'{"team":"search"}\'');

/** The settings body both create and update send, from flags. `clearable`: `none`/`never` clear. */
function settingsBody(flags: SettingsFlags, clearable: boolean): Record<string, unknown> {
  const permissions = parsePermissions(flags.permissions, flags.resource);
  const list = clearable ? parseClearableList : parseList;
  const body: Record<string, unknown> = {};
  if (flags.name !== undefined) body.name = flags.name;
  if (permissions) body.permissions = permissions;
  if (flags.models !== undefined) body.allowed_models = list(flags.models, "--models");
  if (flags.ips !== undefined) body.allowed_ips = list(flags.ips, "--ips");
  if (flags.metadata !== undefined) body.metadata = parseMetadata(flags.metadata);
  if (flags.expiresAt !== undefined)
    body.expires_at =
      clearable && flags.expiresAt.trim().toLowerCase() === "never"
        ? null
        : parseTimestamp(flags.expiresAt, "--expires-at");
  return body;
}

/** Where the new secret was written: one line per destination (none without destinations). */
function pushLines(pushes: PushView[] | undefined): string {
  if (!pushes?.length) return "";
  return (
    "\n\nSecret destinations:\n" + pushes.map((p) => `  ${p.destination_id}: ${describePush(p)}`).join("\n")
  );
}

/** `keyward keys …`: the key lifecycle. */
export function registerKeys(program: Command): void {
  const keys = program.command("keys").description("create, list, rotate and revoke API keys");

  remoteFlags(
    permissionOptions(
      keys
        .command("create")
        .description("create a key; its secret is printed once")
        .requiredOption("--project <id>", "the project the key belongs to")
        .requiredOption("--name <name>", "a name people recognise (person, app, environment)")
        .addOption(new Option("--env <env>", "key environment (default live)").choices(["live", "test"])),
    )
      .option("--models <list>", "model allowlist, comma-separated (e.g. gpt-4o,gpt-4o-mini*)")
      .option("--ips <list>", "IP/CIDR allowlist, comma-separated (e.g. 10.0.0.0/8,203.0.113.7)")
      .option("--ttl <duration>", "expire after e.g. 30d, 12h, 3600s")
      .option("--expires-at <time>", "expire at an ISO 8601 time")
      .option("--idempotency-key <key>", "make a retry safe: same key + same flags creates one key")
      .option("--canary", "a canary (tripwire) key: never valid; any use raises a key.canary_used alert"),
  ).action(async (flags: CreateFlags) => {
    if (flags.ttl !== undefined && flags.expiresAt !== undefined)
      throw usage("give --ttl or --expires-at, not both");
    const body = settingsBody(flags, false);
    if (flags.env) body.environment = flags.env;
    if (flags.canary) body.canary = true;
    if (flags.ttl !== undefined) {
      const ttl = parseDuration(flags.ttl, "--ttl");
      if (ttl === 0) throw usage("--ttl: must be longer than 0");
      body.ttl_seconds = ttl;
    }
    const k = await remoteClient(flags).createKey(flags.project, body, flags.idempotencyKey);
    emit(
      stdoutOutput(Boolean(flags.json)),
      k,
      (v) => `created key ${v.id} (${v.name})\n\n${secretBlock(v.key)}\n${showKey(v)}${pushLines(v.pushes)}`,
    );
  });

  remoteFlags(
    keys
      .command("list")
      .description("list keys (masked), oldest first")
      .option("--project <id>", "only this project's keys")
      .addOption(
        new Option("--status <status>", "only keys in this status").choices([
          "active",
          "disabled",
          "revoked",
          "expired",
        ]),
      )
      .option("--stale", "only stale keys: active but unused for the project's stale_after_days")
      .option("--limit <n>", "keys per page (1-100, default 20)")
      .option("--after <cursor>", "start after this key id (the previous page's next_cursor)")
      .option("--all", "follow the cursor and list every matching key"),
  ).action(async (flags: ListFlags) => {
    const client = remoteClient(flags);
    const limit =
      flags.limit !== undefined ? parsePositiveInt(flags.limit, "--limit") : flags.all ? 100 : undefined;
    const page = await fetchPages(
      (after) =>
        client.listKeys({
          project_id: flags.project,
          status: flags.status,
          ...(flags.stale ? { stale: "true" } : {}),
          limit,
          after,
        }),
      { all: Boolean(flags.all), after: flags.after },
    );
    emit(
      stdoutOutput(Boolean(flags.json)),
      page,
      (v) =>
        (v.data.length === 0
          ? "no keys"
          : table(
              ["ID", "NAME", "PROJECT", "ENV", "STATUS", "KEY", "LAST USED", "EXPIRES", "ROTATE BY"],
              v.data.map((k) => [
                k.id,
                k.name,
                k.project_id,
                k.environment,
                k.stale ? `${k.status} (stale)` : k.status,
                k.masked_key,
                k.last_used_at ?? "never",
                k.expires_at ?? "never",
                k.rotate_by ?? "-",
              ]),
            )) + moreHint(v),
    );
  });

  remoteFlags(keys.command("show <id>").description("show one key (masked)")).action(
    async (id: string, flags: RemoteFlags) => {
      emit(stdoutOutput(Boolean(flags.json)), await remoteClient(flags).getKey(id), showKey);
    },
  );

  remoteFlags(
    permissionOptions(
      keys
        .command("update <id>")
        .description("change a key's name, permissions, allowlists, metadata or expiry")
        .option("--name <name>", "new name"),
    )
      .option("--models <list>", "model allowlist, comma-separated, or `none` to allow any model")
      .option("--ips <list>", "IP/CIDR allowlist, comma-separated, or `none` to allow any IP")
      .option("--expires-at <time>", "expire at an ISO 8601 time, or `never`"),
  ).action(async (id: string, flags: SettingsFlags) => {
    const body = settingsBody(flags, true);
    if (Object.keys(body).length === 0)
      throw usage(
        "nothing to update: give --name, --permissions/--resource, --models, --ips, --metadata or --expires-at",
      );
    const k = await remoteClient(flags).updateKey(id, body);
    emit(stdoutOutput(Boolean(flags.json)), k, (v) => `updated key ${v.id}\n\n${showKey(v)}`);
  });

  remoteFlags(
    keys
      .command("rotate <id>")
      .description("issue a new secret for the key (printed once); the old one stops now or after --grace")
      .option("--grace <duration>", "how long the old secret keeps working, e.g. 24h (default 0: stops now)")
      .option("--idempotency-key <key>", "make a retry safe: a retry replays the first rotation"),
  ).action(async (id: string, flags: RemoteFlags & { grace?: string; idempotencyKey?: string }) => {
    const grace = flags.grace !== undefined ? parseDuration(flags.grace, "--grace") : 0;
    const r = await remoteClient(flags).rotateKey(id, grace, flags.idempotencyKey);
    emit(stdoutOutput(Boolean(flags.json)), r, (v) => {
      const old =
        grace === 0
          ? "The old secret stopped working now."
          : `The old secret keeps working until ${v.old_key_expires_at}.`;
      return `rotated key ${v.id} (${v.name})\n\n${secretBlock(v.key, "New secret")}\n${old}${pushLines(v.pushes)}`;
    });
  });

  remoteFlags(
    keys
      .command("revoke <id>")
      .description("revoke a key: immediate and irreversible")
      .option("--reason <text>", "why (kept in the key record and the audit log)"),
  ).action(async (id: string, flags: RemoteFlags & { reason?: string }) => {
    const k = await remoteClient(flags).revokeKey(id, flags.reason);
    emit(stdoutOutput(Boolean(flags.json)), k, (v) => `revoked key ${v.id} (${v.name})`);
  });

  for (const action of ["disable", "enable"] as const) {
    remoteFlags(
      keys
        .command(`${action} <id>`)
        .description(
          action === "disable" ? "disable a key (reversible with enable)" : "re-enable a disabled key",
        ),
    ).action(async (id: string, flags: RemoteFlags) => {
      const client = remoteClient(flags);
      const k = action === "disable" ? await client.disableKey(id) : await client.enableKey(id);
      emit(stdoutOutput(Boolean(flags.json)), k, (v) => `key ${v.id} (${v.name}) is now ${v.status}`);
    });
  }

  remoteFlags(
    keys
      .command("delete <id>")
      .description("delete a revoked or expired key's record (if policy allows; the audit trail stays)"),
  ).action(async (id: string, flags: RemoteFlags) => {
    await remoteClient(flags).deleteKey(id);
    emit(
      stdoutOutput(Boolean(flags.json)),
      { id, object: "api_key", deleted: true },
      (v) => `deleted key ${v.id}`,
    );
  });

  remoteFlags(
    keys
      .command("verify <secret>")
      .description("check a key as a service would (`-` reads it from stdin); exit 0 only when VALID")
      .option("--resource <name>", "the resource the request needs, e.g. chat_completions")
      .addOption(new Option("--access <access>", "read or write").choices(["read", "write"]))
      .option("--model <model>", "the model the request asks for")
      .option("--ip <ip>", "the caller's IP address"),
  ).action(async (secret: string, flags: VerifyFlags) => {
    if (flags.resource !== undefined && !isResource(flags.resource))
      throw usage(`--resource: unknown resource "${flags.resource}"`);
    const key = secret === "-" ? readFileSync(0, "utf8").trim() : secret;
    const r = await remoteClient(flags).verifyKey({
      key,
      ...(flags.resource ? { resource: flags.resource } : {}),
      ...(flags.access ? { access: flags.access } : {}),
      ...(flags.model ? { model: flags.model } : {}),
      ...(flags.ip ? { ip: flags.ip } : {}),
    });
    emit(stdoutOutput(Boolean(flags.json)), r, describeVerify);
    if (!r.valid) process.exitCode = 1;
  });
}

/** `CODE  key_… "name" (project …): message`, the code always first. */
function describeVerify(r: VerifyResult): string {
  const who = r.key_id ? `  ${r.key_id} "${r.name ?? ""}" (project ${r.project_id ?? "-"})` : "";
  return `${r.code}${who}${r.message ? `: ${r.message}` : ""}`;
}
