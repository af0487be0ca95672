import { appendAudit } from "../audit/append.js";
import { SYSTEM_ACTOR, type Actor, type Principal } from "../audit/types.js";
import type { Clock } from "../core/clock.js";
import { conflict, forbidden, KeywardError, notFound } from "../core/errors.js";
import type { SecretHasher } from "../core/hashing.js";
import { ID_PREFIX, newId } from "../core/ids.js";
import { mayBeProjectLimited, mayGrantRole, roleAllows, type Role } from "../core/roles.js";
import { isUniqueViolation, type Database, type Executor } from "../store/database.js";
import type { InvitationKind, InvitationsTable, UsersTable } from "../store/schema.js";
import type { PublicUrl } from "./links.js";
import { assertStrongPassword, type PasswordHasher } from "./passwords.js";
import type { SessionService } from "./sessions.js";
import { looksLikeToken, newToken } from "./tokens.js";
import { assertProjectsExist, invalidProjects } from "./users.js";
import {
  normaliseEmail,
  parseProjects,
  storeProjects,
  toInvitationView,
  toUserView,
  type InvitationView,
  type UserView,
} from "./views.js";

export interface InvitationSettings {
  /** Invitations and setup links. */
  inviteTtlMs: number;
  /** Password reset links. */
  resetTtlMs: number;
}

/** What opening a link shows: which form, for whom. */
export interface InvitationLookup {
  kind: InvitationKind;
  email: string | null;
  role: Role;
  expires_at: number;
}

export interface AcceptInput {
  display_name?: string;
  password: string;
  /** Only for a setup link printed without an email. */
  email?: string;
}

/** A created link: the URL (with the token, shown once) and what it grants. */
export interface CreatedInvitation {
  invite_url: string;
  invitation: InvitationView;
}

/**
 * One-time links: the first owner's setup link, invitations and password resets. A link is
 * single use and expires; only its token's hash is stored. Accepting one creates the user (or
 * replaces the password) and signs them in, in one transaction.
 */
