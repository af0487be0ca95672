/**
 * Seeding for `console-data-bench.ts`: 10,000 keys in one project (plus a few smaller projects)
 * and 1,000,000 usage events over 90 days, in bulk but row for row what the product writes.
 *
 * - Keys: the `api_keys` and `key_secrets` rows `KeyService.create` inserts (same id scheme,
 *   `generateKey` secret, `maskKey` hint, hash by the server's own hasher, canonical JSON),
 *   500 rows per INSERT in transactions of 2,000. Not written: the per-key `key.created` audit
 *   entries (neither page reads the audit log). Statuses are then set as the product would
 *   leave them: revoked after the key's last use, expired keys whose `expires_at` has passed,
 *   disabled keys; `last_used_at` is the key's latest event, as the last-used tracker writes it.
 * - Usage: `usage_events` through the usage bench's loaders (`usage-data.ts`), then the rollup
 *   tables by the migrations' own backfills (`backfillUsageRollups`, `backfillKeySpans`), which
 *   the usage e2e tests check against the recorder's incremental upserts. Key traffic is skewed
 *   (a few busy keys, a long tail), as real traffic is; every key of the big project has some.
 */
import { sql, type Kysely } from "kysely";
import { canonicalJson } from "../src/audit/canonical.js";
import type { SecretHasher } from "../src/core/hashing.js";
import { ID_PREFIX, newId } from "../src/core/ids.js";
import { generateKey, maskKey } from "../src/core/key-format.js";
import { DEFAULT_PERMISSIONS, type Permissions } from "../src/core/permissions.js";
import type { ApiKeysTable, DB } from "../src/store/schema.js";
import type { DataShape } from "./usage-data.js";

const DAY = 86_400_000;

export interface SeedProject {
  id: string;
  keys: number;
}

export interface SeededKey {
  id: string;
  projectId: string;
  name: string;
}

const TEAMS = ["payments", "search", "billing", "support", "growth", "infra", "mobile", "data", "ml", "web"];
const SERVICES = [
  "api",
  "worker",
  "cron",
  "etl",
  "chatbot",
  "indexer",
  "summarizer",
  "agent",
  "ci",
  "notebook",
];
const ENVS = ["prod", "staging", "dev"];

/** A name like `billing-indexer-prod-0421`: searchable by team, service or number. */
export function keyName(i: number): string {
  return `${TEAMS[i % TEAMS.length]}-${SERVICES[Math.floor(i / 10) % SERVICES.length]}-${ENVS[i % 3]}-${String(i).padStart(4, "0")}`;
}

const RESTRICTED = canonicalJson({
  mode: "restricted",
  resources: { chat_completions: "write", embeddings: "write", models: "read" },
} satisfies Permissions);

/** Inserts the keys as `KeyService.create` would have (created 91–200 days before `end`). */
export async function seedKeys(
  db: Kysely<DB>,
  hasher: SecretHasher,
  projects: SeedProject[],
  createdBy: string,
  end: number,
): Promise<SeededKey[]> {
  const out: SeededKey[] = [];
  const allPermissions = canonicalJson(DEFAULT_PERMISSIONS);
  let n = 0;
  for (const p of projects) {
    const rows: ApiKeysTable[] = [];
    const secrets: Array<{
      hash: string;
      key_id: string;
      hint: string;
      created_at: number;
      expires_at: null;
    }> = [];
    for (let i = 0; i < p.keys; i++, n++) {
      // Spread over 91..200 days ago, in creation order (ids sort by creation, like real ones).
      const createdAt = end - 200 * DAY + Math.floor((i * 109 * DAY) / p.keys);
      const environment = i % 7 === 6 ? "test" : "live";
      const secret = generateKey("kw", environment);
      const row: ApiKeysTable = {
        id: newId(ID_PREFIX.key, createdAt),
        project_id: p.id,
        name: keyName(i),
        environment,
        status: "active",
        permissions: i % 5 === 4 ? RESTRICTED : allPermissions,
        allowed_models: i % 11 === 0 ? canonicalJson(["gpt-4o-mini", "gpt-4o"]) : null,
        allowed_ips: null,
        metadata: canonicalJson(i % 3 === 0 ? { owner: TEAMS[i % TEAMS.length] } : {}),
        hint: maskKey(secret),
        created_at: createdAt,
        created_by: createdBy,
        updated_at: createdAt,
        last_used_at: null,
        expires_at: null,
        revoked_at: null,
        revoked_reason: null,
        limits: i % 13 === 0 ? canonicalJson({ rpm: 600 }) : null,
        rotated_at: null,
        canary: 0,
      };
      rows.push(row);
      secrets.push({
        hash: hasher.hash(secret),
        key_id: row.id,
        hint: row.hint,
        created_at: createdAt,
        expires_at: null,
      });
      out.push({ id: row.id, projectId: p.id, name: row.name });
    }
    for (let i = 0; i < rows.length; i += 2000)
      await db.transaction().execute(async (tx) => {
        for (let j = i; j < Math.min(rows.length, i + 2000); j += 500) {
          await tx
            .insertInto("api_keys")
            .values(rows.slice(j, Math.min(j + 500, i + 2000)))
            .execute();
          await tx
            .insertInto("key_secrets")
            .values(secrets.slice(j, Math.min(j + 500, i + 2000)))
            .execute();
        }
      });
  }
  return out;
}

/**
 * The events' key list, weighted by repetition (the generator draws uniformly from it): key i of
 * the big project appears ⌈40 / (1 + i/25)⌉ times — the first keys are busy, the tail quiet but
 * never idle — and each small project's keys a few times each.
 */
export function weightedKeys(keys: SeededKey[]): DataShape["keys"] {
  const out: DataShape["keys"] = [];
  const rank = new Map<string, number>();
  for (const k of keys) {
    const r = rank.get(k.projectId) ?? 0;
    rank.set(k.projectId, r + 1);
    const times = Math.ceil(40 / (1 + r / 25));
    for (let t = 0; t < times; t++) out.push({ id: k.id, projectId: k.projectId });
  }
  return out;
}

/**
 * After the events are in: `last_used_at` from each key's latest event, then a share of keys
 * revoked (just after their last use), expired (`expires_at` just after their last use, in the
 * past) and disabled, by their position so both stores get the same ones. One statement each,
 * the same SQL on SQLite and PostgreSQL.
 */
export async function settleKeys(db: Kysely<DB>, projectId: string, now: number): Promise<void> {
  await sql`update api_keys set last_used_at =
      (select max(ts) from usage_events e where e.key_id = api_keys.id)`.execute(db);
  const ranked = (mod: number, lo: number, hi: number) =>
    sql`id in (select id from (select id, row_number() over (order by id) as rn from api_keys
        where project_id = ${projectId}) r where rn % ${mod} >= ${lo} and rn % ${mod} < ${hi})`;
  const after = sql`coalesce(last_used_at, created_at) + 60000`;
  await sql`update api_keys set status = 'revoked', revoked_at = ${after}, updated_at = ${after},
      revoked_reason = 'rotated out' where ${ranked(100, 0, 6)}`.execute(db);
  await sql`update api_keys set expires_at = ${after} where ${ranked(100, 6, 9)}`.execute(db);
  await sql`update api_keys set status = 'disabled', updated_at = ${now} where ${ranked(100, 9, 11)}`.execute(
    db,
  );
  // Active keys with an expiry still ahead: a fifth of the rest.
  await sql`update api_keys set expires_at = ${now + 60 * DAY} where ${ranked(100, 11, 31)}`.execute(db);
}
