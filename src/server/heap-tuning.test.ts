import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { SERVER_HEAP_FLAGS, tuneHeap } from "./heap-tuning.js";

describe("heap tuning", () => {
  it("sets each server flag once, in order, and reports them", () => {
    const set: string[] = [];
    expect(tuneHeap((flag) => set.push(flag))).toEqual(SERVER_HEAP_FLAGS);
    expect(set).toEqual([...SERVER_HEAP_FLAGS]);
  });

  it("uses only flags this Node's V8 knows", () => {
    // V8 reports an unknown flag on stderr and carries on: a Node upgrade that dropped one of
    // these must fail here, not quietly bring the collector stalls back.
    const run = (flags: readonly string[]) =>
      spawnSync(
        process.execPath,
        ["-e", `for (const f of ${JSON.stringify(flags)}) require("node:v8").setFlagsFromString(f);`],
        { encoding: "utf8" },
      );
    const known = run(SERVER_HEAP_FLAGS);
    expect(known.status).toBe(0);
    expect(known.stderr).toBe("");
    // The check itself can see a flag V8 does not know.
    expect(run(["--no-such-heap-flag=1"]).stderr).toMatch(/unrecognized flag/);
  });
});