export class InvitationService {
  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly hasher: SecretHasher,
    private readonly passwords: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly links: PublicUrl,
    private readonly settings: InvitationSettings,
  ) {}

  /** Invites a person with a role and, for members and readers, optional project access. */
  async invite(
    actor: Principal,
    input: { email: string; role: Role; projects?: string[] | null },
  ): Promise<CreatedInvitation> {
    if (!roleAllows(actor.role, "admins.write")) throw forbidden("your role may not invite people");
    if (!mayGrantRole(actor.role, input.role))
      throw forbidden(`a ${actor.role} may not invite ${input.role}s`);
    const projects = input.projects ?? null;
    if (projects !== null && !mayBeProjectLimited(input.role))
      throw invalidProjects(
        "owners and admins always have every project; project access is for members and readers",
      );
    const email = normaliseEmail(input.email);
    return this.store.db.transaction().execute(async (tx) => {
      if (projects) await assertProjectsExist(tx, projects);
      const existing = await tx
        .selectFrom("users")
        .select("id")
        .where("email", "=", email)
        .executeTakeFirst();
      if (existing) throw conflict(`${email} already has an account`);
      return this.insert(tx, actor, { kind: "invite", email, role: input.role, projects, userId: null });
    });
  }

  /**
   * The first owner's setup link, for `keyward init` and `serve --init`: only while nobody has
   * an account, and at most one live setup link at a time (a new one replaces the old).
   */
  async setupLink(email: string | null): Promise<CreatedInvitation | null> {
    const now = this.clock.now();
    return this.store.db.transaction().execute(async (tx) => {
      const anyone = await tx.selectFrom("users").select("id").limit(1).executeTakeFirst();
      if (anyone) return null;
      await tx
        .updateTable("invitations")
        .set({ revoked_at: now })
        .where("kind", "=", "setup")
        .where("used_at", "is", null)
        .where("revoked_at", "is", null)
        .execute();
      return this.insert(tx, SYSTEM_ACTOR, {
        kind: "setup",
        email: email === null ? null : normaliseEmail(email),
        role: "owner",
        projects: null,
        userId: null,
      });
    });
  }

  /** A new password link for a user: single use, short-lived; their sessions end when used. */
  async resetLink(actor: Principal, userId: string): Promise<{ reset_url: string; expires_at: number }> {
    if (!roleAllows(actor.role, "admins.write")) throw forbidden("your role may not reset passwords");
    return this.store.db.transaction().execute(async (tx) => {
      const user = await tx.selectFrom("users").selectAll().where("id", "=", userId).executeTakeFirst();
      if (!user) throw notFound("user");
      if (!mayGrantRole(actor.role, user.role as Role))
        throw forbidden(`a ${actor.role} may not reset a ${user.role}'s password`);
      if (user.disabled_at !== null) throw conflict("the user is disabled; enable them first");
      const r = await this.insert(tx, actor, {
        kind: "reset",
        email: user.email,
        role: user.role as Role,
        projects: parseProjects(user.projects),
        userId,
      });
      return { reset_url: r.invite_url, expires_at: r.invitation.expires_at };
    });
  }

  /** Pending invitations (kind invite): not used, not revoked, not expired. */
  async pending(actor: Principal): Promise<InvitationView[]> {
    if (!roleAllows(actor.role, "admins.read")) throw forbidden("your role may not list invitations");
    const rows = await this.store.db
      .selectFrom("invitations")
      .selectAll()
      .where("kind", "=", "invite")
      .where("used_at", "is", null)
      .where("revoked_at", "is", null)
      .where("expires_at", ">", this.clock.now())
      .orderBy("id")
      .execute();
    return rows.map(toInvitationView);
  }

  /** Withdraws a pending invitation: its link stops working. */
  async revoke(actor: Principal, id: string): Promise<void> {
    if (!roleAllows(actor.role, "admins.write")) throw forbidden("your role may not withdraw invitations");
    const now = this.clock.now();
    await this.store.db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom("invitations").selectAll().where("id", "=", id).executeTakeFirst();
      if (!row || row.kind !== "invite") throw notFound("invitation");
      if (!mayGrantRole(actor.role, row.role as Role))
        throw forbidden(`a ${actor.role} may not withdraw an invitation for a ${row.role}`);
      if (row.used_at !== null) throw conflict("the invitation was already accepted");
      if (row.revoked_at !== null) return;
      await tx.updateTable("invitations").set({ revoked_at: now }).where("id", "=", id).execute();
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "invitation.revoked",
          targetType: "invitation",
          targetId: id,
          changes: { email: row.email },
        },
        now,
      );
    });
  }

  /** What a link is for, or the reason it no longer works (404 / 410). */
  async lookup(token: string): Promise<InvitationLookup> {
    const row = await this.usable(this.store.db, token, this.clock.now());
    return { kind: row.kind, email: row.email, role: row.role as Role, expires_at: row.expires_at };
  }

  /**
   * Uses a link: creates the account (setup, invite) or replaces the password (reset, ending
   * every other session of that user), marks the link used and signs the person in, all in
   * one transaction. The guarded update on used_at is what makes a link single use, also
   * under concurrent accepts.
   */
  async accept(
    token: string,
    input: AcceptInput,
    origin: { ip: string | null; userAgent: string | null },
  ): Promise<{ user: UserView; token: string; sessionId: string }> {
    const now = this.clock.now();
    const peek = await this.usable(this.store.db, token, now);
    const email = peek.email ?? (input.email === undefined ? null : normaliseEmail(input.email));
    if (email === null)
      throw new KeywardError("invalid_request", "this setup link needs an email: send email", [
        { path: "email", message: "required for this link" },
      ]);
    if (peek.kind !== "reset" && !input.display_name?.trim())
      throw new KeywardError("invalid_request", "choose a display name", [
        { path: "display_name", message: "required" },
      ]);
    assertStrongPassword(input.password, email);
    // Hashed before the transaction: 20 ms of Argon2 should not hold the write lock.
    const passwordHash = await this.passwords.hash(input.password);
    try {
      return await this.store.db.transaction().execute(async (tx) => {
        const row = await this.usable(tx, token, now);
        // Single use: only the first accept flips used_at from null.
        const claimed = await tx
          .updateTable("invitations")
          .set({ used_at: now })
          .where("id", "=", row.id)
          .where("used_at", "is", null)
          .executeTakeFirst();
        if (Number(claimed.numUpdatedRows) !== 1)
          throw new KeywardError("invitation_used", "this link was already used");
        const user =
          row.kind === "reset"
            ? await this.resetPassword(tx, row, passwordHash, input.display_name, origin, now)
            : await this.createUser(tx, row, email, input.display_name!.trim(), passwordHash, origin, now);
        const actor: Actor = { id: user.id, role: user.role, ip: origin.ip, userAgent: origin.userAgent };
        const s = await this.sessions.startInTx(
          tx,
          actor,
          user.id,
          row.kind === "invite" ? "invitation" : row.kind,
          now,
        );
        return { user: toUserView(user), token: s.token, sessionId: s.sessionId };
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`${email} already has an account`);
      throw err;
    }
  }

  private async createUser(
    tx: Executor,
    inv: InvitationsTable,
    email: string,
    displayName: string,
    passwordHash: string,
    origin: { ip: string | null; userAgent: string | null },
    now: number,
  ): Promise<UsersTable> {
    if (inv.kind === "setup") {
      // A setup link is for the very first person only.
      const anyone = await tx.selectFrom("users").select("id").limit(1).executeTakeFirst();
      if (anyone) throw new KeywardError("invitation_used", "keyward is already set up; sign in instead");
    }
    const user: UsersTable = {
      id: newId(ID_PREFIX.user, now),
      email,
      display_name: displayName,
      role: inv.role,
      projects: inv.projects,
      password_hash: passwordHash,
      created_at: now,
      created_by: inv.created_by,
      updated_at: now,
      disabled_at: null,
    };
    await tx.insertInto("users").values(user).execute();
    await appendAudit(
      tx,
      this.store.dialect,
      { id: user.id, role: user.role, ip: origin.ip, userAgent: origin.userAgent },
      {
        action: "user.created",
        targetType: "user",
        targetId: user.id,
        changes: {
          after: {
            email,
            display_name: displayName,
            role: user.role,
            projects: parseProjects(user.projects),
          },
          invitation_id: inv.id,
          via: inv.kind,
        },
      },
      now,
    );
    return user;
  }

  private async resetPassword(
    tx: Executor,
    inv: InvitationsTable,
    passwordHash: string,
    displayName: string | undefined,
    origin: { ip: string | null; userAgent: string | null },
    now: number,
  ): Promise<UsersTable> {
    const user = await tx.selectFrom("users").selectAll().where("id", "=", inv.user_id!).executeTakeFirst();
    if (!user || user.disabled_at !== null)
      throw new KeywardError("invitation_not_found", "this link is not valid");
    const name = displayName?.trim() || user.display_name;
    await tx
      .updateTable("users")
      .set({ password_hash: passwordHash, display_name: name, updated_at: now })
      .where("id", "=", user.id)
      .execute();
    const ended = await this.sessions.endAllInTx(tx, user.id);
    await appendAudit(
      tx,
      this.store.dialect,
      { id: user.id, role: user.role, ip: origin.ip, userAgent: origin.userAgent },
      {
        action: "user.password_reset",
        targetType: "user",
        targetId: user.id,
        changes: { invitation_id: inv.id, sessions_ended: ended },
      },
      now,
    );
    return { ...user, password_hash: passwordHash, display_name: name, updated_at: now };
  }

  /** The link row if it can still be used; 404 unknown or withdrawn, 410 used or expired. */
  private async usable(db: Executor, token: string, now: number): Promise<InvitationsTable> {
    const row = looksLikeToken(token)
      ? await db
          .selectFrom("invitations")
          .selectAll()
          .where("token_hash", "=", this.hasher.hash(token))
          .executeTakeFirst()
      : undefined;
    if (!row || row.revoked_at !== null)
      throw new KeywardError("invitation_not_found", "this link is not valid; ask for a new one");
    if (row.used_at !== null) throw new KeywardError("invitation_used", "this link was already used");
    if (row.expires_at <= now)
      throw new KeywardError("invitation_expired", "this link has expired; ask for a new one");
    return row;
  }

  private async insert(
    tx: Executor,
    actor: Actor,
    inv: {
      kind: InvitationKind;
      email: string | null;
      role: Role;
      projects: string[] | null;
      userId: string | null;
    },
  ): Promise<CreatedInvitation> {
    const now = this.clock.now();
    const token = newToken();
    const row: InvitationsTable = {
      id: newId(ID_PREFIX.invitation, now),
      token_hash: this.hasher.hash(token),
      kind: inv.kind,
      email: inv.email,
      role: inv.role,
      projects: storeProjects(inv.projects),
      user_id: inv.userId,
      created_at: now,
      created_by: actor.id,
      expires_at: now + (inv.kind === "reset" ? this.settings.resetTtlMs : this.settings.inviteTtlMs),
      used_at: null,
      revoked_at: null,
    };
    await tx.insertInto("invitations").values(row).execute();
    await appendAudit(
      tx,
      this.store.dialect,
      actor,
      {
        action: inv.kind === "reset" ? "user.reset_link_created" : "invitation.created",
        targetType: "invitation",
        targetId: row.id,
        changes: {
          after: { kind: inv.kind, email: inv.email, role: inv.role, projects: parseProjects(row.projects) },
          ...(inv.userId ? { user_id: inv.userId } : {}),
        },
      },
      now,
    );
    return { invite_url: this.links.invite(token), invitation: toInvitationView(row) };
  }
}
