import type { Role } from "../core/roles.js";

/** Who did something, and from where: the "who" and "from where" of every audit entry. */
export interface Actor {
  /** An admin key id (`adm_…`), a user id (`usr_…`), or `system` for keyward itself (init, policies). */
  id: string;
  role: string | null;
  ip: string | null;
  userAgent: string | null;
}

/**
 * An authenticated caller of the management API, as routes and services see it: the actor the
 * audit log names, with its role. Lives here, beside Actor, so that services (keys, projects,
 * upstreams) need not import the admins module that authenticates it.
 */
export interface Principal extends Actor {
  role: Role;
  /** The admin key's name, or the user's email. */
  name: string;
  /** The projects this principal may see and change; null or absent = every project. */
  projects?: readonly string[] | null;
}

export const SYSTEM_ACTOR: Actor = { id: "system", role: null, ip: null, userAgent: null };

/** What happened, to what. `changes` holds before/after of changed fields, never a secret. */
export interface AuditEvent {
  action: string;
  targetType:
    | "project"
    | "key"
    | "admin_key"
    | "audit"
    | "upstream"
    | "master_key"
    | "webhook"
    | "trust_policy"
    | "user"
    | "invitation"
    | "session";
  targetId: string;
  projectId?: string | null;
  changes: Record<string, unknown>;
}

/** An audit entry as the API returns it. */
export interface AuditEntry {
  seq: number;
  id: string;
  ts: string;
  actor_id: string;
  actor_role: string | null;
  action: string;
  target_type: string;
  target_id: string;
  project_id: string | null;
  ip: string | null;
  user_agent: string | null;
  changes: Record<string, unknown>;
  hash: string;
}
