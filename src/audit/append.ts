import type { Executor, Dialect } from "../store/database.js";
import { ID_PREFIX, newId } from "../core/ids.js";
import { canonicalJson } from "./canonical.js";
import { chainHash } from "./chain.js";
import type { Actor, AuditEvent } from "./types.js";

/**
 * Appends one entry to the hash chain inside the caller's transaction, so the change and its
 * audit entry commit or fail together (principle 3).
 *
 * The head row is read `FOR UPDATE` on PostgreSQL: concurrent transactions queue on it, so two
 * entries can never take the same seq or chain from the same predecessor. (SQLite runs one
 * write transaction at a time already.) Call it last in a transaction, after the change's own
 * row locks, so lock order is always "data rows, then audit head" and cannot deadlock.
 */
export async function appendAudit(
  tx: Executor,
  dialect: Dialect,
  actor: Actor,
  event: AuditEvent,
  now: number,
): Promise<void> {
  const headQuery = tx.selectFrom("audit_head").select(["seq", "hash"]).where("id", "=", 1);
  const head = await (dialect === "postgres" ? headQuery.forUpdate() : headQuery).executeTakeFirstOrThrow();
  const fields = {
    seq: head.seq + 1,
    id: newId(ID_PREFIX.audit, now),
    ts: now,
    actor_id: actor.id,
    actor_role: actor.role,
    action: event.action,
    target_type: event.targetType,
    target_id: event.targetId,
    project_id: event.projectId ?? null,
    ip: actor.ip,
    user_agent: actor.userAgent ? actor.userAgent.slice(0, 512) : null,
    changes: canonicalJson(event.changes),
  };
  const hash = chainHash(head.hash, fields);
  await tx
    .insertInto("audit_log")
    .values({ ...fields, prev_hash: head.hash, hash })
    .execute();
  await tx.updateTable("audit_head").set({ seq: fields.seq, hash }).where("id", "=", 1).execute();
}
