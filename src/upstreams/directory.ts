import { ConfigError, type Config } from "../config/config.js";
import { every } from "../core/background.js";
import { SecretBoxError, type SecretBox } from "../crypto/secret-box.js";
import type { Logger } from "../log/logger.js";
import type { Database } from "../store/database.js";
import type { UpstreamsTable } from "../store/schema.js";
import { openApiKey } from "./credential.js";
import type { ResolvedUpstream, UpstreamDirectory } from "./types.js";
import { normalizeBaseUrl } from "./validate.js";

/**
 * What the directory knows about one project, and from which read (`seq`). `absent`: no
 * upstream of its own (the default serves it); `broken`: it has one that cannot be decrypted,
 * so it is served by none (fail closed: never by the default's key instead).
 */
type Entry =
  | { seq: number; state: "ok"; upstream: ResolvedUpstream }
  | { seq: number; state: "absent" }
  | { seq: number; state: "broken" };

/** The default upstream from configuration (id null), or null when no provider key is configured. */
export function configuredDefaultUpstream(
  config: Pick<Config, "upstreamBaseUrl" | "upstreamApiKey">,
): ResolvedUpstream | null {
  if (!config.upstreamApiKey) return null;
  const base = normalizeBaseUrl(config.upstreamBaseUrl);
  if (!base.ok) throw new ConfigError(`invalid configuration: KEYWARD_UPSTREAM_BASE_URL: ${base.problem}`);
  return { id: null, baseUrl: base.url, apiKey: config.upstreamApiKey, organization: null, project: null };
}

/**
 * The in-memory upstream directory: every project's preferred upstream (lowest priority value,
 * then oldest), decrypted once at start-up, so the gateway's lookup is a Map read.
 *
 * Freshness: the service refreshes a project right after each committed change (this process
 * sees it on the next request); a periodic full reload picks up changes other replicas or the
 * CLI made. Reads are numbered when they start, and an entry is only ever replaced by a later
 * read, so a slow full reload cannot overwrite a newer per-project refresh with older rows.
 */
export class CachedUpstreamDirectory implements UpstreamDirectory {
  private readonly entries = new Map<string, Entry>();
  private nextSeq = 0;
  private stopTimer: (() => void) | null = null;

  constructor(
    private readonly store: Database,
    private readonly box: SecretBox,
    private readonly fallback: ResolvedUpstream | null,
    private readonly logger: Logger,
  ) {}

  /** The upstream serving `projectId`: its own, else the configured default, else null. */
  forProject(projectId: string): ResolvedUpstream | null {
    const e = this.entries.get(projectId);
    if (e === undefined || e.state === "absent") return this.fallback;
    return e.state === "ok" ? e.upstream : null;
  }

  /**
   * The start-up load. A ciphertext under a master key this process does not have is a
   * deployment mistake (wrong or missing KEYWARD_MASTER_KEY), so it stops the start with a
   * clear error instead of serving with some projects silently broken.
   */
  async load(): Promise<void> {
    const failures = await this.reloadAll();
    const unknown = failures.filter((f) => f.problem === "unknown_key");
    if (unknown.length) {
      const keyIds = [...new Set(unknown.map((f) => f.keyId))].join(", ");
      throw new ConfigError(
        `${unknown.length} upstream credential(s) are encrypted under master key ${keyIds}, but this ` +
          `process has master key ${this.box.currentKeyId}: set KEYWARD_MASTER_KEY to the key they were ` +
          "encrypted with (or set it as KEYWARD_MASTER_KEY_PREVIOUS and run `keyward upstreams rotate-master`)",
      );
    }
  }

  /** Re-reads every upstream; problems are logged, never thrown (the last good state stays). */
  async reload(): Promise<void> {
    try {
      await this.reloadAll();
    } catch (err) {
      this.logger.error({ err: describe(err) }, "could not reload upstreams; keeping the last loaded state");
    }
  }

  /**
   * Re-reads one project's upstreams after a change. Never throws: if the store cannot be
   * read, the project is served by no upstream until the next successful read, rather than by
   * one that may have just been replaced or deleted.
   */
  async refreshProject(projectId: string): Promise<void> {
    const seq = ++this.nextSeq;
    try {
      const rows = await this.store.db
        .selectFrom("upstreams")
        .selectAll()
        .where("project_id", "=", projectId)
        .orderBy("priority")
        .orderBy("id")
        .execute();
      this.put(projectId, rows[0] ? this.resolve(rows[0], seq).entry : { seq, state: "absent" });
    } catch (err) {
      this.put(projectId, { seq, state: "broken" });
      this.logger.error(
        { project_id: projectId, err: describe(err) },
        "could not refresh the project's upstream; its gateway requests fail until the next reload",
      );
    }
  }

  /** Reloads everything every `intervalMs`, for changes made by other processes. */
  startPeriodicReload(intervalMs: number): void {
    this.stop();
    this.stopTimer = every(intervalMs, () => void this.reload());
  }

  stop(): void {
    this.stopTimer?.();
    this.stopTimer = null;
  }

  private async reloadAll(): Promise<Array<{ problem: string; keyId: string | null }>> {
    const seq = ++this.nextSeq;
    const rows = await this.store.db
      .selectFrom("upstreams")
      .selectAll()
      .orderBy("project_id")
      .orderBy("priority")
      .orderBy("id")
      .execute();
    const failures: Array<{ problem: string; keyId: string | null }> = [];
    const seen = new Set<string>();
    for (const row of rows) {
      if (seen.has(row.project_id)) continue; // ordered: the first row is the preferred one
      seen.add(row.project_id);
      const r = this.resolve(row, seq);
      if (r.failure) failures.push(r.failure);
      this.put(row.project_id, r.entry);
    }
    for (const [projectId, e] of this.entries) {
      if (!seen.has(projectId) && e.seq < seq) this.entries.set(projectId, { seq, state: "absent" });
    }
    return failures;
  }

  private resolve(
    row: UpstreamsTable,
    seq: number,
  ): { entry: Entry; failure?: { problem: string; keyId: string | null } } {
    try {
      return {
        entry: {
          seq,
          state: "ok",
          upstream: {
            id: row.id,
            baseUrl: row.base_url,
            apiKey: openApiKey(this.box, row),
            organization: row.organization,
            project: row.openai_project,
          },
        },
      };
    } catch (err) {
      const problem = err instanceof SecretBoxError ? err.problem : "error";
      const keyId = err instanceof SecretBoxError ? err.keyId : null;
      // The message names the row and the master key id, never key material.
      this.logger.error(
        { upstream_id: row.id, project_id: row.project_id, problem, err: describe(err) },
        "cannot decrypt the upstream's API key; the project's gateway requests fail until it is fixed",
      );
      return { entry: { seq, state: "broken" }, failure: { problem, keyId } };
    }
  }

  private put(projectId: string, entry: Entry): void {
    const current = this.entries.get(projectId);
    if (!current || current.seq < entry.seq) this.entries.set(projectId, entry);
  }
}

function describe(err: unknown): { type: string; message: string } {
  return err instanceof Error
    ? { type: err.name, message: err.message }
    : { type: typeof err, message: String(err) };
}
