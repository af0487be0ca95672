/**
 * Admin roles and what each may do. This table is the single source of truth; the README's
 * matrix is generated from the same words.
 *
 * | action                          | owner | admin | member        | reader |
 * |---------------------------------|-------|-------|---------------|--------|
 * | projects.read                   | yes   | yes   | yes           | yes    |
 * | projects.write                  | yes   | yes   | no            | no     |
 * | keys.read / keys.verify         | yes   | yes   | yes           | yes    |
 * | keys.create                     | yes   | yes   | yes           | no     |
 * | keys.manage (update/rotate/...) | yes   | yes   | own keys only | no     |
 * | keys.delete (revoked keys)      | yes   | yes   | no            | no     |
 * | admins.read / admins.write      | yes   | yes*  | no            | no     |
 * | audit.read                      | yes   | yes   | no            | yes    |
 *
 * (*) an admin may create and revoke admin, member and reader keys, never owner keys.
 */
export const ROLES = ["owner", "admin", "member", "reader"] as const;
export type Role = (typeof ROLES)[number];

export type Action =
  | "projects.read"
  | "projects.write"
  | "keys.read"
  | "keys.verify"
  | "keys.create"
  | "keys.manage"
  | "keys.delete"
  | "admins.read"
  | "admins.write"
  | "audit.read";

const EVERY_ACTION = new Set<Action>([
  "projects.read",
  "projects.write",
  "keys.read",
  "keys.verify",
  "keys.create",
  "keys.manage",
  "keys.delete",
  "admins.read",
  "admins.write",
  "audit.read",
]);

// Owners and admins may do everything; what separates them is which roles they may grant.
const MATRIX: Record<Role, ReadonlySet<Action>> = {
  owner: EVERY_ACTION,
  admin: EVERY_ACTION,
  member: new Set<Action>(["projects.read", "keys.read", "keys.verify", "keys.create", "keys.manage"]),
  reader: new Set<Action>(["projects.read", "keys.read", "keys.verify", "audit.read"]),
};

/** Whether `role` may perform `action` at all (ownership rules are checked by the caller). */
export function roleAllows(role: Role, action: Action): boolean {
  return MATRIX[role].has(action);
}

/** Members manage only keys they created; owners and admins manage all. */
export function mayManageKey(role: Role, principalId: string, keyCreatedBy: string): boolean {
  if (!roleAllows(role, "keys.manage")) return false;
  return role !== "member" || principalId === keyCreatedBy;
}

/** Which roles a principal may grant: owners any, admins anything but owner. */
export function mayGrantRole(granter: Role, granted: Role): boolean {
  if (granter === "owner") return true;
  return granter === "admin" && granted !== "owner";
}

/**
 * Project access: a principal limited to some projects (a member or reader with a project
 * list) sees and changes only those; null or absent means every project.
 */
export function mayAccessProject(
  principal: { projects?: readonly string[] | null },
  projectId: string | null,
): boolean {
  const allowed = principal.projects;
  if (allowed === null || allowed === undefined) return true;
  return projectId !== null && allowed.includes(projectId);
}

/** Roles that may be limited to projects; owners and admins always see every project. */
export function mayBeProjectLimited(role: Role): boolean {
  return role === "member" || role === "reader";
}
