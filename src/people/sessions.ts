import { appendAudit } from "../audit/append.js";
import type { Actor, Principal } from "../audit/types.js";
import type { Clock } from "../core/clock.js";
import { KeywardError, notFound } from "../core/errors.js";
import type { SecretHasher } from "../core/hashing.js";
import { ID_PREFIX, newId } from "../core/ids.js";
import { ROLES, type Role } from "../core/roles.js";
import type { Database, Executor } from "../store/database.js";
import type { SessionsTable } from "../store/schema.js";
import { looksLikeToken, newToken } from "./tokens.js";
import { parseProjects } from "./views.js";

export interface SessionSettings {
  /** A session unused for this long ends. */
  idleTimeoutMs: number;
  /** A session ends this long after sign-in, however much it is used. */
  maxAgeMs: number;
}

/** A session as its owner (or an admin) sees it: never the token. */
export interface SessionView {
  id: string;
  created_at: number;
  last_seen_at: number;
  /** When it ends if it keeps being used (the earlier of the idle and the absolute end). */
  expires_at: number;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}

/** A signed-in request: who, and which session. */
export interface SessionPrincipal {
  principal: Principal;
  sessionId: string;
  userId: string;
}

/** last_seen_at is written at most this often per session, not on every request. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Sessions: opaque random tokens handed to the browser in a cookie, stored only as hashes.
 * Every request reads the session and its user from the store (no cache), so signing out,
 * disabling a user or changing their role applies to the very next request.
 */
export class SessionService {
  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly hasher: SecretHasher,
    private readonly settings: SessionSettings,
  ) {}

  get maxAgeMs(): number {
    return this.settings.maxAgeMs;
  }

  /**
   * Starts a session for a user inside the caller's transaction (sign-in, accepting a link) and
   * returns its token: always a new one, never one the client offered (session fixation).
   */
  async startInTx(
    tx: Executor,
    actor: Actor,
    userId: string,
    how: "password" | "invitation" | "setup" | "reset",
    now: number,
  ): Promise<{ token: string; sessionId: string }> {
    const token = newToken();
    const row: SessionsTable = {
      id: newId(ID_PREFIX.session, now),
      token_hash: this.hasher.hash(token),
      user_id: userId,
      created_at: now,
      last_seen_at: now,
      expires_at: now + this.settings.maxAgeMs,
      ip: actor.ip,
      user_agent: actor.userAgent ? actor.userAgent.slice(0, 512) : null,
    };
    await tx.insertInto("sessions").values(row).execute();
    await appendAudit(
      tx,
      this.store.dialect,
      actor,
      {
        action: "user.signed_in",
        targetType: "session",
        targetId: row.id,
        changes: { via: how, user_id: userId },
      },
      now,
    );
    return { token, sessionId: row.id };
  }

  /**
   * The principal behind a session token, or null when the token is unknown, expired (idle or
   * absolute), or its user is disabled. An ended session's row is deleted on the way.
   */
  async authenticate(
    token: string,
    origin: { ip: string | null; userAgent: string | null },
  ): Promise<SessionPrincipal | null> {
    if (!looksLikeToken(token)) return null;
    const now = this.clock.now();
    let row;
    try {
      row = await this.store.db
        .selectFrom("sessions")
        .innerJoin("users", "users.id", "sessions.user_id")
        .select([
          "sessions.id as session_id",
          "sessions.last_seen_at",
          "sessions.expires_at",
          "users.id as user_id",
          "users.email",
          "users.role",
          "users.projects",
          "users.disabled_at",
        ])
        .where("sessions.token_hash", "=", this.hasher.hash(token))
        .executeTakeFirst();
    } catch {
      // Fail closed, like admin keys: a request that cannot be proven signed in is refused.
      throw new KeywardError("unavailable", "the session store is unavailable; try again");
    }
    if (!row) return null;
    if (row.disabled_at !== null || this.ended(row, now)) {
      await this.store.db.deleteFrom("sessions").where("id", "=", row.session_id).execute();
      return null;
    }
    if (!(ROLES as readonly string[]).includes(row.role))
      throw new KeywardError("internal_error", "corrupt user role");
    if (now - row.last_seen_at >= TOUCH_EVERY_MS) {
      // Guarded: a concurrent request that touched it already wins; only moving forward.
      await this.store.db
        .updateTable("sessions")
        .set({ last_seen_at: now })
        .where("id", "=", row.session_id)
        .where("last_seen_at", "<", now)
        .execute();
    }
    return {
      sessionId: row.session_id,
      userId: row.user_id,
      principal: {
        id: row.user_id,
        name: row.email,
        role: row.role as Role,
        projects: parseProjects(row.projects),
        ip: origin.ip,
        userAgent: origin.userAgent,
      },
    };
  }

  /** Ends one session (sign-out). Ending an unknown or ended session is not an error. */
  async end(actor: Actor, sessionId: string): Promise<void> {
    const now = this.clock.now();
    await this.store.db.transaction().execute(async (tx) => {
      const r = await tx.deleteFrom("sessions").where("id", "=", sessionId).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) return;
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        { action: "user.signed_out", targetType: "session", targetId: sessionId, changes: {} },
        now,
      );
    });
  }

  /** The session id a token names, if it is live; sign-in uses it to end a session it replaces. */
  async idOfToken(token: string): Promise<string | null> {
    if (!looksLikeToken(token)) return null;
    const row = await this.store.db
      .selectFrom("sessions")
      .select("id")
      .where("token_hash", "=", this.hasher.hash(token))
      .executeTakeFirst();
    return row?.id ?? null;
  }

  /** A user's live sessions, newest first. */
  async list(userId: string, currentSessionId: string | null): Promise<SessionView[]> {
    const now = this.clock.now();
    const rows = await this.store.db
      .selectFrom("sessions")
      .selectAll()
      .where("user_id", "=", userId)
      .orderBy("id", "desc")
      .execute();
    return rows
      .filter((r) => !this.ended(r, now))
      .map((r) => ({
        id: r.id,
        created_at: r.created_at,
        last_seen_at: r.last_seen_at,
        expires_at: Math.min(r.expires_at, r.last_seen_at + this.settings.idleTimeoutMs),
        ip: r.ip,
        user_agent: r.user_agent,
        current: r.id === currentSessionId,
      }));
  }

  /** Revokes one of a user's sessions; 404 when it is not theirs (or already over). */
  async revoke(actor: Actor, userId: string, sessionId: string): Promise<void> {
    const now = this.clock.now();
    await this.store.db.transaction().execute(async (tx) => {
      const r = await tx
        .deleteFrom("sessions")
        .where("id", "=", sessionId)
        .where("user_id", "=", userId)
        .executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw notFound("session");
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "session.revoked",
          targetType: "session",
          targetId: sessionId,
          changes: { user_id: userId },
        },
        now,
      );
    });
  }

  /** Ends every session of a user inside the caller's transaction (disable, password reset). */
  async endAllInTx(tx: Executor, userId: string, exceptSessionId: string | null = null): Promise<number> {
    let q = tx.deleteFrom("sessions").where("user_id", "=", userId);
    if (exceptSessionId) q = q.where("id", "!=", exceptSessionId);
    const r = await q.executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  private ended(r: { last_seen_at: number; expires_at: number }, now: number): boolean {
    return now >= r.expires_at || now >= r.last_seen_at + this.settings.idleTimeoutMs;
  }
}
