import { sql, type Kysely, type Migration } from "kysely";

/** The old sweep re-read this much before its cursor, for usage rows committed a little late. */
const OVERLAP_MS = 10 * 60_000;

/**
 * key_ips is now filled by the usage writer, in the transaction that records the events; the
 * anomaly sweep no longer copies it from usage_events behind its `usage_ip_ts` cursor. This
 * copies, once, what that cursor had not reached yet (normally the last minute before the
 * upgrade), so an IP first used then is not reported as new the next time. The cursor row stays:
 * replicas still on the previous version keep using it during a rolling upgrade (what they
 * record after this runs and before their next sweep can be reported once as a new IP).
 */
export const keyIpsAtWrite: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // The WHERE clause also settles SQLite's parsing ambiguity of INSERT … SELECT … ON CONFLICT.
    await sql`
      insert into key_ips (key_id, ip, first_seen_at)
      select key_id, client_ip, min(ts) from usage_events
      where client_ip is not null
        and ts >= (select coalesce(max(value), 0) from alert_state where name = 'usage_ip_ts')
          - ${sql.lit(OVERLAP_MS)}
      group by key_id, client_ip
      on conflict (key_id, ip) do nothing`.execute(db);
  },
};
