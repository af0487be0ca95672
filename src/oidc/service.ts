import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import { requireProjectAccess } from "../core/project-access.js";
import { appendAudit } from "../audit/append.js";
import type { Actor, Principal } from "../audit/types.js";
import type { Clock } from "../core/clock.js";
import { forbidden, KeywardError, notFound } from "../core/errors.js";
import { ID_PREFIX, newId } from "../core/ids.js";
import type { Limits } from "../core/limits.js";
import { roleAllows } from "../core/roles.js";
import type { KeyService, KeyWithSecret } from "../keys/service.js";
import { isUniqueViolation, type Database } from "../store/database.js";
import type { TrustPoliciesTable } from "../store/schema.js";
import type { IssuerKeys } from "./issuer-keys.js";
import { claimsMatch, runFromClaims, type TrustGrant, type TrustPolicy } from "./policy.js";

/**
 * Asymmetric signatures only: `none` is never a signature, and an HMAC algorithm would let
 * anyone holding the issuer's *public* key (published in its JWKS) sign tokens.
 */
const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];
/** Clock skew tolerated on exp/nbf/iat between the CI's issuer and keyward. */
const CLOCK_TOLERANCE_S = 30;

export interface ExchangeRequest {
  token: string;
  /** Only this project's policies (a run usually knows which project it wants). */
  projectId?: string | undefined;
  ttlSeconds?: number | undefined;
  ip: string | null;
  userAgent: string | null;
}

export interface TrustPolicyInput {
  name: string;
  issuer: string;
  audience: string;
  conditions: Record<string, string>;
  grant: TrustGrant;
}

function toPolicy(row: TrustPoliciesTable): TrustPolicy {
  return {
    id: row.id,
    project_id: row.project_id,
    name: row.name,
    issuer: row.issuer,
    audience: row.audience,
    conditions: JSON.parse(row.conditions) as Record<string, string>,
    grant: JSON.parse(row.grant) as TrustGrant,
    created_at: new Date(row.created_at).toISOString(),
    created_by: row.created_by,
  };
}

/** Why an exchange was refused: said to the caller, and written to the audit log. */
class Refusal extends KeywardError {}

/**
 * Trusted CI identities: projects declare which OIDC tokens they trust (issuer, audience, claim
 * conditions), and a matching token is exchanged for an ephemeral key carrying the policy's
 * grant. The exchange is one ordered function; every refusal is audited.
 */
export class TrustService {
  constructor(
    private readonly store: Database,
    private readonly clock: Clock,
    private readonly keys: KeyService,
    private readonly issuerKeys: IssuerKeys,
  ) {}

