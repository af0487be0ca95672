import type { Actor, Principal } from "../audit/types.js";
import type { AlertSink } from "../alerts/types.js";
import type { Clock } from "../core/clock.js";
import type { SecretHasher } from "../core/hashing.js";
import { sha256Hex } from "../core/hashing.js";
import { forbidden } from "../core/errors.js";
import { parseKey } from "../core/key-format.js";
import { projectScope } from "../core/project-access.js";
import { roleAllows } from "../core/roles.js";
import type { KeyService } from "../keys/service.js";
import type { Logger } from "../log/logger.js";
import type { Database } from "../store/database.js";
import type { LeakAction } from "../store/schema.js";

/** One reported token, whatever the reporter's format. */
export interface LeakedToken {
  token: string;
  /** The reporter's token type (e.g. GitHub's `type`). */
  type: string | null;
  /** Where it was found: a URL, a path, a commit. */
  location: string | null;
}

/** Who reported a batch: the audit actor, and a label for the revocation reason. */
export interface LeakReporter {
  actor: Actor;
  /** e.g. `github` or `admin adm_…`. */
  label: string;
  /** What identifies this exact report (e.g. its raw body), so a replay is recognised. */
  fingerprint: string;
}

/** The outcome, for the caller's logs only: never sent to the reporter (no oracle). */
export interface LeakReportResult {
  replayed: boolean;
  contained: number;
}

/** A processed report as the API lists it: never the tokens, only what it held and did. */
export interface LeakReportView {
  object: "leak_report";
  /** `github`, or `admin <id>` for one sent to POST /api/v1/leaks. */
  source: string;
  tokens: number;
  /** Keys it revoked or disabled; null for reports processed before keyward recorded it. */
  contained: number | null;
  received_at: string;
}

/** Lookups per query (well under SQLite's and PostgreSQL's parameter limits). */
const CHUNK = 500;
const REASON_MAX = 500;

/**
 * Acts on leak reports: every reported token that is a well-formed keyward key of an active
 * (or disabled) key is contained under its project's policy (`leak_action`: revoke or
 * disable), audited with the reason, and alerted as `key.leaked`. Unknown, malformed and
 * already-contained tokens change nothing. One query per 500 hashes finds the known ones.
 * A report already processed (same source and fingerprint) is skipped whole.
 */
export class LeakService {
  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly hasher: SecretHasher,
    private readonly keys: KeyService,
    private readonly alerts: AlertSink,
    private readonly brand: string,
    private readonly logger: Logger,
  ) {}

  async report(reporter: LeakReporter, tokens: readonly LeakedToken[]): Promise<LeakReportResult> {
    const bodyHash = sha256Hex(`${reporter.label}\n${reporter.fingerprint}`);
    const seen = await this.store.db
      .selectFrom("leak_reports")
      .select("body_hash")
      .where("body_hash", "=", bodyHash)
      .executeTakeFirst();
    if (seen) return { replayed: true, contained: 0 };

    const byHash = new Map<string, LeakedToken>();
    for (const t of tokens) {
      const parsed = parseKey(t.token, this.brand);
      if (!parsed.ok || parsed.key.kind === "admin") continue;
      byHash.set(this.hasher.hash(t.token), t);
    }
    const now = this.clock.now();
    let contained = 0;
    for (const hit of await this.findLive([...byHash.keys()], now)) {
      const t = byHash.get(hit.hash)!;
      const reason = `leaked: reported by ${reporter.label}${t.location ? ` at ${t.location}` : ""}`.slice(
        0,
        REASON_MAX,
      );
      const changed = await this.keys.containLeak(reporter.actor, hit.keyId, hit.leakAction, reason);
      if (!changed) continue;
      contained++;
      this.alerts.emit({
        type: "key.leaked",
        subject: hit.keyId,
        projectId: hit.projectId,
        data: {
          key_id: hit.keyId,
          key_name: hit.name,
          masked_key: hit.hint,
          reported_by: reporter.label,
          token_type: t.type,
          location: t.location,
          action: hit.leakAction === "revoke" ? "revoked" : "disabled",
        },
        dedupeKey: `key.leaked:${hit.keyId}:${bodyHash}`,
        at: now,
      });
    }
    await this.store.db
      .insertInto("leak_reports")
      .values({
        body_hash: bodyHash,
        source: reporter.label,
        tokens: tokens.length,
        received_at: now,
        contained,
      })
      .onConflict((oc) => oc.column("body_hash").doNothing())
      .execute();
    this.logger.info({ reporter: reporter.label, tokens: tokens.length, contained }, "leak report processed");
    return { replayed: false, contained };
  }

  /**
   * Processed reports, newest first, received before `before` (epoch ms) when given. Reports
   * span every project, so only a principal who reads the audit log of every project may list
   * them: a count of keys contained elsewhere is not for someone limited to some projects.
   */
  async listReports(
    actor: Principal,
    q: { limit: number; before?: number },
  ): Promise<{ data: LeakReportView[]; has_more: boolean }> {
    if (!roleAllows(actor.role, "audit.read")) throw forbidden("your role may not read leak reports");
    if (projectScope(actor) !== null)
      throw forbidden("leak reports cover every project; your access is limited to some");
    let query = this.store.db.selectFrom("leak_reports").selectAll();
    if (q.before !== undefined) query = query.where("received_at", "<", q.before);
    const rows = await query
      .orderBy("received_at", "desc")
      .orderBy("body_hash", "desc")
      .limit(q.limit + 1)
      .execute();
    return {
      data: rows.slice(0, q.limit).map((r) => ({
        object: "leak_report" as const,
        source: r.source,
        tokens: Number(r.tokens),
        contained: r.contained === null ? null : Number(r.contained),
        received_at: new Date(Number(r.received_at)).toISOString(),
      })),
      has_more: rows.length > q.limit,
    };
  }

  /** Keys behind these hashes that are not revoked and whose reported secret still works. */
  private async findLive(hashes: string[], now: number) {
    const out: Array<{
      hash: string;
      keyId: string;
      projectId: string;
      name: string;
      hint: string;
      leakAction: LeakAction;
    }> = [];
    for (let i = 0; i < hashes.length; i += CHUNK) {
      const rows = await this.store.db
        .selectFrom("key_secrets as s")
        .innerJoin("api_keys as k", "k.id", "s.key_id")
        .innerJoin("projects as p", "p.id", "k.project_id")
        .select(["s.hash", "k.id", "k.project_id", "k.name", "k.hint", "p.leak_action"])
        .where("s.hash", "in", hashes.slice(i, i + CHUNK))
        .where("k.status", "!=", "revoked")
        .where((eb) => eb.or([eb("s.expires_at", "is", null), eb("s.expires_at", ">", now)]))
        .execute();
      for (const r of rows) {
        out.push({
          hash: r.hash,
          keyId: r.id,
          projectId: r.project_id,
          name: r.name,
          hint: r.hint,
          leakAction: r.leak_action === "disable" ? "disable" : "revoke",
        });
      }
    }
    return out;
  }
}
