import type { Command } from "commander";
import type { TrustPolicy } from "../../oidc/policy.js";
import { emit, fields, stdoutOutput, table } from "../output.js";
import { collect, parseDuration, parseList, parsePermissions, usage } from "../parse.js";
import { remoteClient, remoteFlags, type RemoteFlags } from "../remote.js";
import { parseRpm, parseUsd } from "../run/key-spec.js";

interface AddFlags extends RemoteFlags {
  project: string;
  name: string;
  issuer: string;
  audience: string;
  claim: string[];
  maxTtl: string;
  models?: string;
  permissions?: string;
  resource: string[];
  budgetUsd?: string;
  rpm?: string;
}

/** Well-known issuers by short name. */
const ISSUERS: Record<string, string> = {
  github: "https://token.actions.githubusercontent.com",
  gitlab: "https://gitlab.com",
};

function showPolicy(p: TrustPolicy): string {
  return fields({
    id: p.id,
    project: p.project_id,
    name: p.name,
    issuer: p.issuer,
    audience: p.audience,
    conditions: Object.entries(p.conditions)
      .map(([k, v]) => `${k}=${v}`)
      .join(", "),
    max_ttl: `${p.grant.max_ttl_seconds} s`,
    models: p.grant.allowed_models?.join(", ") ?? "any",
    budget_usd: p.grant.budget_usd ?? "none",
    rpm: p.grant.rpm ?? "none",
    created_at: p.created_at,
  });
}

/** `keyward trust add|list|delete`: which CI identities may mint keys by OIDC exchange. */
export function registerTrust(program: Command): void {
  const trust = program.command("trust").description("trust CI identities (OIDC) to mint ephemeral keys");

  remoteFlags(
    trust
      .command("add")
      .description("trust tokens from an issuer whose claims match every --claim")
      .requiredOption("--project <id>", "the project whose keys matching runs may mint")
      .requiredOption("--name <name>", "what the policy is for, e.g. 'main branch deploys'")
      .requiredOption("--issuer <url|github|gitlab>", "the OIDC issuer")
      .option("--audience <aud>", "the audience tokens must carry", "keyward")
      .option(
        "--claim <name=pattern>",
        "repeatable; * matches anything, e.g. --claim ref=refs/heads/*",
        collect,
        [],
      )
      .option("--max-ttl <duration>", "longest life of a minted key", "1h")
      .option("--models <list>", "model allowlist of minted keys")
      .option("--permissions <mode>", "all, read_only, or restricted (with --resource)")
      .option("--resource <name=level>", "restricted grant, repeatable", collect, [])
      .option("--budget-usd <usd>", "spend cap over each minted key's life")
      .option("--rpm <n>", "requests per minute of each minted key"),
  ).action(async (flags: AddFlags) => {
    if (flags.claim.length === 0)
      throw usage("give at least one --claim (a policy that matches any run trusts everyone)");
    const conditions: Record<string, string> = {};
    for (const c of flags.claim) {
      const eq = c.indexOf("=");
      if (eq < 1 || eq === c.length - 1) throw usage(`--claim: "${c}" is not name=pattern`);
      conditions[c.slice(0, eq)] = c.slice(eq + 1);
    }
    const permissions = parsePermissions(flags.permissions, flags.resource);
    const p = await remoteClient(flags).createTrustPolicy(flags.project, {
      name: flags.name,
      issuer: ISSUERS[flags.issuer] ?? flags.issuer,
      audience: flags.audience,
      conditions,
      grant: {
        max_ttl_seconds: parseDuration(flags.maxTtl, "--max-ttl"),
        ...(permissions ? { permissions } : {}),
        ...(flags.models ? { allowed_models: parseList(flags.models, "--models") } : {}),
        ...(flags.budgetUsd ? { budget_usd: parseUsd(flags.budgetUsd, "--budget-usd") } : {}),
        ...(flags.rpm ? { rpm: parseRpm(flags.rpm, "--rpm") } : {}),
      },
    });
    emit(stdoutOutput(Boolean(flags.json)), p, (v) => `trusting ${v.issuer} (${v.id})\n${showPolicy(v)}`);
  });

  remoteFlags(
    trust
      .command("list")
      .description("a project's trust policies")
      .requiredOption("--project <id>", "the project"),
  ).action(async (flags: RemoteFlags & { project: string }) => {
    const r = await remoteClient(flags).listTrustPolicies(flags.project);
    emit(stdoutOutput(Boolean(flags.json)), r, (v) =>
      v.data.length === 0
        ? "no trust policies"
        : table(
            ["id", "name", "issuer", "conditions", "max ttl"],
            v.data.map((p) => [
              p.id,
              p.name,
              p.issuer,
              Object.entries(p.conditions)
                .map(([k, c]) => `${k}=${c}`)
                .join(", "),
              `${p.grant.max_ttl_seconds} s`,
            ]),
          ),
    );
  });

  remoteFlags(trust.command("delete <id>").description("stop trusting a CI identity")).action(
    async (id: string, flags: RemoteFlags) => {
      await remoteClient(flags).deleteTrustPolicy(id);
      emit(stdoutOutput(Boolean(flags.json)), { id, deleted: true }, () => `deleted ${id}`);
    },
  );
}
