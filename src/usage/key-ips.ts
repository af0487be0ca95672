import type { Kysely, Transaction } from "kysely";
import type { DB, KeyIpsTable } from "../store/schema.js";
import type { UsageEvent } from "./types.js";

/**
 * The distinct (key, client IP) pairs of `events`, each with its earliest timestamp, sorted by
 * key_ips' primary key (key_id, ip) (pure). Events without a client IP name no pair. Sorted so
 * that concurrent writers (replicas on one PostgreSQL) insert into key_ips in the same order and
 * cannot deadlock on each other's uncommitted rows, as with the rollups.
 */
export function keyIpPairs(events: readonly UsageEvent[]): KeyIpsTable[] {
  const pairs = new Map<string, KeyIpsTable>();
  for (const e of events) {
    if (e.clientIp === null) continue;
    const id = `${e.keyId}\u0000${e.clientIp}`;
    const seen = pairs.get(id);
    if (!seen) pairs.set(id, { key_id: e.keyId, ip: e.clientIp, first_seen_at: e.ts });
    else if (e.ts < seen.first_seen_at) seen.first_seen_at = e.ts;
  }
  return [...pairs.values()].sort((a, b) => cmp(a.key_id, b.key_id) || cmp(a.ip, b.ip));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Rows per INSERT: 3 columns × 500 stays far below both dialects' parameter limits. */
const ROWS_PER_INSERT = 500;

/**
 * Records pairs in key_ips inside the caller's transaction, keeping the first sighting: a pair
 * already there is left alone (ON CONFLICT DO NOTHING), so this costs an index probe per pair
 * and writes only when a key meets a new IP. Should two replicas' batches commit out of time
 * order, the pair keeps the later batch's first_seen_at: they are a flush interval apart, which
 * the hour-long anomaly window does not notice.
 */
export async function writeKeyIps(tx: Transaction<DB>, pairs: readonly KeyIpsTable[]): Promise<void> {
  for (let i = 0; i < pairs.length; i += ROWS_PER_INSERT)
    await keyIpsInsert(tx, pairs.slice(i, i + ROWS_PER_INSERT)).execute();
}

/** The insert of `pairs` into key_ips that leaves pairs already there alone, built but not run. */
export function keyIpsInsert(db: Kysely<DB>, pairs: readonly KeyIpsTable[]) {
  return db
    .insertInto("key_ips")
    .values([...pairs])
    .onConflict((oc) => oc.columns(["key_id", "ip"]).doNothing());
}
