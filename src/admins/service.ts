import { appendAudit } from "../audit/append.js";
import { SYSTEM_ACTOR, type Actor, type Principal } from "../audit/types.js";
import type { Clock } from "../core/clock.js";
import { conflict, forbidden, KeywardError, notFound } from "../core/errors.js";
import type { SecretHasher } from "../core/hashing.js";
import { ID_PREFIX, newId } from "../core/ids.js";
import { generateKey, maskKey, parseKey } from "../core/key-format.js";
import { isoOrNull } from "../core/objects.js";
import { mayGrantRole, roleAllows, ROLES, type Role } from "../core/roles.js";
import type { LastUsedTracker } from "../keys/last-used.js";
import type { Database, Executor } from "../store/database.js";
import type { AdminKeysTable } from "../store/schema.js";

export interface AdminKeyView {
  id: string;
  object: "admin_key";
  name: string;
  role: Role;
  masked_key: string;
  status: "active" | "revoked";
  created_at: string;
  created_by: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

function toView(r: AdminKeysTable): AdminKeyView {
  return {
    id: r.id,
    object: "admin_key",
    name: r.name,
    role: r.role as Role,
    masked_key: r.hint,
    status: r.revoked_at === null ? "active" : "revoked",
    created_at: new Date(r.created_at).toISOString(),
    created_by: r.created_by,
    last_used_at: isoOrNull(r.last_used_at),
    revoked_at: isoOrNull(r.revoked_at),
  };
}

interface CachedAdmin {
  id: string;
  name: string;
  role: Role;
  until: number;
}

/**
 * Admin keys (`kw_admin_…`): the principals of the management API. Authentication is cached
 * briefly in-process; a revoke here drops the cache entry at once.
 */
export class AdminService {
  private readonly cache = new Map<string, CachedAdmin>();

  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly hasher: SecretHasher,
    private readonly brand: string,
    private readonly lastUsed: LastUsedTracker,
    private readonly cacheTtlMs: number,
  ) {}

  /**
   * Creates the first owner key on an empty store. Returns null when admin keys already exist
   * (the store is initialised), so `init` can never mint a second owner silently.
   */
  async bootstrap(name = "owner"): Promise<{ admin: AdminKeyView; key: string } | null> {
    return this.store.db.transaction().execute(async (tx) => {
      const existing = await tx.selectFrom("admin_keys").select("id").limit(1).executeTakeFirst();
      if (existing) return null;
      return this.insert(tx, SYSTEM_ACTOR, name, "owner");
    });
  }

  async create(
    actor: Principal,
    input: { name: string; role: Role },
  ): Promise<{ admin: AdminKeyView; key: string }> {
    if (!roleAllows(actor.role, "admins.write")) throw forbidden("your role may not create admin keys");
    if (!mayGrantRole(actor.role, input.role))
      throw forbidden(`a ${actor.role} may not create ${input.role} keys`);
    return this.store.db.transaction().execute((tx) => this.insert(tx, actor, input.name, input.role));
  }

  private async insert(
    tx: Executor,
    actor: Actor,
    name: string,
    role: Role,
  ): Promise<{ admin: AdminKeyView; key: string }> {
    const now = this.clock.now();
    const key = generateKey(this.brand, "admin");
    const row: AdminKeysTable = {
      id: newId(ID_PREFIX.admin, now),
      name,
      role,
      hash: this.hasher.hash(key),
      hint: maskKey(key),
      created_at: now,
      created_by: actor.id,
      revoked_at: null,
      last_used_at: null,
    };
    await tx.insertInto("admin_keys").values(row).execute();
    await appendAudit(
      tx,
      this.store.dialect,
      actor,
      {
        action: "admin_key.created",
        targetType: "admin_key",
        targetId: row.id,
        changes: { after: { name, role, masked_key: row.hint } },
      },
      now,
    );
    return { admin: toView(row), key };
  }

  async list(actor: Principal): Promise<AdminKeyView[]> {
    if (!roleAllows(actor.role, "admins.read")) throw forbidden("your role may not list admin keys");
    const rows = await this.store.db.selectFrom("admin_keys").selectAll().orderBy("id").execute();
    return rows.map(toView);
  }

  async revoke(actor: Principal, id: string): Promise<AdminKeyView> {
    if (!roleAllows(actor.role, "admins.write")) throw forbidden("your role may not revoke admin keys");
    const now = this.clock.now();
    const view = await this.store.db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom("admin_keys").selectAll().where("id", "=", id).executeTakeFirst();
      if (!row) throw notFound("admin key");
      if (!mayGrantRole(actor.role, row.role as Role))
        throw forbidden(`a ${actor.role} may not revoke ${row.role} keys`);
      if (row.revoked_at !== null) return toView(row);
      if (row.role === "owner") {
        const owners = await tx
          .selectFrom("admin_keys")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("role", "=", "owner")
          .where("revoked_at", "is", null)
          .executeTakeFirstOrThrow();
        // Never lock everyone out: the last active owner key cannot be revoked.
        if (Number(owners.n) <= 1) throw conflict("cannot revoke the last active owner key");
      }
      await tx.updateTable("admin_keys").set({ revoked_at: now }).where("id", "=", id).execute();
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "admin_key.revoked",
          targetType: "admin_key",
          targetId: id,
          changes: { before: { status: "active" }, after: { status: "revoked" } },
        },
        now,
      );
      return toView({ ...row, revoked_at: now });
    });
    for (const [hash, entry] of this.cache) if (entry.id === id) this.cache.delete(hash);
    return view;
  }

  /**
   * Resolves a bearer token to a principal, or null when it is not a valid, active admin key.
   * Malformed tokens are refused offline (format + checksum) without a store lookup.
   */
  async authenticate(
    token: string,
    origin: { ip: string | null; userAgent: string | null },
  ): Promise<Principal | null> {
    const parsed = parseKey(token, this.brand);
    if (!parsed.ok || parsed.key.kind !== "admin") return null;
    const hash = this.hasher.hash(token);
    const now = this.clock.now();
    let entry = this.cache.get(hash);
    if (!entry || entry.until <= now) {
      let row;
      try {
        row = await this.store.db
          .selectFrom("admin_keys")
          .select(["id", "name", "role", "revoked_at"])
          .where("hash", "=", hash)
          .executeTakeFirst();
      } catch {
        // Fail closed: a request that cannot be proven authenticated is refused, clearly.
        throw new KeywardError("unavailable", "the key store is unavailable; try again");
      }
      if (!row || row.revoked_at !== null) {
        this.cache.delete(hash);
        return null;
      }
      if (!(ROLES as readonly string[]).includes(row.role))
        throw new KeywardError("internal_error", "corrupt admin key role");
      entry = { id: row.id, name: row.name, role: row.role as Role, until: now + this.cacheTtlMs };
      this.cache.set(hash, entry);
    }
    this.lastUsed.touchAdmin(entry.id, now);
    return { id: entry.id, name: entry.name, role: entry.role, ip: origin.ip, userAgent: origin.userAgent };
  }
}
