import { appendAudit } from "../audit/append.js";
import type { Actor, Principal } from "../audit/types.js";
import type { Clock } from "../core/clock.js";
import { conflict, forbidden, KeywardError, notFound } from "../core/errors.js";
import { mayBeProjectLimited, mayGrantRole, roleAllows, type Role } from "../core/roles.js";
import type { Database, Executor } from "../store/database.js";
import type { UsersTable } from "../store/schema.js";
import type { PasswordHasher } from "./passwords.js";
import type { SessionService } from "./sessions.js";
import type { LoginThrottle } from "./throttle.js";
import { newToken } from "./tokens.js";
import { normaliseEmail, parseProjects, storeProjects, toUserView, type UserView } from "./views.js";

export interface UserPatch {
  role?: Role;
  projects?: string[] | null;
  disabled?: boolean;
}

/** A sign-in's outcome: data, not an exception (the route maps it to 200, 401 or 429). */
export type LoginResult =
  | { ok: true; user: UserView; token: string; sessionId: string }
  | { ok: false; code: "invalid_credentials" }
  | { ok: false; code: "too_many_attempts"; retryAfterSeconds: number };

/**
 * People who sign in: listing, role and project changes, disabling, and signing in. Changes
 * are checked against the same role table as admin keys (src/core/roles.ts) and audited in
 * their transaction.
 */
export class UserService {
  /** Verified against for unknown emails, so they take as long as wrong passwords. */
  private dummyHash: Promise<string> | null = null;

  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly passwords: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly throttle: LoginThrottle,
  ) {}

  async list(actor: Principal): Promise<UserView[]> {
    if (!roleAllows(actor.role, "admins.read")) throw forbidden("your role may not list people");
    const rows = await this.store.db.selectFrom("users").selectAll().orderBy("id").execute();
    return rows.map(toUserView);
  }

  async get(actor: Principal, id: string): Promise<UserView> {
    if (!roleAllows(actor.role, "admins.read") && actor.id !== id)
      throw forbidden("your role may not read other people");
    return toUserView(await this.require(this.store.db, id));
  }

  /** The user behind a session, for /auth/me. */
  async self(userId: string): Promise<UserView> {
    return toUserView(await this.require(this.store.db, userId));
  }

  /**
   * Changes a user's role, project access or disabled state. Disabling ends all their
   * sessions in the same transaction, so their next request is refused.
   */
  async update(actor: Principal, id: string, patch: UserPatch): Promise<UserView> {
    if (!roleAllows(actor.role, "admins.write")) throw forbidden("your role may not change people");
    const now = this.clock.now();
    return this.store.db.transaction().execute(async (tx) => {
      const before = await this.lock(tx, id);
      const beforeRole = before.role as Role;
      // Granting power is checked both ways: over who they are, and over what they become.
      if (!mayGrantRole(actor.role, beforeRole))
        throw forbidden(`a ${actor.role} may not change a ${beforeRole}`);
      const role = patch.role ?? beforeRole;
      if (!mayGrantRole(actor.role, role)) throw forbidden(`a ${actor.role} may not grant the ${role} role`);
      let projects = patch.projects !== undefined ? patch.projects : parseProjects(before.projects);
      // Owners and admins see every project; a role change upward drops a project limit.
      if (!mayBeProjectLimited(role)) {
        if (patch.projects !== undefined && patch.projects !== null)
          throw invalidProjects(
            "owners and admins always have every project; project access is for members and readers",
          );
        projects = null;
      }
      if (projects) await assertProjectsExist(tx, projects);
      const disabledAt =
        patch.disabled === undefined
          ? before.disabled_at
          : patch.disabled
            ? (before.disabled_at ?? now)
            : null;
      const after: UsersTable = {
        ...before,
        role,
        projects: storeProjects(projects),
        disabled_at: disabledAt,
        updated_at: now,
      };
      const losesOwner =
        beforeRole === "owner" && before.disabled_at === null && (role !== "owner" || disabledAt !== null);
      if (losesOwner) await assertAnotherOwner(tx, id);
      await tx
        .updateTable("users")
        .set({ role: after.role, projects: after.projects, disabled_at: after.disabled_at, updated_at: now })
        .where("id", "=", id)
        .execute();
      let endedSessions = 0;
      if (after.disabled_at !== null) endedSessions = await this.sessions.endAllInTx(tx, id);
      const action =
        before.disabled_at === null && after.disabled_at !== null
          ? "user.disabled"
          : before.disabled_at !== null && after.disabled_at === null
            ? "user.enabled"
            : "user.updated";
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action,
          targetType: "user",
          targetId: id,
          changes: {
            before: audited(before),
            after: audited(after),
            ...(endedSessions ? { sessions_ended: endedSessions } : {}),
          },
        },
        now,
      );
      return toUserView(after);
    });
  }

  /**
   * Signs in with email and password. Unknown email, wrong password and disabled user give
   * the same answer (and take the same time); the throttle is checked before the password.
   * A session the browser already held is ended, never upgraded: the new session has a new token.
   */
  async login(
    emailInput: string,
    password: string,
    origin: Actor,
    replacedToken: string | null,
  ): Promise<LoginResult> {
    const email = normaliseEmail(emailInput);
    const gate = await this.throttle.check(email, origin.ip);
    if (!gate.allowed)
      return { ok: false, code: "too_many_attempts", retryAfterSeconds: gate.retryAfterSeconds };
    const row = await this.store.db
      .selectFrom("users")
      .selectAll()
      .where("email", "=", email)
      .executeTakeFirst();
    const verified = row
      ? await this.passwords.verify(row.password_hash, password)
      : (await this.passwords.verify(await this.dummy(), password), false);
    if (!row || !verified || row.disabled_at !== null) {
      await this.throttle.recordFailure(email, origin.ip);
      return { ok: false, code: "invalid_credentials" };
    }
    await this.throttle.recordSuccess(email);
    const replaced = replacedToken ? await this.sessions.idOfToken(replacedToken) : null;
    const actor: Actor = { ...origin, id: row.id, role: row.role };
    if (replaced) await this.sessions.end(actor, replaced);
    const now = this.clock.now();
    const s = await this.store.db
      .transaction()
      .execute((tx) => this.sessions.startInTx(tx, actor, row.id, "password", now));
    return { ok: true, user: toUserView(row), token: s.token, sessionId: s.sessionId };
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= this.passwords.hash(newToken());
    return this.dummyHash;
  }

  private async require(db: Executor, id: string): Promise<UsersTable> {
    const row = await db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) throw notFound("user");
    return row;
  }

  private async lock(tx: Executor, id: string): Promise<UsersTable> {
    const q = tx.selectFrom("users").selectAll().where("id", "=", id);
    const row = await (this.store.dialect === "postgres" ? q.forUpdate() : q).executeTakeFirst();
    if (!row) throw notFound("user");
    return row;
  }
}

