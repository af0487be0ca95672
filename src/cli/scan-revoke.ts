import { ApiError, KeywardClient } from "../client/client.js";
import type { Detector } from "../scan/detectors.js";
import type { Finding } from "../scan/finding.js";

/** What `--revoke` did about one distinct keyward key (printed and in `--json`). */
export interface Revocation {
  masked: string;
  fingerprint: string;
  /** Where it was found (the first location, in scan order). */
  location: string;
  kind: "live" | "test" | "admin";
  outcome: "revoked" | "already_revoked" | "inactive" | "not_found" | "skipped" | "error";
  key_id?: string;
  detail?: string;
}

/** The revoke reason recorded in the audit log: where the key was found. */
export function leakReason(f: Finding): string {
  const reason = `leaked: found at ${f.path}:${f.line}${f.commit ? ` commit ${f.commit}` : ""}`;
  // The API caps reasons at 500 characters; a very deep path loses its start, not the line.
  return reason.length <= 500 ? reason : "leaked: found at …" + reason.slice(reason.length - 480);
}

const location = (f: Finding) => `${f.path}:${f.line}${f.commit ? ` (commit ${f.commit.slice(0, 12)})` : ""}`;

/**
 * Revokes every found keyward key that is still active on the server `client` talks to.
 * Gateway keys: the verify API says whether the key exists and its state; every state in which
 * the key could still work, or be made to work again (VALID, DISABLED, FORBIDDEN, RATE_LIMITED,
 * BUDGET_EXCEEDED), is revoked with the location as reason (the server audits it). EXPIRED is
 * left alone: that secret no longer works, and it may be the old half of a rotation whose
 * replacement is live — revoking the key would break the apps already moved to the new one.
 * Admin keys: verify does not take them, so `/me` is asked with the found key itself; the
 * admin key running this command is never revoked (that would lock the operator out).
 */
export async function revokeFindings(
  findings: readonly Finding[],
  detectors: readonly Detector[],
  client: KeywardClient,
): Promise<Revocation[]> {
  const kinds = new Map(detectors.map((d) => [d.id, d.keywardKind]));
  const first = new Map<string, { f: Finding; kind: "live" | "test" | "admin" }>();
  for (const f of findings) {
    const kind = kinds.get(f.detector);
    if (kind && !first.has(f.secret)) first.set(f.secret, { f, kind });
  }
  let self: string | null = null;
  const out: Revocation[] = [];
  for (const { f, kind } of first.values()) {
    const base = { masked: f.masked, fingerprint: f.fingerprint, location: location(f), kind };
    try {
      if (kind === "admin") {
        self ??= (await client.me()).id;
        out.push({ ...base, ...(await revokeAdmin(f, client, self)) });
      } else {
        out.push({ ...base, ...(await revokeGatewayKey(f, client)) });
      }
    } catch (err) {
      const detail = err instanceof ApiError ? `${err.message} (${err.code})` : String(err);
      out.push({ ...base, outcome: "error", detail });
    }
  }
  return out;
}

type Outcome = Pick<Revocation, "outcome" | "key_id" | "detail">;

async function revokeGatewayKey(f: Finding, client: KeywardClient): Promise<Outcome> {
  const v = await client.verifyKey({ key: f.secret });
  const id = v.key_id ?? undefined;
  switch (v.code) {
    case "NOT_FOUND":
    case "MALFORMED":
      return { outcome: "not_found", detail: "not a key of this server (another deployment, or deleted)" };
    case "REVOKED":
      return { outcome: "already_revoked", ...(id ? { key_id: id } : {}) };
    case "EXPIRED":
      return {
        outcome: "inactive",
        ...(id ? { key_id: id } : {}),
        detail: v.message ?? "expired: this secret no longer works",
      };
  }
  if (!id) return { outcome: "error", detail: `verify returned ${v.code} without a key id` };
  await client.revokeKey(id, leakReason(f));
  return { outcome: "revoked", key_id: id, detail: `was ${v.code}` };
}

async function revokeAdmin(f: Finding, client: KeywardClient, self: string): Promise<Outcome> {
  let id: string;
  try {
    id = (await new KeywardClient(client.baseUrl, f.secret).me()).id;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401)
      return { outcome: "not_found", detail: "not an active admin key of this server" };
    throw err;
  }
  if (id === self) {
    return {
      outcome: "skipped",
      key_id: id,
      detail:
        "this is the admin key running this command: create a new admin key, switch to it, then `keyward admin-keys revoke " +
        id +
        "`",
    };
  }
  await client.revokeAdminKey(id);
  return { outcome: "revoked", key_id: id, detail: "admin key (the admin-key API records no reason)" };
}

/** The revocation report and what to do next (text mode). */
export function renderRevocations(
  revocations: readonly Revocation[],
  findings: readonly Finding[],
  detectors: readonly Detector[],
): string {
  const lines: string[] = [];
  const label: Record<Revocation["outcome"], string> = {
    revoked: "REVOKED",
    already_revoked: "already revoked",
    inactive: "inactive",
    not_found: "unknown here",
    skipped: "NOT revoked",
    error: "FAILED",
  };
  if (revocations.length) {
    lines.push("", "Revocation:");
    for (const r of revocations)
      lines.push(
        `  ${label[r.outcome].padEnd(15)} ${r.masked}${r.key_id ? ` (${r.key_id})` : ""} from ${r.location}${r.detail ? `: ${r.detail}` : ""}`,
      );
  }
  const byId = new Map(detectors.map((d) => [d.id, d]));
  const providers = new Map<string, { d: Detector; where: string[] }>();
  for (const f of findings) {
    const d = byId.get(f.detector);
    if (!d || d.keywardKind) continue;
    const entry = providers.get(d.id) ?? { d, where: [] };
    entry.where.push(`${f.masked} at ${location(f)}`);
    providers.set(d.id, entry);
  }
  lines.push("", "Next steps:");
  if (revocations.some((r) => r.outcome === "revoked"))
    lines.push(
      "  - Revoked keys stop working at once: give the apps that used them new keys (`keyward keys create …`;",
      "    for a key you would rather rotate with a grace period, next time use `keyward keys rotate <id> --grace …`).",
    );
  if (revocations.some((r) => r.outcome === "error" || r.outcome === "skipped"))
    lines.push("  - Some keys were NOT revoked (see above): deal with them by hand before anything else.");
  for (const { d, where } of providers.values()) {
    lines.push(`  - ${d.description}: keyward cannot revoke these; ${d.remediation}.`);
    for (const w of where) lines.push(`      ${w}`);
  }
  lines.push(
    "  - Remove the secrets from the files. If they were committed, purge them from history too:",
    "    git filter-repo --replace-text <expressions-file> (https://github.com/newren/git-filter-repo)",
    "    or BFG Repo-Cleaner (bfg --replace-text <file>), then force-push and have everyone re-clone.",
    "    Revoke or rotate first: a purge does not recall copies already pulled, forked or cached.",
  );
  return lines.join("\n");
}
