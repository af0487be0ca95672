import { getPriority } from "node:os";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";

interface Report {
  applied: boolean;
  tid: number;
  workerNice: number;
}

/** Runs lowerThreadPriority(niceness) in a new worker thread and reports what it saw there. */
async function inWorker(niceness: number): Promise<Report> {
  const mod = new URL("./thread-priority.ts", import.meta.url).href;
  const code = `
    const { parentPort } = require("node:worker_threads");
    const { readlinkSync } = require("node:fs");
    const { getPriority } = require("node:os");
    import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(mod)}); }).then((m) => {
      const applied = m.lowerThreadPriority(${niceness});
      const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
      parentPort.postMessage({ applied, tid, workerNice: getPriority(tid) });
    });`;
  const worker = new Worker(code, { eval: true });
  try {
    return await new Promise<Report>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
  } finally {
    await worker.terminate();
  }
}

describe.runIf(process.platform === "linux")("lowerThreadPriority", () => {
  it("lowers the calling thread only, never the rest of the process", async () => {
    const before = getPriority(process.pid);
    const r = await inWorker(19);
    expect(r.applied).toBe(true);
    expect(r.tid).not.toBe(process.pid);
    expect(r.workerNice).toBe(19);
    // The main thread (whose id is the process id) kept its priority.
    expect(getPriority(process.pid)).toBe(before);
  });
});