  async create(actor: Principal, projectId: string, input: TrustPolicyInput): Promise<TrustPolicy> {
    if (!roleAllows(actor.role, "projects.write")) throw forbidden("your role may not change trust policies");
    const now = this.clock.now();
    const row: TrustPoliciesTable = {
      id: newId(ID_PREFIX.trustPolicy, now),
      project_id: projectId,
      name: input.name,
      issuer: input.issuer,
      audience: input.audience,
      conditions: JSON.stringify(input.conditions),
      grant: JSON.stringify(input.grant),
      created_at: now,
      created_by: actor.id,
    };
    await this.store.db.transaction().execute(async (tx) => {
      const project = await tx
        .selectFrom("projects")
        .select("id")
        .where("id", "=", projectId)
        .executeTakeFirst();
      if (!project) throw notFound("project");
      await tx.insertInto("trust_policies").values(row).execute();
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "trust_policy.created",
          targetType: "trust_policy",
          targetId: row.id,
          projectId,
          changes: { after: { ...input } },
        },
        now,
      );
    });
    return toPolicy(row);
  }

  async list(actor: Principal, projectId: string): Promise<TrustPolicy[]> {
    if (!roleAllows(actor.role, "projects.read")) throw forbidden("your role may not read trust policies");
    requireProjectAccess(actor, projectId, "project");
    const rows = await this.store.db
      .selectFrom("trust_policies")
      .selectAll()
      .where("project_id", "=", projectId)
      .orderBy("id")
      .execute();
    return rows.map(toPolicy);
  }

  async delete(actor: Principal, id: string): Promise<void> {
    if (!roleAllows(actor.role, "projects.write")) throw forbidden("your role may not change trust policies");
    const now = this.clock.now();
    await this.store.db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom("trust_policies").selectAll().where("id", "=", id).executeTakeFirst();
      if (!row) throw notFound("trust policy");
      await tx.deleteFrom("trust_policies").where("id", "=", id).execute();
      await appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "trust_policy.deleted",
          targetType: "trust_policy",
          targetId: id,
          projectId: row.project_id,
          changes: { before: toPolicy(row) },
        },
        now,
      );
    });
  }

  /**
   * Exchanges a CI's OIDC token for an ephemeral key, in order: the token's shape and algorithm
   * → the policies for its issuer → signature, issuer, expiry and not-before against the issuer's
   * JWKS → audience and claim conditions → a `jti` never exchanged before → the key.
   */
  async exchange(req: ExchangeRequest): Promise<KeyWithSecret> {
    try {
      return await this.exchangeChecked(req);
    } catch (err) {
      if (err instanceof Refusal) await this.auditRefusal(req, err.message);
      throw err;
    }
  }

  private async exchangeChecked(req: ExchangeRequest): Promise<KeyWithSecret> {
    let alg: unknown;
    let unverified: JWTPayload;
    try {
      alg = decodeProtectedHeader(req.token).alg;
      unverified = decodeJwt(req.token);
    } catch {
      throw new Refusal("unauthorized", "the token is not a JWT");
    }
    if (typeof alg !== "string" || !ALGORITHMS.includes(alg))
      throw new Refusal("unauthorized", `tokens signed with alg ${String(alg)} are not accepted`);
    const issuer = unverified.iss;
    if (typeof issuer !== "string") throw new Refusal("unauthorized", "the token names no issuer");

    let q = this.store.db.selectFrom("trust_policies").selectAll().where("issuer", "=", issuer);
    if (req.projectId) q = q.where("project_id", "=", req.projectId);
    const policies = (await q.orderBy("id").execute()).map(toPolicy);
    if (policies.length === 0) throw new Refusal("forbidden", `no trust policy for issuer ${issuer}`);

    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(req.token, await this.issuerKeys.keysFor(issuer), {
        issuer,
        algorithms: ALGORITHMS,
        currentDate: new Date(this.clock.now()),
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ["exp", "jti"],
      }));
    } catch (err) {
      if (err instanceof KeywardError) throw err; // the issuer could not be reached
      throw new Refusal("unauthorized", `the token is not valid: ${verifyFailure(err)}`);
    }

    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const policy = policies.find((p) => audiences.includes(p.audience) && claimsMatch(p.conditions, claims));
    if (!policy) throw new Refusal("forbidden", "the token's claims match no trust policy");

    await this.spend(issuer, claims.jti!, claims.exp! * 1000);
    return this.mint(policy, claims, req);
  }

  /** Records the token as used; a second exchange of the same token is a replay. */
  private async spend(issuer: string, jti: string, expiresAt: number): Promise<void> {
    const now = this.clock.now();
    await this.store.db
      .deleteFrom("oidc_token_uses")
      .where("expires_at", "<", now - CLOCK_TOLERANCE_S * 1000)
      .execute();
    try {
      await this.store.db
        .insertInto("oidc_token_uses")
        .values({ issuer, jti, expires_at: expiresAt })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new Refusal("unauthorized", "this token was already exchanged");
      throw err;
    }
  }

  private async mint(policy: TrustPolicy, claims: JWTPayload, req: ExchangeRequest): Promise<KeyWithSecret> {
    const g = policy.grant;
    const ttl = Math.min(req.ttlSeconds ?? g.max_ttl_seconds, g.max_ttl_seconds);
    const run = runFromClaims(claims);
    const limits: Limits = {
      ...(g.rpm !== undefined ? { rpm: g.rpm } : {}),
      ...(g.budget_usd !== undefined
        ? { budget: { usd: g.budget_usd, period: "lifetime", timezone: "UTC" } }
        : {}),
    };
    // The policy acts: it is the key's creator in the audit log, with a member's powers.
    const actor: Principal = {
      id: policy.id,
      role: "member",
      name: `trust policy ${policy.name}`,
      ip: req.ip,
      userAgent: req.userAgent,
    };
    const where = run.repository
      ? `${run.repository}${run.run_id ? `#${run.run_id}` : ""}`
      : (run.subject ?? "oidc");
    const { body } = await this.keys.create(
      actor,
      policy.project_id,
      {
        name: `oidc ${where}`.slice(0, 128),
        ...(g.permissions ? { permissions: g.permissions } : {}),
        ...(g.allowed_models ? { allowed_models: g.allowed_models } : {}),
        ...(Object.keys(limits).length ? { limits } : {}),
        metadata: { keyward_run: run, oidc: { issuer: policy.issuer, policy: policy.id } },
        expires_at: this.clock.now() + ttl * 1000,
        ephemeral_ttl_seconds: ttl,
      },
      null,
    );
    return body;
  }

  private async auditRefusal(req: ExchangeRequest, reason: string): Promise<void> {
    let issuer: unknown = null;
    let subject: unknown = null;
    try {
      ({ iss: issuer, sub: subject } = decodeJwt(req.token));
    } catch {
      // Not a JWT: nothing more to record.
    }
    const actor: Actor = { id: "oidc", role: null, ip: req.ip, userAgent: req.userAgent };
    await this.store.db.transaction().execute((tx) =>
      appendAudit(
        tx,
        this.store.dialect,
        actor,
        {
          action: "oidc.exchange_refused",
          targetType: "trust_policy",
          targetId: "none",
          projectId: req.projectId ?? null,
          // Claims as the token stated them (unverified): never the token itself.
          changes: {
            reason,
            issuer: typeof issuer === "string" ? issuer : null,
            subject: typeof subject === "string" ? subject : null,
          },
        },
        this.clock.now(),
      ),
    );
  }
}

function verifyFailure(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return "it has expired";
  if (err instanceof joseErrors.JWTClaimValidationFailed)
    return `claim ${err.claim} ${err.reason === "check_failed" ? "failed its check" : "is missing"}`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "bad signature";
  if (err instanceof joseErrors.JWKSNoMatchingKey) return "no key of the issuer signed it";
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return "algorithm not allowed";
  return err instanceof Error ? err.message : "invalid";
}
