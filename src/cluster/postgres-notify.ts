import pg from "pg";
import { errorSummary, type Logger } from "../log/logger.js";
import type { InvalidationChannel } from "./invalidation.js";

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2_000;

/**
 * Invalidation over PostgreSQL `LISTEN/NOTIFY`, on the database every change is committed to.
 * Chosen whenever the store is PostgreSQL, Redis or not: a broadcast then depends only on what
 * the change itself depended on, so a Redis outage can never hide a revocation.
 *
 * One dedicated connection listens (a pooled one cannot: LISTEN belongs to its session);
 * `pg_notify` goes through the store's pool.
 */
export class PostgresNotifyChannel implements InvalidationChannel {
  readonly name = "postgres";
  private client: pg.Client | null = null;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  /**
   * @param channel a PostgreSQL identifier (letters, digits, `_`), unique per data set.
   * @param notify sends one notification through the store's pool.
   */
  constructor(
    private readonly connectionString: string,
    private readonly channel: string,
    private readonly notify: (channel: string, message: string) => Promise<void>,
    private readonly logger: Logger,
  ) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`invalid NOTIFY channel name: ${channel}`);
  }

  publish(message: string): Promise<void> {
    return this.notify(this.channel, message);
  }

  listen(onMessage: (message: string) => void, onState: (listening: boolean) => void): void {
    let delay = RECONNECT_MIN_MS;
    const connect = async (): Promise<void> => {
      this.retry = null;
      if (this.closed) return;
      const client = new pg.Client({ connectionString: this.connectionString });
      let lost = false;
      const onLost = (err?: unknown) => {
        if (lost) return;
        lost = true;
        onState(false);
        if (err)
          this.logger.warn({ err: errorSummary(err) }, "NOTIFY listener lost its connection; reconnecting");
        client.removeAllListeners();
        client.on("error", () => undefined);
        void client.end().catch(() => undefined);
        if (this.client === client) this.client = null;
        if (!this.closed) this.retry = setTimeout(() => void connect(), delay);
        delay = Math.min(delay * 2, RECONNECT_MAX_MS);
      };
      client.on("error", onLost);
      client.on("end", () => onLost());
      client.on("notification", (n) => {
        if (n.channel === this.channel && n.payload !== undefined) onMessage(n.payload);
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${this.channel}`);
      } catch (err) {
        onLost(err);
        return;
      }
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
      delay = RECONNECT_MIN_MS;
      onState(true);
    };
    void connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners();
      client.on("error", () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}
