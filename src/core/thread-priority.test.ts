import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";

/** The nice value of the calling thread (field 19 of /proc/thread-self/stat). */
const NICE_OF_THREAD = `
  const { readFileSync } = require("node:fs");
  const nice = () => Number(readFileSync("/proc/thread-self/stat", "utf8").split(") ")[1].split(" ")[16]);
`;

describe.runIf(process.platform === "linux")("lowerThisThreadPriority", () => {
  it("raises the nice value of the calling thread only", async () => {
    const url = new URL("./thread-priority.ts", import.meta.url).href;
    const script = `${NICE_OF_THREAD}
      const { parentPort } = require("node:worker_threads");
      import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(url)}); }).then((mod) => {
        const before = nice();
        const ok = mod.lowerThisThreadPriority(10);
        parentPort.postMessage({ before, ok, after: nice() });
      });`;
    const mainBefore = readFileSync("/proc/thread-self/stat", "utf8");
    const result = await new Promise<{ before: number; ok: boolean; after: number }>((resolve, reject) => {
      const w = new Worker(script, { eval: true });
      w.once("message", (m: { before: number; ok: boolean; after: number }) => {
        resolve(m);
        void w.terminate();
      });
      w.once("error", reject);
    });
    expect(result.ok).toBe(true);
    expect(result.after).toBe(10);
    // The main thread is untouched.
    const field = (stat: string) => Number(stat.split(") ")[1]!.split(" ")[16]);
    expect(field(readFileSync("/proc/thread-self/stat", "utf8"))).toBe(field(mainBefore));
  });
});
