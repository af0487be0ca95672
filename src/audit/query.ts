import type { Kysely } from "kysely";
import type { AuditLogTable, DB } from "../store/schema.js";
import { csvCell } from "../core/csv.js";
import type { AuditEntry } from "./types.js";

export interface AuditFilter {
  action?: string;
  actorId?: string;
  targetId?: string;
  projectId?: string;
  /** Only entries of these projects (a principal limited to some projects); [] matches none. */
  projectIds?: readonly string[];
  since?: number;
  until?: number;
  /** Return entries with seq below this (newest-first paging). */
  beforeSeq?: number;
  /** Return entries with seq above this (oldest-first paging, for exports). */
  afterSeq?: number;
  order?: "asc" | "desc";
  limit: number;
}

/** Lists audit entries (newest first unless `order: "asc"`), filtered, one page at a time. */
export async function listAudit(db: Kysely<DB>, f: AuditFilter): Promise<AuditEntry[]> {
  let q = db.selectFrom("audit_log").selectAll();
  if (f.action) q = q.where("action", "=", f.action);
  if (f.actorId) q = q.where("actor_id", "=", f.actorId);
  if (f.targetId) q = q.where("target_id", "=", f.targetId);
  if (f.projectId) q = q.where("project_id", "=", f.projectId);
  if (f.projectIds) {
    if (f.projectIds.length === 0) return [];
    q = q.where("project_id", "in", [...f.projectIds]);
  }
  if (f.since !== undefined) q = q.where("ts", ">=", f.since);
  if (f.until !== undefined) q = q.where("ts", "<", f.until);
  if (f.beforeSeq !== undefined) q = q.where("seq", "<", f.beforeSeq);
  if (f.afterSeq !== undefined) q = q.where("seq", ">", f.afterSeq);
  const rows = await q
    .orderBy("seq", f.order ?? "desc")
    .limit(f.limit)
    .execute();
  return rows.map(toEntry);
}

export function toEntry(row: AuditLogTable): AuditEntry {
  return {
    seq: row.seq,
    id: row.id,
    ts: new Date(row.ts).toISOString(),
    actor_id: row.actor_id,
    actor_role: row.actor_role,
    action: row.action,
    target_type: row.target_type,
    target_id: row.target_id,
    project_id: row.project_id,
    ip: row.ip,
    user_agent: row.user_agent,
    changes: JSON.parse(row.changes) as Record<string, unknown>,
    hash: row.hash,
  };
}

const CSV_COLUMNS = [
  "seq",
  "id",
  "ts",
  "actor_id",
  "actor_role",
  "action",
  "target_type",
  "target_id",
  "project_id",
  "ip",
  "user_agent",
  "changes",
  "hash",
] as const;

/** The CSV header line (RFC 4180, CRLF). */
export const AUDIT_CSV_HEADER = CSV_COLUMNS.join(",") + "\r\n";

/** One entry as a CSV line (RFC 4180, CRLF). */
export function auditCsvLine(e: AuditEntry): string {
  return CSV_COLUMNS.map((c) => csvCell(e[c])).join(",") + "\r\n";
}

/**
 * Streams every matching entry, oldest first, a page at a time: memory stays bounded however
 * long the log is. Yields the text chunks of a CSV file or a JSON array.
 */
export async function* exportAudit(
  db: Kysely<DB>,
  filter: Omit<AuditFilter, "limit" | "order" | "afterSeq" | "beforeSeq">,
  format: "json" | "csv",
): AsyncGenerator<string> {
  yield format === "csv" ? AUDIT_CSV_HEADER : "[";
  let after = 0;
  let first = true;
  for (;;) {
    const page = await listAudit(db, { ...filter, afterSeq: after, order: "asc", limit: 1000 });
    let chunk = "";
    for (const e of page) {
      if (format === "csv") chunk += auditCsvLine(e);
      else {
        chunk += (first ? "" : ",") + JSON.stringify(e);
        first = false;
      }
    }
    if (chunk) yield chunk;
    if (page.length < 1000) break;
    after = page[page.length - 1]!.seq;
  }
  if (format === "json") yield "]";
}
