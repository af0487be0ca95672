import type { Role } from "../core/roles.js";
import type { InvitationKind, InvitationsTable, UsersTable } from "../store/schema.js";

/** A user as the API returns it (never the password hash). Times are epoch milliseconds. */
export interface UserView {
  id: string;
  email: string;
  display_name: string;
  role: Role;
  /** The projects the user may see and change; null = every project. */
  projects: string[] | null;
  created_at: number;
  disabled_at: number | null;
}

/** An invitation as the API lists it (never the token). */
export interface InvitationView {
  id: string;
  kind: InvitationKind;
  email: string | null;
  role: Role;
  projects: string[] | null;
  expires_at: number;
  created_at: number;
}

/** A stored project list (JSON array) or null (every project). */
export function parseProjects(stored: string | null): string[] | null {
  if (stored === null) return null;
  const parsed: unknown = JSON.parse(stored);
  return Array.isArray(parsed) ? parsed.filter((p): p is string => typeof p === "string") : [];
}

/** A project list for storage: sorted and without duplicates, so equal lists compare equal. */
export function storeProjects(projects: readonly string[] | null | undefined): string | null {
  if (projects === null || projects === undefined) return null;
  return JSON.stringify([...new Set(projects)].sort());
}

export function toUserView(r: UsersTable): UserView {
  return {
    id: r.id,
    email: r.email,
    display_name: r.display_name,
    role: r.role as Role,
    projects: parseProjects(r.projects),
    created_at: r.created_at,
    disabled_at: r.disabled_at,
  };
}

export function toInvitationView(r: InvitationsTable): InvitationView {
  return {
    id: r.id,
    kind: r.kind,
    email: r.email,
    role: r.role as Role,
    projects: parseProjects(r.projects),
    expires_at: r.expires_at,
    created_at: r.created_at,
  };
}

/** Emails are compared lower-cased and trimmed. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}