/** The user fields the audit log records (never the password hash). */
function audited(u: UsersTable): Record<string, unknown> {
  return {
    email: u.email,
    role: u.role,
    projects: parseProjects(u.projects),
    disabled: u.disabled_at !== null,
  };
}

export function invalidProjects(message: string): KeywardError {
  return new KeywardError("invalid_request", message, [{ path: "projects", message }]);
}

/** Every named project exists; a typo is a clear 400, not access to nothing. */
export async function assertProjectsExist(tx: Executor, projects: readonly string[]): Promise<void> {
  if (projects.length === 0) return;
  const found = await tx
    .selectFrom("projects")
    .select("id")
    .where("id", "in", [...projects])
    .execute();
  const known = new Set(found.map((r) => r.id));
  const unknown = projects.filter((p) => !known.has(p));
  if (unknown.length) throw invalidProjects(`unknown project(s): ${unknown.join(", ")}`);
}

/**
 * Never lock the people out: the last active owner user cannot be demoted or disabled while
 * no other owner (user or admin key) remains.
 */
async function assertAnotherOwner(tx: Executor, exceptUserId: string): Promise<void> {
  const users = await tx
    .selectFrom("users")
    .select("id")
    .where("role", "=", "owner")
    .where("disabled_at", "is", null)
    .where("id", "!=", exceptUserId)
    .limit(1)
    .executeTakeFirst();
  if (users) return;
  const keys = await tx
    .selectFrom("admin_keys")
    .select("id")
    .where("role", "=", "owner")
    .where("revoked_at", "is", null)
    .limit(1)
    .executeTakeFirst();
  if (!keys) throw conflict("cannot demote or disable the last owner");
}
