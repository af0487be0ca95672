import { notFound } from "./errors.js";
import { mayAccessProject } from "./roles.js";

/** A principal's project limit (null or absent: every project). */
export interface ProjectScoped {
  projects?: readonly string[] | null;
}

/**
 * Refuses a principal limited to other projects. The answer is the 404 an unknown id gets, so a
 * member limited to one project learns nothing about the others (not even that they exist).
 */
export function requireProjectAccess(actor: ProjectScoped, projectId: string | null, what: string): void {
  if (!mayAccessProject(actor, projectId)) throw notFound(what);
}

/** The project ids a listing must stay within, or null when the principal sees every project. */
export function projectScope(actor: ProjectScoped): readonly string[] | null {
  return actor.projects ?? null;
}
