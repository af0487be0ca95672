import { describe, expect, it } from "vitest";
import type { UsageBatchWriter } from "./batch-writer.js";
import { UsageRecorder } from "./recorder.js";
import type { UsageEvent } from "./types.js";

function event(requestId: string): UsageEvent {
  return {
    requestId,
    ts: 1_700_000_000_000,
    keyId: "key_1",
    projectId: "proj_1",
    method: "POST",
    endpoint: "chat_completions",
    model: "gpt-4o-mini",
    status: 200,
    streamed: false,
    usage: { prompt: 10, completion: 5, cached: 0 },
    costMicros: 12,
    latencyMs: 3,
    clientIp: "127.0.0.1",
    upstreamId: null,
  };
}

/** A store that commits what it is handed, when the test lets it. */
class GatedWriter implements UsageBatchWriter {
  batches: string[][] = [];
  failing = false;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }
  release(): void {
    this.open();
  }
  async write(batch: UsageEvent[]): Promise<void> {
    await this.gate;
    if (this.failing) throw new Error("store down");
    this.batches.push(batch.map((e) => e.requestId));
  }
}

describe("UsageRecorder.recordDurable", () => {
  it("resolves only once the event is committed, without waiting for the flush timer", async () => {
    const writer = new GatedWriter();
    // A flush interval far longer than the test: only the durable path can write.
    const recorder = new UsageRecorder(writer, 10_000, () => undefined);
    writer.hold();
    let done = false;
    const durable = recorder.recordDurable(event("req_a"), 5_000).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    writer.release();
    await durable;
    expect(writer.batches).toEqual([["req_a"]]);
  });

  it("group-commits: events arriving during a write go together in the next one", async () => {
    const writer = new GatedWriter();
    const recorder = new UsageRecorder(writer, 10_000, () => undefined);
    writer.hold();
    const first = recorder.recordDurable(event("req_1"), 5_000);
    await new Promise((r) => setImmediate(r)); // the first write has started and is held
    const rest = ["req_2", "req_3", "req_4"].map((id) => recorder.recordDurable(event(id), 5_000));
    writer.release();
    await Promise.all([first, ...rest]);
    expect(writer.batches).toEqual([["req_1"], ["req_2", "req_3", "req_4"]]);
  });

  it("gives up waiting after maxWaitMs when the store fails, and keeps the event for the retry", async () => {
    const writer = new GatedWriter();
    const errors: unknown[] = [];
    const recorder = new UsageRecorder(writer, 10_000, (err) => errors.push(err));
    writer.failing = true;
    const started = Date.now();
    await recorder.recordDurable(event("req_x"), 100);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(errors.length).toBeGreaterThan(0);
    expect(recorder.pending).toBe(1);
    writer.failing = false;
    await recorder.flush();
    expect(writer.batches).toEqual([["req_x"]]);
    expect(recorder.pending).toBe(0);
  });
});
