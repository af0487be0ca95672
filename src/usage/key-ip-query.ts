import type { Kysely } from "kysely";
import type { DB } from "../store/schema.js";

/** One client IP a key was used from, with the first time it was seen. */
export interface KeyIpRow {
  ip: string;
  first_seen_at: number;
}

/**
 * The client IPs a key was used from, most recently first seen first, from key_ips (kept by the
 * usage writer, one row per (key, IP)); a read by the table's primary key prefix.
 */
export async function listKeyIps(db: Kysely<DB>, keyId: string, limit: number): Promise<KeyIpRow[]> {
  const rows = await db
    .selectFrom("key_ips")
    .select(["ip", "first_seen_at"])
    .where("key_id", "=", keyId)
    .orderBy("first_seen_at", "desc")
    .orderBy("ip", "asc")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ip: r.ip, first_seen_at: Number(r.first_seen_at) }));
}
