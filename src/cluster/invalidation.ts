import type { KeyCache } from "../keys/cache.js";
import { errorSummary, type Logger } from "../log/logger.js";

/** What changed: one key, or every key of a project (its limits). */
export interface Invalidation {
  scope: "key" | "project";
  id: string;
}

/** A broadcast channel between the replicas (and workers) that share one store. */
export interface InvalidationChannel {
  /** For logs and health: "postgres" or "redis". */
  readonly name: string;
  /** Sends to every listener, this process's included. Rejects when it could not be sent. */
  publish(message: string): Promise<void>;
  /**
   * Starts listening. `onState(false)` whenever messages may be missed (not connected yet,
   * connection lost), `onState(true)` once listening again. Reconnects by itself.
   */
  listen(onMessage: (message: string) => void, onState: (listening: boolean) => void): void;
  close(): Promise<void>;
}

/** Publish attempts before giving up on one broadcast (the change itself is already committed). */
const PUBLISH_ATTEMPTS = 3;
const PUBLISH_RETRY_MS = 100;

function parse(message: string): Invalidation | null {
  try {
    const v = JSON.parse(message) as Partial<Invalidation>;
    if ((v.scope === "key" || v.scope === "project") && typeof v.id === "string")
      return { scope: v.scope, id: v.id };
  } catch {
    // not ours: ignored below
  }
  return null;
}

/**
 * Keeps every replica's verify cache in step with changes made on any of them: a change drops
 * the local entry at once and is broadcast before the API answers; each replica drops what it
 * hears. The cache TTL stays only as a safety net.
 *
 * The rule it protects: a key revoked anywhere is never served from a cache that could not hear
 * the revocation. While the channel is down (or before it first connects), the cache is
 * suspended and every verify reads the store; when it is back, the cache starts empty.
 */
export class CacheInvalidation {
  private listening = false;

  constructor(
    private readonly cache: Pick<KeyCache, "invalidateKey" | "invalidateProject" | "suspend" | "resume">,
    private readonly channel: InvalidationChannel | null,
    private readonly logger: Logger,
  ) {}

  /** Starts listening; until the channel is up, the cache is suspended. */
  start(): void {
    if (!this.channel) return;
    this.cache.suspend();
    this.channel.listen(
      (message) => this.apply(message),
      (up) => this.onState(up),
    );
  }

  /** Is this replica hearing the others (always true for a single process)? */
  get healthy(): boolean {
    return this.channel === null || this.listening;
  }

  get channelName(): string | null {
    return this.channel?.name ?? null;
  }

  /** A key changed (revoked, rotated, disabled, limits…): drop it here and everywhere. */
  key(keyId: string): Promise<void> {
    this.cache.invalidateKey(keyId);
    return this.broadcast({ scope: "key", id: keyId });
  }

  /** A project's settings changed: drop all its keys here and everywhere. */
  project(projectId: string): Promise<void> {
    this.cache.invalidateProject(projectId);
    return this.broadcast({ scope: "project", id: projectId });
  }

  async close(): Promise<void> {
    await this.channel?.close();
  }

  /** Never throws: the change is committed; a lost broadcast is logged loudly and the TTL bounds it. */
  private async broadcast(change: Invalidation): Promise<void> {
    if (!this.channel) return;
    const message = JSON.stringify(change);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.channel.publish(message);
        return;
      } catch (err) {
        if (attempt >= PUBLISH_ATTEMPTS) {
          this.logger.error(
            { err: errorSummary(err), scope: change.scope, id: change.id, channel: this.channel.name },
            "could not tell the other replicas about a change; they may serve the old state until their cache TTL",
          );
          return;
        }
        await new Promise((r) => setTimeout(r, PUBLISH_RETRY_MS * attempt));
      }
    }
  }

  private apply(message: string): void {
    const change = parse(message);
    if (!change) return;
    if (change.scope === "key") this.cache.invalidateKey(change.id);
    else this.cache.invalidateProject(change.id);
  }

  private onState(up: boolean): void {
    if (up === this.listening) return;
    this.listening = up;
    const channel = this.channel?.name;
    if (up) {
      this.cache.resume();
      this.logger.info({ channel }, "hearing other replicas' changes; verify cache on");
    } else {
      this.cache.suspend();
      this.logger.warn(
        { channel },
        "cannot hear other replicas' changes; verify cache off until reconnected",
      );
    }
  }
}
