import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical.js";

/** The fields of an audit entry that the chain covers (everything but the hashes). */
export interface ChainedFields {
  seq: number;
  id: string;
  ts: number;
  actor_id: string;
  actor_role: string | null;
  action: string;
  target_type: string;
  target_id: string;
  project_id: string | null;
  ip: string | null;
  user_agent: string | null;
  changes: string;
}

/** h_i = SHA-256(h_{i-1} ‖ canonical(entry_i)), hex. */
export function chainHash(prevHash: string, entry: ChainedFields): string {
  const body: ChainedFields = {
    seq: entry.seq,
    id: entry.id,
    ts: entry.ts,
    actor_id: entry.actor_id,
    actor_role: entry.actor_role,
    action: entry.action,
    target_type: entry.target_type,
    target_id: entry.target_id,
    project_id: entry.project_id,
    ip: entry.ip,
    user_agent: entry.user_agent,
    changes: entry.changes,
  };
  return createHash("sha256").update(prevHash).update(canonicalJson(body)).digest("hex");
}
