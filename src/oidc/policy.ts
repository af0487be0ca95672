import type { JWTPayload } from "jose";
import type { Permissions } from "../core/permissions.js";

/** What a run matching a trust policy may mint. */
export interface TrustGrant {
  permissions?: Permissions;
  allowed_models?: string[];
  /** Longest life of a minted key, in seconds (the project's ephemeral cap still applies). */
  max_ttl_seconds: number;
  /** Spend cap over each minted key's life. */
  budget_usd?: number;
  rpm?: number;
}

export interface TrustPolicy {
  id: string;
  project_id: string;
  name: string;
  issuer: string;
  audience: string;
  /** Claim name → pattern; every one must match. */
  conditions: Record<string, string>;
  grant: TrustGrant;
  created_at: string;
  created_by: string;
}

/** `*` matches any run of characters (also none); everything else matches itself. */
function globMatches(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`, "s");
  return re.test(value);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Whether verified claims meet every condition of a policy. A claim that is missing, or is not
 * a string, number or boolean, never matches (a condition cannot be met by its absence).
 */
export function claimsMatch(conditions: Record<string, string>, claims: JWTPayload): boolean {
  return Object.entries(conditions).every(([name, pattern]) => {
    const v = claims[name];
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") return false;
    return globMatches(pattern, String(v));
  });
}

/** Claim names of the CI providers keyward knows, by the claim that identifies each shape. */
const RUN_CLAIMS: Array<{ provider: string; marker: string; names: Record<string, string> }> = [
  {
    // GitHub Actions (github.com and GitHub Enterprise Server, whose issuers differ).
    provider: "github_actions",
    marker: "repository",
    names: {
      repository: "repository",
      ref: "ref",
      workflow: "workflow",
      run_id: "run_id",
      actor: "actor",
      environment: "environment",
    },
  },
  {
    // GitLab CI (gitlab.com and self-managed).
    provider: "gitlab_ci",
    marker: "project_path",
    names: {
      repository: "project_path",
      ref: "ref",
      workflow: "job_id",
      run_id: "pipeline_id",
      actor: "user_login",
      environment: "environment",
    },
  },
];

/**
 * What the key's metadata records of the run, from the verified claims: GitHub- and
 * GitLab-shaped tokens by their claim names; any other issuer's by `sub` only.
 */
export function runFromClaims(claims: JWTPayload): Record<string, string> {
  const shape = RUN_CLAIMS.find((s) => typeof claims[s.marker] === "string");
  const out: Record<string, string> = { ci_provider: shape?.provider ?? "oidc" };
  for (const [field, claim] of Object.entries(shape?.names ?? {})) {
    const v = claims[claim];
    if (typeof v === "string" || typeof v === "number") out[field] = String(v);
  }
  if (typeof claims.sub === "string") out.subject = claims.sub;
  return out;
}
