import type { Redis } from "ioredis";
import type { InvalidationChannel } from "./invalidation.js";

/**
 * Invalidation over Redis pub/sub, for processes that share a SQLite file (`--workers`) and so
 * have no PostgreSQL to NOTIFY through. Two connections: a subscribed connection can send
 * nothing but (un)subscribe commands.
 */
export class RedisPubSubChannel implements InvalidationChannel {
  readonly name = "redis";

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channel: string,
  ) {}

  async publish(message: string): Promise<void> {
    if (this.publisher.status === "wait") await this.publisher.connect();
    await this.publisher.publish(this.channel, message);
  }

  listen(onMessage: (message: string) => void, onState: (listening: boolean) => void): void {
    const sub = this.subscriber;
    sub.on("message", (channel: string, message: string) => {
      if (channel === this.channel) onMessage(message);
    });
    // Subscribed again on every (re)connect; only then is nothing missed from here on.
    sub.on("ready", () => {
      sub.subscribe(this.channel).then(
        () => onState(true),
        () => onState(false),
      );
    });
    sub.on("close", () => onState(false));
    onState(false);
    sub.connect().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}
