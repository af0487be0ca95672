import type { Permissions } from "../../core/permissions.js";
import { parseDuration, parseList, parsePermissions, usage } from "../parse.js";

/** What an ephemeral key for one run may do. */
export interface RunKeySpec {
  project: string;
  ttlSeconds: number;
  name?: string | undefined;
  models?: string[] | undefined;
  ips?: string[] | undefined;
  permissions?: Permissions | undefined;
  budgetUsd?: number | undefined;
  rpm?: number | undefined;
}

/** Default lifetime of a run's key: the run's own end revokes it sooner. */
export const DEFAULT_RUN_TTL_SECONDS = 3600;

/** The create-key body for a run's key; `metadata` says where the run comes from. */
export function createBody(
  spec: RunKeySpec,
  name: string,
  metadata: Record<string, unknown>,
): Record<string, unknown> {
  const limits: Record<string, unknown> = {};
  if (spec.rpm !== undefined) limits.rpm = spec.rpm;
  // The run's key lives once: its budget is for its whole life, not per day or month.
  if (spec.budgetUsd !== undefined) limits.budget = { usd: spec.budgetUsd, period: "lifetime" };
  return {
    name,
    ephemeral: true,
    ttl_seconds: spec.ttlSeconds,
    metadata,
    ...(spec.permissions ? { permissions: spec.permissions } : {}),
    ...(spec.models ? { allowed_models: spec.models } : {}),
    ...(spec.ips ? { allowed_ips: spec.ips } : {}),
    ...(Object.keys(limits).length ? { limits } : {}),
  };
}

export function parseUsd(value: string, flag: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw usage(`${flag}: "${value}" is not a positive amount of USD`);
  return n;
}

export function parseRpm(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw usage(`${flag}: "${value}" is not a positive whole number`);
  return n;
}

export function parseTtl(value: string, flag: string): number {
  const s = parseDuration(value, flag);
  if (s < 60) throw usage(`${flag}: must be at least 60s`);
  return s;
}

const REF_OPTIONS = new Set(["ttl", "models", "ips", "permissions", "resource", "budget_usd", "rpm", "name"]);

/**
 * A secret reference from an env file: `keyward://<project>?ttl=2h&models=gpt-4o-mini&…`
 * (options: ttl, models, ips, permissions + resource, budget_usd, rpm, name). `where` names the
 * line in errors.
 */
export function parseKeywardRef(ref: string, where: string): RunKeySpec {
  let url: URL;
  try {
    url = new URL(ref);
  } catch {
    throw usage(`${where}: "${ref}" is not a keyward:// reference`);
  }
  if (url.protocol !== "keyward:" || !url.hostname || (url.pathname !== "" && url.pathname !== "/"))
    throw usage(`${where}: a reference looks like keyward://<project id>?ttl=2h&models=gpt-4o-mini`);
  for (const k of url.searchParams.keys())
    if (!REF_OPTIONS.has(k)) throw usage(`${where}: unknown option "${k}" (${[...REF_OPTIONS].join(", ")})`);
  const q = (k: string) => url.searchParams.get(k) ?? undefined;
  const flag = (k: string) => `${where}: ${k}`;
  const ttl = q("ttl");
  const models = q("models");
  const ips = q("ips");
  const budget = q("budget_usd");
  const rpm = q("rpm");
  return {
    // URL host names are lower-cased; project ids are case-sensitive, so take the raw text.
    project: decodeURIComponent(ref.slice("keyward://".length).split(/[/?#]/, 1)[0]!),
    ttlSeconds: ttl ? parseTtl(ttl, flag("ttl")) : DEFAULT_RUN_TTL_SECONDS,
    name: q("name"),
    models: models ? parseList(models, flag("models")) : undefined,
    ips: ips ? parseList(ips, flag("ips")) : undefined,
    permissions: parsePermissions(q("permissions"), url.searchParams.getAll("resource")),
    budgetUsd: budget ? parseUsd(budget, flag("budget_usd")) : undefined,
    rpm: rpm ? parseRpm(rpm, flag("rpm")) : undefined,
  };
}
