import { describe, expect, it } from "vitest";
import { KeyCache, type CachedKey } from "../keys/cache.js";
import { createLogger } from "../log/logger.js";
import { CacheInvalidation, type InvalidationChannel } from "./invalidation.js";

/** An in-memory channel joining several CacheInvalidation instances, with a switch to cut it. */
class Bus {
  readonly listeners: Array<{ onMessage: (m: string) => void; onState: (up: boolean) => void }> = [];
  failPublishes = 0;
  channel(): InvalidationChannel {
    return {
      name: "test",
      publish: async (m) => {
        if (this.failPublishes > 0) {
          this.failPublishes--;
          throw new Error("down");
        }
        for (const l of this.listeners) l.onMessage(m);
      },
      listen: (onMessage, onState) => void this.listeners.push({ onMessage, onState }),
      close: async () => undefined,
    };
  }
  setUp(up: boolean): void {
    for (const l of this.listeners) l.onState(up);
  }
}

const logger = createLogger("silent");
const entry = (keyId: string, projectId = "proj_1") => ({ keyId, projectId }) as CachedKey;

function replica(bus: Bus) {
  const cache = new KeyCache(100, 60_000, 1_000);
  const inv = new CacheInvalidation(cache, bus.channel(), logger);
  inv.start();
  return { cache, inv };
}

describe("CacheInvalidation", () => {
  it("caches nothing until the channel is listening, then drops what others change", async () => {
    const bus = new Bus();
    const a = replica(bus);
    const b = replica(bus);
    b.cache.set("h1", entry("key_1"), 0);
    expect(b.cache.get("h1", 1)).toBeUndefined(); // not listening yet: suspended
    bus.setUp(true);
    expect(b.inv.healthy).toBe(true);
    b.cache.set("h1", entry("key_1"), 0);
    b.cache.set("h2", entry("key_2", "proj_2"), 0);
    await a.inv.key("key_1");
    expect(b.cache.get("h1", 1)).toBeUndefined();
    expect(b.cache.get("h2", 1)).toBeDefined();
    await a.inv.project("proj_2");
    expect(b.cache.get("h2", 1)).toBeUndefined();
  });

  it("suspends the cache while the channel is down and starts empty when it is back", () => {
    const bus = new Bus();
    const b = replica(bus);
    bus.setUp(true);
    b.cache.set("h1", entry("key_1"), 0);
    bus.setUp(false);
    expect(b.inv.healthy).toBe(false);
    expect(b.cache.get("h1", 1)).toBeUndefined();
    bus.setUp(true);
    expect(b.cache.get("h1", 1)).toBeUndefined();
    b.cache.set("h1", entry("key_1"), 0);
    expect(b.cache.get("h1", 1)).toBeDefined();
  });

  it("retries a failed publish, and never throws when it gives up", async () => {
    const bus = new Bus();
    const a = replica(bus);
    const b = replica(bus);
    bus.setUp(true);
    b.cache.set("h1", entry("key_1"), 0);
    bus.failPublishes = 2;
    await a.inv.key("key_1");
    expect(b.cache.get("h1", 1)).toBeUndefined();
    bus.failPublishes = 5;
    await expect(a.inv.key("key_1")).resolves.toBeUndefined();
  });

  it("does not cache a lookup that raced an invalidation", () => {
    const cache = new KeyCache(100, 60_000, 1_000);
    const readAt = cache.generation;
    cache.invalidateKey("key_1"); // the revocation lands while the store read is in flight
    cache.set("h1", entry("key_1"), 0, readAt);
    expect(cache.get("h1", 1)).toBeUndefined();
  });

  it("ignores messages that are not invalidations", () => {
    const bus = new Bus();
    const b = replica(bus);
    bus.setUp(true);
    b.cache.set("h1", entry("key_1"), 0);
    for (const l of bus.listeners) l.onMessage("not json");
    for (const l of bus.listeners) l.onMessage('{"scope":"everything"}');
    expect(b.cache.get("h1", 1)).toBeDefined();
  });
});
