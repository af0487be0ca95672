import type { Project, Role, User } from "./api/client";

export const ROLES: readonly Role[] = ["owner", "admin", "member", "reader"];

/** The roles `granter` may give (owners any, admins anything but owner), as the API checks. */
export function grantableRoles(granter: Role): Role[] {
  if (granter === "owner") return [...ROLES];
  if (granter === "admin") return ROLES.filter((r) => r !== "owner");
  return [];
}

/** Whether `actor` may change `target` at all: not themselves, and never someone above them. */
export function mayChange(actor: User | null, target: User): boolean {
  if (!actor || actor.id === target.id) return false;
  return grantableRoles(actor.role).includes(target.role);
}

/** Only members and readers can be limited to projects; owners and admins see every one. */
export function mayBeLimited(role: Role): boolean {
  return role === "member" || role === "reader";
}

/** A project list as it reads in a table: names, or "Every project". */
export function describeProjects(ids: readonly string[] | null, projects: readonly Project[]): string {
  if (ids === null) return "Every project";
  if (ids.length === 0) return "None";
  const names = new Map(projects.map((p) => [p.id, p.name]));
  return ids.map((id) => names.get(id) ?? id).join(", ");
}
