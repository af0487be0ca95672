import { createContext, useContext } from "react";
import type { Api, Key, User } from "./client";

/** The API client and the signed-in person, given to every page by <App>. */
export interface Session {
  api: Api;
  user: User | null;
  setUser(user: User | null): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside <SessionContext.Provider>");
  return session;
}

/** What a role may do in the console; the API checks the same on every request. */
export function can(
  user: User | null,
  action: "write-keys" | "write-projects" | "manage-people" | "read-audit",
): boolean {
  if (!user) return false;
  if (action === "write-keys") return user.role !== "reader";
  if (action === "read-audit") return user.role !== "member";
  // write-projects and manage-people (admins.read / admins.write) belong to owners and admins.
  return user.role === "owner" || user.role === "admin";
}

/** Rotate, disable, revoke one key: owners and admins any key, members only keys they created. */
export function canManageKey(user: User | null, key: Pick<Key, "created_by">): boolean {
  if (!user) return false;
  if (user.role === "owner" || user.role === "admin") return true;
  return user.role === "member" && key.created_by === user.id;
}
