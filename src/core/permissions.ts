import { z } from "./zod.js";

/**
 * OpenAI API resources a key can be scoped to (mirrors OpenAI's "Restricted" key page).
 * The gateway maps each request path to one of these; paths it cannot map are allowed only
 * for keys with `all`.
 */
export const RESOURCES = [
  "models",
  "chat_completions",
  "completions",
  "responses",
  "embeddings",
  "images",
  "audio",
  "files",
  "fine_tuning",
  "batches",
  "moderations",
  "assistants",
  "vector_stores",
] as const;
export type Resource = (typeof RESOURCES)[number];

export const ACCESS_LEVELS = ["none", "read", "write"] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];
/** What a request needs: reading (GET/list) or writing (create/call). */
export type Access = "read" | "write";

export const PermissionsSchema = z.discriminatedUnion("mode", [
  z.object({ mode: z.literal("all") }).strict(),
  z.object({ mode: z.literal("read_only") }).strict(),
  z
    .object({
      mode: z.literal("restricted"),
      resources: z.partialRecord(z.enum(RESOURCES), z.enum(ACCESS_LEVELS)),
    })
    .strict(),
]);
export type Permissions = z.infer<typeof PermissionsSchema>;

export const DEFAULT_PERMISSIONS: Permissions = { mode: "all" };

const RANK: Record<AccessLevel, number> = { none: 0, read: 1, write: 2 };

/**
 * Whether `permissions` allow `access` to `resource`. `write` implies `read`.
 * An unknown resource (`undefined`) is allowed only under `all`: unmapped paths never slip
 * through a restricted key.
 */
export function permits(permissions: Permissions, resource: Resource | undefined, access: Access): boolean {
  switch (permissions.mode) {
    case "all":
      return true;
    case "read_only":
      return resource !== undefined && access === "read";
    case "restricted": {
      if (resource === undefined) return false;
      const granted = permissions.resources[resource] ?? "none";
      return RANK[granted] >= RANK[access];
    }
  }
}

/** A model allowlist entry: an exact model id, or a prefix ending in `*` (e.g. `gpt-4o*`). */
export const ModelPatternSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:/-]+\*?$/, "model pattern: letters, digits, . _ : / - and an optional trailing *");

/** Compiles an allowlist once (at cache fill), so each check is a set lookup or a few prefix tests. */
export function compileModelAllowlist(patterns: readonly string[] | null): (model: string) => boolean {
  if (!patterns) return () => true;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const p of patterns) {
    if (p.endsWith("*")) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  return (model) => exact.has(model) || prefixes.some((p) => model.startsWith(p));
}
