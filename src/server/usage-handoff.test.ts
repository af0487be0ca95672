import { describe, expect, it } from "vitest";
import { usageEvent } from "../../test/support/usage-event.js";
import { handedUsage, PrimaryUsageWriter, usageHandoff, type UsageHandoffMessage } from "./usage-handoff.js";

const ids = { ts: Date.UTC(2026, 0, 1), keyId: "key_1", projectId: "proj_1" };

describe("usage hand-off (workers on SQLite)", () => {
  it("is used on SQLite unless every answer must wait for a commit", () => {
    expect(usageHandoff({ databaseUrl: undefined, usageDurable: "auto" })).toBe(true);
    expect(usageHandoff({ databaseUrl: undefined, usageDurable: "off" })).toBe(true);
    expect(usageHandoff({ databaseUrl: undefined, usageDurable: "on" })).toBe(false);
    expect(usageHandoff({ databaseUrl: "postgres://db/keyward", usageDurable: "auto" })).toBe(false);
  });

  it("a batch is written once the channel took it, and what the primary reads is the batch", async () => {
    const sent: unknown[] = [];
    let done: ((err: Error | null) => void) | undefined;
    const writer = new PrimaryUsageWriter((message, callback) => {
      // Across the IPC channel the message arrives as its JSON.
      sent.push(JSON.parse(JSON.stringify(message)));
      done = callback;
    });
    const batch = [usageEvent({ ...ids, requestId: "req-1" }), usageEvent({ ...ids, requestId: "req-2" })];
    let written = false;
    const write = writer.write(batch).then(() => (written = true));
    await Promise.resolve();
    expect(written).toBe(false); // not before the socket took it
    done!(null);
    await write;
    expect(handedUsage(sent[0])).toEqual(batch);
  });

  it("a failed send rejects, so the recorder keeps the batch for its next try", async () => {
    const writer = new PrimaryUsageWriter((_m, callback) => callback(new Error("channel closed")));
    await expect(writer.write([usageEvent({ ...ids, requestId: "req-3" })])).rejects.toThrow(
      "channel closed",
    );
    const throwing = new PrimaryUsageWriter(() => {
      throw new Error("ERR_IPC_CHANNEL_CLOSED");
    });
    await expect(throwing.write([usageEvent({ ...ids, requestId: "req-3" })])).rejects.toThrow(
      "ERR_IPC_CHANNEL_CLOSED",
    );
  });

  it("the primary takes only usage batches from its workers' messages", () => {
    const listening = { type: "keyward:listening", url: "http://127.0.0.1:8080" };
    expect(handedUsage(listening)).toBeNull();
    expect(handedUsage(null)).toBeNull();
    expect(handedUsage("keyward:usage")).toBeNull();
    expect(handedUsage({ type: "keyward:usage", events: "not a list" })).toBeNull();
    const empty: UsageHandoffMessage = { type: "keyward:usage", events: [] };
    expect(handedUsage(empty)).toEqual([]);
  });
});
