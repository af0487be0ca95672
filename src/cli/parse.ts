import {
  ACCESS_LEVELS,
  RESOURCES,
  type AccessLevel,
  type Permissions,
  type Resource,
} from "../core/permissions.js";
import { CliError } from "./errors.js";

/**
 * Parsing of local flag values. Every failure is a usage error (exit code 2) naming the flag,
 * raised before any request is sent.
 */

/** A usage error: bad flag input, reported as one line with exit code 2. */
export function usage(message: string): CliError {
  return new CliError(message, 2);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };

/**
 * A duration such as `30d`, `12h`, `45m`, `3600s`, `2w`, or a bare number of seconds (`0`),
 * in whole seconds.
 */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d{1,10})([smhdw]?)$/.exec(value.trim());
  if (!m) throw usage(`${flag}: "${value}" is not a duration (e.g. 30d, 12h, 45m, 3600s, 0)`);
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] || "s"]!;
  if (!Number.isSafeInteger(seconds)) throw usage(`${flag}: "${value}" is too long`);
  return seconds;
}

/** A point in time given as an ISO 8601 date or date-time; returned as a full ISO string (UTC). */
export function parseTimestamp(value: string, flag: string): string {
  const bad = () => usage(`${flag}: "${value}" is not an ISO 8601 time (e.g. 2026-01-31T12:00:00Z)`);
  const v = value.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(v);
  if (!m) throw bad();
  const ms = Date.parse(v);
  // Date.parse rolls 2026-02-31 over into March: a calendar day that does not exist is refused.
  const [year, month, dayOfMonth] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(year, month - 1, dayOfMonth));
  if (Number.isNaN(ms) || day.getUTCMonth() !== month - 1 || day.getUTCDate() !== dayOfMonth) throw bad();
  return new Date(ms).toISOString();
}

/** `--since`: an ISO time, or a duration back from `now` (e.g. `7d` = the last seven days). */
export function parseSince(value: string, flag: string, now: number = Date.now()): string {
  if (/^\d+[smhdw]$/.test(value.trim()))
    return new Date(now - parseDuration(value, flag) * 1000).toISOString();
  try {
    return parseTimestamp(value, flag);
  } catch {
    throw usage(`${flag}: "${value}" is neither an ISO 8601 time nor a duration like 7d or 12h`);
  }
}

/** A comma-separated list (`a,b, c`); blanks are dropped, an empty list is an error. */
export function parseList(value: string, flag: string): string[] {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw usage(`${flag}: give a comma-separated list`);
  return items;
}

/** Like {@link parseList}, but the word `none` means "clear it" and gives null. */
export function parseClearableList(value: string, flag: string): string[] | null {
  return value.trim().toLowerCase() === "none" ? null : parseList(value, flag);
}

/** A positive integer, e.g. `--limit`. */
export function parsePositiveInt(value: string, flag: string): number {
  if (!/^\d{1,9}$/.test(value.trim()) || Number(value) < 1)
    throw usage(`${flag}: "${value}" is not a positive whole number`);
  return Number(value);
}

/** `--metadata`: a JSON object. */
export function parseMetadata(value: string, flag = "--metadata"): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw usage(`${flag}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw usage(`${flag}: must be a JSON object, e.g. '{"team":"search"}'`);
  return parsed as Record<string, unknown>;
}

/** Whether `value` is one of the resources a key can be scoped to. */
export function isResource(value: string): value is Resource {
  return (RESOURCES as readonly string[]).includes(value);
}

/** One `--resource name=level` grant, e.g. `chat_completions=write`. */
export function parseResourceGrant(value: string): [Resource, AccessLevel] {
  const m = /^([a-z_]+)=([a-z]+)$/.exec(value.trim());
  if (!m) throw usage(`--resource: "${value}" must look like name=level, e.g. chat_completions=write`);
  const [, name, level] = m as unknown as [string, string, string];
  if (!isResource(name))
    throw usage(`--resource: unknown resource "${name}" (one of: ${RESOURCES.join(", ")})`);
  if (!(ACCESS_LEVELS as readonly string[]).includes(level))
    throw usage(`--resource: level "${level}" must be one of ${ACCESS_LEVELS.join(", ")}`);
  return [name, level as AccessLevel];
}

/**
 * Permissions from `--permissions all|read_only|restricted` and repeatable `--resource`
 * grants; undefined when neither flag was given. Grants alone imply `restricted`.
 */
export function parsePermissions(
  mode: string | undefined,
  grants: readonly string[],
): Permissions | undefined {
  if (mode === undefined && grants.length === 0) return undefined;
  const effective = mode ?? "restricted";
  if (effective === "all" || effective === "read_only") {
    if (grants.length) throw usage(`--resource applies only to --permissions restricted, not ${effective}`);
    return { mode: effective };
  }
  if (effective !== "restricted")
    throw usage(`--permissions: "${effective}" must be one of all, read_only, restricted`);
  if (grants.length === 0)
    throw usage("--permissions restricted needs at least one --resource name=level (e.g. models=read)");
  const resources: Partial<Record<Resource, AccessLevel>> = {};
  for (const g of grants) {
    const [name, level] = parseResourceGrant(g);
    if (resources[name] !== undefined && resources[name] !== level)
      throw usage(`--resource: ${name} given twice with different levels`);
    resources[name] = level;
  }
  return { mode: "restricted", resources };
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
