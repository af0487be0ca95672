import type { AuditReport } from "./api/client";

/** The audit filter as the form holds it: free text and yyyy-mm-dd dates (UTC days). */
export interface AuditFilterForm {
  actor: string;
  action: string;
  target: string;
  since: string;
  until: string;
}

export const EMPTY_FILTER: AuditFilterForm = { actor: "", action: "", target: "", since: "", until: "" };

/** The API query for a filter: blank fields left out, `until` covering its whole day. */
export function auditQuery(f: AuditFilterForm): {
  actor_id?: string;
  action?: string;
  target_id?: string;
  since?: string;
  until?: string;
} {
  const day = (d: string, end: boolean) => `${d}T${end ? "23:59:59.999" : "00:00:00.000"}Z`;
  return {
    ...(f.actor.trim() ? { actor_id: f.actor.trim() } : {}),
    ...(f.action.trim() ? { action: f.action.trim() } : {}),
    ...(f.target.trim() ? { target_id: f.target.trim() } : {}),
    ...(f.since ? { since: day(f.since, false) } : {}),
    ...(f.until ? { until: day(f.until, true) } : {}),
  };
}

const PROBLEMS: Record<AuditReport["issues"][number]["problem"], string> = {
  hash_mismatch: "its content was changed",
  broken_link: "it does not follow the entry before it",
  sequence_gap: "entries before it are missing",
  head_mismatch: "the newest entries were removed or replaced",
};

/** The chain report in words: "intact", or each place it was tampered with. */
export function describeReport(r: AuditReport): string {
  if (r.ok) return `The audit chain is intact: ${r.entries} entries verified.`;
  const where = r.issues.map((i) => `entry ${i.seq}: ${PROBLEMS[i.problem]}`).join("; ");
  return `The audit chain was tampered with. ${where}${r.truncated ? " (and more)" : ""}.`;
}
