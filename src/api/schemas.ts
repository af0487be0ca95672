import { isIP } from "node:net";
import { z } from "@hono/zod-openapi";
import { parseCidr } from "../core/cidr.js";
import { ID_PREFIX } from "../core/ids.js";
import { ModelPatternSchema, PermissionsSchema, RESOURCES } from "../core/permissions.js";
import { LimitsSchema } from "../core/limits.js";
import { KEY_SORTS } from "../keys/list-order.js";
import { ROLES } from "../core/roles.js";
import { AddedDestinationSchema, DestinationList, PushSchema } from "./schemas/destinations.js";

/**
 * One set of schemas gives request validation, handler types and the OpenAPI 3.1 document.
 * Request objects are `.strict()`: an unknown field is an error, not silently dropped.
 */

const idOf = (prefix: string, name: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`), `must be a ${name} id (${prefix}_…)`)
    .openapi({ example: `${prefix}_01JD3ZK5Q8XW2V7N4M6B9C1D2E` });

export const ProjectId = idOf(ID_PREFIX.project, "project");
export const KeyId = idOf(ID_PREFIX.key, "key");
export const AdminKeyId = idOf(ID_PREFIX.admin, "admin key");

export const ProjectIdParam = z.object({
  project_id: ProjectId.openapi({ param: { name: "project_id", in: "path" } }),
});
export const KeyIdParam = z.object({ key_id: KeyId.openapi({ param: { name: "key_id", in: "path" } }) });
export const AdminKeyIdParam = z.object({
  admin_key_id: AdminKeyId.openapi({ param: { name: "admin_key_id", in: "path" } }),
});

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      request_id: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi("Error");

/**
 * Text that is stored as given: well-formed Unicode without NUL. PostgreSQL cannot store U+0000
 * in text (the insert fails) and both stores silently replace unpaired surrogates, so such
 * input is refused here, the same on every store, instead of failing or changing in the store.
 */
const storable = (s: string): boolean => !s.includes("\u0000") && !/[\uD800-\uDFFF]/u.test(s);
const STORABLE_MESSAGE = "must be valid Unicode text without NUL (U+0000) characters";
const Text = (max: number) => z.string().max(max).refine(storable, STORABLE_MESSAGE);

export const Name = z.string().trim().min(1).max(128).refine(storable, STORABLE_MESSAGE);
const IsoDate = z.iso.datetime({ offset: true });

export const Paging = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
};

const Cidr = z
  .string()
  .max(64)
  .refine((s) => parseCidr(s) !== null, "must be an IP address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)");

const METADATA_MAX_DEPTH = 8;

/** Whether a parsed JSON value nests deeper than `levels` objects/arrays (recursing at most that far). */
function nestsDeeperThan(value: unknown, levels: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (levels === 0) return true;
  return Object.values(value).some((v) => nestsDeeperThan(v, levels - 1));
}

const Metadata = z
  .record(z.string().min(1).max(64), z.unknown())
  .refine((m) => Object.keys(m).length <= 32, "at most 32 metadata keys")
  // Checked before anything serialises it: a body of 64 KiB can nest ~30,000 levels deep,
  // which overflows the stack of JSON.stringify (a 500 instead of a 400).
  .refine((m) => !nestsDeeperThan(m, METADATA_MAX_DEPTH), {
    message: `metadata may nest at most ${METADATA_MAX_DEPTH} levels deep`,
    abort: true,
  })
  .refine((m) => JSON.stringify(m).length <= 4096, "metadata must be at most 4 KiB as JSON")
  .openapi({ example: { team: "search", env: "ci" } });

const Permissions = PermissionsSchema.openapi("Permissions", {
  example: { mode: "restricted", resources: { chat_completions: "write", models: "read" } },
});

const ModelList = z.array(ModelPatternSchema).min(1).max(100).nullable();
const IpList = z.array(Cidr).min(1).max(100).nullable();

// ---- projects ----

export const ProjectSchema = z
  .object({
    id: z.string(),
    object: z.literal("project"),
    name: z.string(),
    description: z.string().nullable(),
    limits: LimitsSchema.nullable(),
    rotation_max_age_days: z.number().nullable(),
    rotation_enforce: z.boolean(),
    stale_after_days: z.number().nullable(),
    leak_action: z.enum(["revoke", "disable"]).openapi({ description: "What a reported leak does to a key" }),
    ephemeral_max_ttl_seconds: z
      .number()
      .openapi({ description: "Longest life of an ephemeral key (`keyward run`), in seconds" }),
    created_at: z.string(),
    created_by: z.string(),
    updated_at: z.string(),
  })
  .openapi("Project");

/** Rotation policy days: 1 day to 10 years, or null to switch the rule off. */
const PolicyDays = (what: string) =>
  z
    .number()
    .int()
    .min(1)
    .max(3650)
    .nullable()
    .openapi({ description: `${what} (1–3650 days; null switches it off)` });

export const CreateProjectBody = z
  .object({
    name: Name,
    description: Text(1000).nullable().optional(),
    limits: LimitsSchema.nullable().optional(),
  })
  .strict()
  .openapi("CreateProject");

export const UpdateProjectBody = z
  .object({
    name: Name.optional(),
    description: Text(1000).nullable().optional(),
    limits: LimitsSchema.nullable().optional(),
    rotation_max_age_days: PolicyDays("Keys must be rotated within this many days").optional(),
    rotation_enforce: z
      .boolean()
      .optional()
      .openapi({ description: "Expire keys at their rotation deadline (true) or only warn (false)" }),
    stale_after_days: PolicyDays("Active keys unused this long are flagged stale").optional(),
    leak_action: z
      .enum(["revoke", "disable"])
      .optional()
      .openapi({ description: "What a reported leak does to a key: revoke (default) or disable" }),
    ephemeral_max_ttl_seconds: z
      .number()
      .int()
      .min(60)
      .max(30 * 86400)
      .optional()
      .openapi({ description: "Longest life of an ephemeral key, 60 s to 30 days (default 1 day)" }),
  })
  .strict()
  .openapi("UpdateProject");

export const ProjectListSchema = z.object({
  object: z.literal("list"),
  data: z.array(ProjectSchema),
  has_more: z.boolean(),
  next_cursor: z.string().nullable(),
});

// ---- keys ----

export const KeySchema = z
  .object({
    id: z.string(),
    object: z.literal("api_key"),
    project_id: z.string(),
    name: z.string(),
    environment: z.enum(["live", "test"]),
    status: z.enum(["active", "disabled", "revoked", "expired"]),
    masked_key: z.string().openapi({ example: "kw_live_…Xk3p" }),
    permissions: Permissions,
    allowed_models: z.array(z.string()).nullable(),
    allowed_ips: z.array(z.string()).nullable(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    created_by: z.string(),
    updated_at: z.string(),
    last_used_at: z.string().nullable(),
    expires_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    revoked_reason: z.string().nullable(),
    limits: LimitsSchema.nullable(),
    rotated_at: z.string().nullable(),
    rotate_by: z
      .string()
      .nullable()
      .openapi({ description: "Rotation deadline under the project's policy (null: no maximum age)" }),
    stale: z.boolean().openapi({ description: "Active and unused for the project's stale_after_days" }),
    canary: z
      .boolean()
      .openapi({ description: "A canary key: never valid; any use raises a key.canary_used alert" }),
    created_by_name: z.string().nullable().optional().openapi({
      description:
        "The creator's display name (user) or name (admin key, trust policy), in the key list and the key itself; null when that creator no longer exists",
    }),
  })
  .openapi("Key");

export const KeyWithSecretSchema = KeySchema.extend({
  key: z.string().openapi({ description: "The secret. Returned only in this response; store it now." }),
}).openapi("KeyWithSecret");

export const RotatedKeySchema = KeyWithSecretSchema.extend({
  old_key_expires_at: z.string().openapi({ description: "Until when the previous secret still works." }),
  pushes: z.array(PushSchema).optional().openapi({
    description:
      "The new secret's pushes to the key's destinations, after their first attempt (failures are retried).",
  }),
}).openapi("RotatedKey");

export const CreatedKeySchema = KeyWithSecretSchema.extend({
  destinations: z.array(AddedDestinationSchema).optional(),
  pushes: z.array(PushSchema).optional(),
}).openapi("CreatedKey");

export const KeyListSchema = z.object({
  object: z.literal("list"),
  data: z.array(KeySchema),
  has_more: z.boolean(),
  next_cursor: z.string().nullable(),
});

export const CreateKeyBody = z
  .object({
    name: Name,
    environment: z.enum(["live", "test"]).optional(),
    permissions: Permissions.optional(),
    allowed_models: ModelList.optional(),
    allowed_ips: IpList.optional(),
    metadata: Metadata.optional(),
    expires_at: IsoDate.nullable().optional(),
    limits: LimitsSchema.nullable().optional(),
    ttl_seconds: z
      .number()
      .int()
      .min(60)
      .max(10 * 365 * 86400)
      .optional(),
    ephemeral: z.boolean().optional().openapi({
      description:
        "An ephemeral key for one run (`keyward run`): ttl_seconds is required and at most the project's ephemeral_max_ttl_seconds.",
    }),
    destinations: DestinationList.optional().openapi({
      description:
        "Secret managers the key is written to now and at every rotation (AWS Secrets Manager, Vault KV v2, a signed webhook).",
    }),
    canary: z.boolean().optional().openapi({
      description:
        "Create a canary (tripwire) key: it never authenticates, and any use of it raises a key.canary_used alert and an audit entry.",
    }),
  })
  .strict()
  .refine((b) => !(b.expires_at && b.ttl_seconds !== undefined), {
    message: "give expires_at or ttl_seconds, not both",
    path: ["ttl_seconds"],
  })
  .refine((b) => !b.ephemeral || b.ttl_seconds !== undefined, {
    message: "an ephemeral key needs ttl_seconds",
    path: ["ttl_seconds"],
  })
  .openapi("CreateKey");

export const UpdateKeyBody = z
  .object({
    name: Name.optional(),
    permissions: Permissions.optional(),
    allowed_models: ModelList.optional(),
    allowed_ips: IpList.optional(),
    metadata: Metadata.optional(),
    expires_at: IsoDate.nullable().optional(),
    limits: LimitsSchema.nullable().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, "nothing to update: give at least one field")
  .openapi("UpdateKey");

export const ListKeysQuery = z.object({
  status: z.enum(["active", "disabled", "revoked", "expired"]).optional(),
  stale: z
    .enum(["true", "false"])
    .optional()
    .openapi({ description: "true: only stale keys; false: only keys that are not stale" }),
  rotate_due_before: IsoDate.optional().openapi({
    description: "Only keys whose project's rotation deadline (rotate_by) falls before this time",
  }),
  budgeted: z
    .enum(["true", "false"])
    .optional()
    .openapi({ description: "true: only keys with a budget of their own; false: only keys without" }),
  q: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .openapi({ description: "Only keys whose name or masked key contains this (case-insensitive)" }),
  sort: z.enum(KEY_SORTS).optional().openapi({
    description:
      "created (oldest first, the default), -created (newest first), name (A–Z, case-insensitive), -name (Z–A)",
  }),
  after: KeyId.optional().openapi({
    description: "The previous page's next_cursor: the page continues after that key, in the same sort",
  }),
  ...Paging,
});

export const RotateKeyBody = z
  .object({
    grace_seconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86400)
      .default(0)
      .openapi({ description: "How long the old secret keeps working (0 = stops at once; max 30 days)." }),
  })
  .strict()
  .openapi("RotateKey");

export const RevokeKeyBody = z
  .object({ reason: Text(500).optional() })
  .strict()
  .openapi("RevokeKey");

export const IdempotencyHeader = z.object({
  "idempotency-key": z
    .string()
    .regex(/^[\x21-\x7e]{16,255}$/, "16–255 visible ASCII characters (a UUID is ideal)")
    .optional()
    .openapi({ param: { name: "idempotency-key", in: "header" } }),
});

// ---- verify ----

export const VerifyBody = z
  .object({
    key: z.string().max(256),
    resource: z.enum(RESOURCES).optional(),
    access: z.enum(["read", "write"]).optional(),
    model: z.string().min(1).max(256).optional(),
    ip: z
      .string()
      .max(64)
      .refine((s) => isIP(s) !== 0, "must be an IPv4 or IPv6 address")
      .optional(),
  })
  .strict()
  .openapi("VerifyKey");

export const VerifyResultSchema = z
  .object({
    valid: z.boolean(),
    code: z.enum([
      "VALID",
      "NOT_FOUND",
      "MALFORMED",
      "REVOKED",
      "EXPIRED",
      "DISABLED",
      "FORBIDDEN",
      "RATE_LIMITED",
      "BUDGET_EXCEEDED",
    ]),
    key_id: z.string().nullable(),
    project_id: z.string().nullable(),
    name: z.string().nullable(),
    environment: z.enum(["live", "test"]).nullable(),
    permissions: Permissions.nullable(),
    allowed_models: z.array(z.string()).nullable(),
    expires_at: z.string().nullable(),
    message: z.string().nullable(),
  })
  .openapi("VerifyResult");

// ---- admin keys ----

export const AdminKeySchema = z
  .object({
    id: z.string(),
    object: z.literal("admin_key"),
    name: z.string(),
    role: z.enum(ROLES),
    masked_key: z.string(),
    status: z.enum(["active", "revoked"]),
    created_at: z.string(),
    created_by: z.string(),
    last_used_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
  })
  .openapi("AdminKey");

export const CreateAdminKeyBody = z
  .object({ name: Name, role: z.enum(ROLES) })
  .strict()
  .openapi("CreateAdminKey");

// ---- audit ----

export const AuditEntrySchema = z
  .object({
    seq: z.number(),
    id: z.string(),
    ts: z.string(),
    actor_id: z.string(),
    actor_role: z.string().nullable(),
    action: z.string(),
    target_type: z.string(),
    target_id: z.string(),
    project_id: z.string().nullable(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    changes: z.record(z.string(), z.unknown()),
    hash: z.string(),
    actor_name: z.string().nullable().optional().openapi({
      description:
        "The actor's current display name or name, in the list (not in exports); null when that actor no longer exists",
    }),
  })
  .openapi("AuditEntry");

export const AuditQuery = z.object({
  action: Text(64).optional(),
  actor_id: Text(64).optional(),
  target_id: Text(64).optional(),
  project_id: ProjectId.optional(),
  since: IsoDate.optional(),
  until: IsoDate.optional(),
  before_seq: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

// ---- leaks ----

export const LeakReportSchema = z
  .object({
    object: z.literal("leak_report"),
    source: z.string().openapi({ description: "`github`, or `admin <id>` for POST /api/v1/leaks" }),
    tokens: z.number().openapi({ description: "Tokens the report listed (never shown)" }),
    contained: z.number().nullable().openapi({
      description: "Keys it revoked or disabled; null for reports processed before this was recorded",
    }),
    received_at: z.string(),
  })
  .openapi("LeakReport");

export const LeakReportQuery = z.object({
  before: IsoDate.optional().openapi({ description: "Only reports received before this time" }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const AuditExportQuery = AuditQuery.omit({ before_seq: true, limit: true }).extend({
  format: z.enum(["json", "csv"]).default("json"),
});

export const AuditReportSchema = z
  .object({
    ok: z.boolean(),
    entries: z.number(),
    head_seq: z.number(),
    head_hash: z.string(),
    issues: z.array(
      z.object({
        seq: z.number(),
        id: z.string().nullable(),
        problem: z.enum(["hash_mismatch", "broken_link", "sequence_gap", "head_mismatch"]),
      }),
    ),
    truncated: z.boolean(),
  })
  .openapi("AuditVerifyReport");
